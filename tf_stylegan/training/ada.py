"""Adaptive discriminator augmentation (Karras et al. 2020, "Training GANs with Limited Data").

Every image D sees, real or generated (and the reals of R1), passes through
the same stochastic, differentiable pipeline; each stage runs on each image
with probability p times its multiplier. Stages, in the official order:
  pixel blitting: xflip, rotate90, xint (integer translation);
  geometric: scale, rotate, aniso, xfrac (fractional translation);
  colour: brightness, contrast, lumaflip, hue, saturation;
  cutout.
All geometric stages are composed into one affine matrix per image and
executed once by resampling: reflect-pad, 2x upsampling with the sym6
wavelet filter, bilinear sampling, filtered 2x downsampling. Filtering
before and after keeps the transforms from leaking aliasing artefacts into
G. Colour stages compose into one 4x4 matrix. The random draws are stateless
global-batch draws (see ops.random), so distributed and resumed runs augment
as one uninterrupted run does.

`AdaController` tunes p: every `interval` steps it compares the mean sign of
D(real) with the target (0.6) and moves p by batch * interval / (kimg * 1000),
so that p can go from 0 to 1 in `kimg` thousand images.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tf_stylegan.ops.random import fold, replica_normal, replica_uniform
from tf_stylegan.ops.upfirdn2d import setup_filter

STAGES = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
          "brightness", "contrast", "lumaflip", "hue", "saturation", "cutout")
PRESETS = {
    "blit": ("xflip", "rotate90", "xint"),
    "geom": ("scale", "rotate", "aniso", "xfrac"),
    "color": ("brightness", "contrast", "lumaflip", "hue", "saturation"),
    "bg": ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac"),
    "bgc": ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
            "brightness", "contrast", "lumaflip", "hue", "saturation"),
    "bgcc": STAGES,
}
# The official magnitudes.
XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD, CUTOUT_SIZE = 0.2, 0.5, 1.0, 1.0, 0.5
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)


def parse_stages(spec: str) -> tuple[str, ...]:
    """'bgc' or a comma list of stage names -> the stages, in pipeline order."""
    spec = spec.replace(" ", "")
    names = PRESETS.get(spec) or tuple(s for s in spec.split(",") if s)
    unknown = sorted(set(names) - set(STAGES))
    if unknown or not names:
        raise ValueError(f"ADA pipeline {spec!r}: unknown stages {unknown}; use a preset "
                         f"({', '.join(PRESETS)}) or stages from {', '.join(STAGES)}.")
    return tuple(s for s in STAGES if s in names)


def check_probability(p: float, what: str = "ADA p") -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0 or math.isnan(p):
        raise ValueError(f"{what} must be a probability in [0, 1], got {p}.")
    return p


# ------------------------------------------------------------------ matrices [N, k, k]

def _mat(rows):
    return tf.stack([tf.stack(r, axis=-1) for r in rows], axis=-2)


def _translate2d(tx, ty):
    one, zero = tf.ones_like(tx), tf.zeros_like(tx)
    return _mat([[one, zero, tx], [zero, one, ty], [zero, zero, one]])


def _scale2d(sx, sy):
    one, zero = tf.ones_like(sx), tf.zeros_like(sx)
    return _mat([[sx, zero, zero], [zero, sy, zero], [zero, zero, one]])


def _rotate2d(theta):
    one, zero, c, s = tf.ones_like(theta), tf.zeros_like(theta), tf.cos(theta), tf.sin(theta)
    return _mat([[c, -s, zero], [s, c, zero], [zero, zero, one]])


def _translate3d(t):
    one, zero = tf.ones_like(t), tf.zeros_like(t)
    return _mat([[one, zero, zero, t], [zero, one, zero, t], [zero, zero, one, t], [zero, zero, zero, one]])


def _scale3d(s):
    one, zero = tf.ones_like(s), tf.zeros_like(s)
    return _mat([[s, zero, zero, zero], [zero, s, zero, zero], [zero, zero, s, zero], [zero, zero, zero, one]])


def _rotate3d_luma(theta):
    """Rotation by theta around the luma axis (1, 1, 1) / sqrt(3) (Rodrigues)."""
    v = 1.0 / math.sqrt(3.0)
    s, c = tf.sin(theta), tf.cos(theta)
    cc = 1.0 - c
    one, zero = tf.ones_like(theta), tf.zeros_like(theta)
    d, o1, o2 = v * v * cc + c, v * v * cc - v * s, v * v * cc + v * s
    return _mat([[d, o1, o2, zero], [o2, d, o1, zero], [o1, o2, d, zero], [zero, zero, zero, one]])


# ------------------------------------------------------------------ execution

def _bilinear_taps(theta: tf.Tensor, n, in_h, in_w, out_h: int, out_w: int) -> tuple[tf.Tensor, tf.Tensor]:
    """torch's affine_grid + grid_sample taps (bilinear, zero padding, align_corners=False).

    Returns where the four taps of every output pixel sit in the batch padded by
    one ring of zeros, flattened to [N * (in_h + 2) * (in_w + 2)] pixels, and
    their weights: two [4, N, out_h * out_w] tensors.
    """
    ys = (2.0 * tf.range(out_h, dtype=tf.float32) + 1.0) / out_h - 1.0
    xs = (2.0 * tf.range(out_w, dtype=tf.float32) + 1.0) / out_w - 1.0
    gy, gx = tf.meshgrid(ys, xs, indexing="ij")
    base = tf.stack([tf.reshape(gx, [-1]), tf.reshape(gy, [-1]), tf.ones([out_h * out_w])], axis=0)  # [3, P]
    grid = tf.einsum("nij,jp->nip", theta, base)  # [N, 2, P]
    # Taps outside the image read a ring of zeros: clamp into [-1, size] and pad by one.
    fw, fh = tf.cast(in_w, tf.float32), tf.cast(in_h, tf.float32)
    ix = tf.clip_by_value(((grid[:, 0] + 1.0) * fw - 1.0) / 2.0, -1.0, fw)
    iy = tf.clip_by_value(((grid[:, 1] + 1.0) * fh - 1.0) / 2.0, -1.0, fh)
    x0, y0 = tf.floor(ix), tf.floor(iy)
    wx, wy = ix - x0, iy - y0
    pw, ph = in_w + 2, in_h + 2
    xa, ya = tf.cast(x0, tf.int32) + 1, tf.cast(y0, tf.int32) + 1
    xb, yb = tf.minimum(xa + 1, pw - 1), tf.minimum(ya + 1, ph - 1)
    image_start = (tf.range(n) * (ph * pw))[:, None]
    row_a, row_b = image_start + ya * pw, image_start + yb * pw
    index = tf.stack([row_a + xa, row_a + xb, row_b + xa, row_b + xb])
    weights = tf.stack([(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy])
    return index, weights


def _grid_sample_gather(images: tf.Tensor, theta: tf.Tensor, out_h: int, out_w: int) -> tf.Tensor:
    """Bilinear sampling as one tf.gather of the four taps: the plain definition (see `_grid_sample_bilinear`)."""
    n, in_h, in_w, ch = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2], images.shape[3]
    index, weights = _bilinear_taps(theta, n, in_h, in_w, out_h, out_w)
    flat = tf.reshape(tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]]), [-1, ch])
    taps = tf.gather(flat, index)  # [4, N, P, C]
    return tf.reshape(tf.reduce_sum(taps * weights[..., None], axis=0), [n, out_h, out_w, ch])


def _pixel_transform(theta: tf.Tensor, in_h, in_w, out_h: int, out_w: int) -> tf.Tensor:
    """theta (normalised output -> input coordinates) as ImageProjectiveTransform's [N, 8] pixel-index map."""
    hx, hy = tf.cast(in_w, tf.float32) / 2.0, tf.cast(in_h, tf.float32) / 2.0
    ax, bx = 2.0 / out_w, 1.0 / out_w - 1.0  # normalised x of output column j: ax * j + bx
    ay, by = 2.0 / out_h, 1.0 / out_h - 1.0
    t = [[theta[:, i, j] for j in range(3)] for i in range(2)]
    rows = [[t[i][0] * ax * h, t[i][1] * ay * h, (t[i][0] * bx + t[i][1] * by + t[i][2] + 1.0) * h - 0.5]
            for i, h in ((0, hx), (1, hy))]
    zero = tf.zeros_like(theta[:, 0, 0])
    return tf.stack(rows[0] + rows[1] + [zero, zero], axis=1)


def _grid_sample_bilinear(images: tf.Tensor, theta: tf.Tensor, out_h: int, out_w: int) -> tf.Tensor:
    """torch's affine_grid + grid_sample (bilinear, zero padding, align_corners=False), NHWC float32.

    The forward pass is TensorFlow's ImageProjectiveTransformV3 (one C++ pass,
    about 2x faster than gathering the taps on CPU). Its registered gradient
    only approximates the adjoint (it samples with the inverse transform), so
    the gradient here is the exact one: each output's gradient added into its
    four taps.
    """
    n, in_h, in_w, ch = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2], images.shape[3]

    @tf.custom_gradient
    def sample(x):
        y = tf.raw_ops.ImageProjectiveTransformV3(
            images=x, transforms=_pixel_transform(theta, in_h, in_w, out_h, out_w),
            output_shape=tf.constant([out_h, out_w], tf.int32), fill_value=tf.constant(0.0),
            interpolation="BILINEAR", fill_mode="CONSTANT")

        def grad(dy):
            # The sampling as a sparse [N * P, padded pixels] matrix (4 taps a row); its transpose
            # times dy is the exact adjoint (about 1.7x faster here than segment sums of the taps).
            index, weights = _bilinear_taps(theta, n, in_h, in_w, out_h, out_w)
            outputs = tf.size(index[0], out_type=tf.int64)
            ph, pw = in_h + 2, in_w + 2
            matrix = tf.sparse.SparseTensor(
                tf.stack([tf.tile(tf.range(outputs), [4]), tf.cast(tf.reshape(index, [-1]), tf.int64)], axis=1),
                tf.reshape(weights, [-1]), tf.stack([outputs, tf.cast(n * ph * pw, tf.int64)]))
            padded = tf.sparse.sparse_dense_matmul(matrix, tf.reshape(dy, [-1, ch]), adjoint_a=True)
            return tf.reshape(padded, [n, ph, pw, ch])[:, 1:-1, 1:-1, :]

        return y, grad

    return sample(images)


def _fir_matrix(size, taps: np.ndarray, up: int, down: int, pad0: int, out_size) -> tf.Tensor:
    """A 1-D upfirdn (zero-stuff by `up`, pad by `pad0` in front, correlate with `taps`, keep every
    `down`-th) of a `size`-sample signal as a matrix M [size, out_size]: out = x @ M."""
    i = tf.range(size)[:, None]
    j = tf.range(out_size)[None, :]
    tap = up * i - down * j + pad0
    valid = (tap >= 0) & (tap < len(taps))
    return tf.gather(tf.constant(np.append(taps, 0.0), tf.float32), tf.where(valid, tap, len(taps)))


def _reflect_matrix(size, margin) -> tf.Tensor:
    """Reflect padding by `margin` (no edge repeat, margin < size) as a 0/1 matrix [size, size + 2 * margin]."""
    k = tf.range(size + 2 * margin) - margin
    source = tf.where(k < 0, -k, tf.where(k >= size, 2 * (size - 1) - k, k))
    return tf.transpose(tf.one_hot(source, size, dtype=tf.float32))


def _resample_axes(x: tf.Tensor, m_h: tf.Tensor, m_w: tf.Tensor) -> tf.Tensor:
    """x [N, h, w, C] -> [N, H, W, C] by a matrix per axis: out = m_h^T x m_w on every channel plane.

    Done on [N * C, h, w] planes, where both products are plain matrix
    products (einsum's transposes of NHWC cost more than the products here).
    """
    n, h, w, ch = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2], x.shape[3]
    big_h, big_w = tf.shape(m_h)[1], tf.shape(m_w)[1]
    planes = tf.matmul(tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [-1, w]), m_w)  # [N * C * h, W]
    planes = tf.matmul(m_h[None], tf.reshape(planes, [-1, h, big_w]), transpose_a=True)  # [N * C, H, W]
    return tf.transpose(tf.reshape(planes, [n, ch, big_h, big_w]), [0, 2, 3, 1])


class AugmentPipe:
    """The ADA pipeline: `pipe(images, p, seed)` on NHWC images in [-1, 1].

    Args:
      stages: a preset ("bgc", the paper's default) or a comma list of stages.
    """

    def __init__(self, stages: str = "bgc"):
        self.spec = stages
        self.stages = parse_stages(stages)
        self.filter = setup_filter(np.asarray(SYM6, np.float32))

    def _on(self, stage, p, shape, seed):
        """Per-image coin: True with probability p (the stage's multiplier is 1)."""
        return replica_uniform(shape, fold(seed, stage + "_coin")) < p

    def __call__(self, images: tf.Tensor, p, seed: tf.Tensor) -> tf.Tensor:
        """Augments each image with probability p per stage; p = 0 returns the images untouched."""
        p = tf.cast(p, tf.float32)
        return tf.cond(p > 0, lambda: self._augment(images, p, seed), lambda: tf.identity(images))

    def _augment(self, images: tf.Tensor, p: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        dtype = images.dtype
        x = tf.cast(images, tf.float32)
        n = tf.shape(x)[0]
        h, w, ch = x.shape[1], x.shape[2], x.shape[3]
        on = self.stages

        def uniform(name, *shape):
            return replica_uniform(tf.stack([n, *shape]), fold(seed, name))

        def normal(name, *shape):
            return replica_normal(tf.stack([n, *shape]), fold(seed, name))

        def coin(name):
            return self._on(name, p, [n], seed)

        # Geometric stages, composed as the inverse transform G_inv (output -> input pixels).
        g_inv = tf.eye(3, batch_shape=[n])
        geometric = False
        if "xflip" in on:
            i = tf.where(coin("xflip"), tf.floor(uniform("xflip") * 2), 0.0)
            g_inv = g_inv @ _scale2d(1 - 2 * i, tf.ones_like(i))
            geometric = True
        if "rotate90" in on:
            i = tf.where(coin("rotate90"), tf.floor(uniform("rotate90") * 4), 0.0)
            g_inv = g_inv @ _rotate2d(math.pi / 2 * i)
            geometric = True
        if "xint" in on:
            t = tf.where(coin("xint")[:, None], (uniform("xint", 2) * 2 - 1) * XINT_MAX, 0.0)
            g_inv = g_inv @ _translate2d(-tf.round(t[:, 0] * w), -tf.round(t[:, 1] * h))
            geometric = True
        if "scale" in on:
            s = tf.where(coin("scale"), tf.pow(2.0, normal("scale") * SCALE_STD), 1.0)
            g_inv = g_inv @ _scale2d(1 / s, 1 / s)
            geometric = True
        p_rot = 1 - tf.sqrt(tf.clip_by_value(1 - p, 0.0, 1.0))  # P(rotate before or after aniso) = p
        if "rotate" in on:
            theta = tf.where(self._on("rotate_pre", p_rot, [n], seed),
                             (uniform("rotate_pre") * 2 - 1) * math.pi * ROTATE_MAX, 0.0)
            g_inv = g_inv @ _rotate2d(theta)
            geometric = True
        if "aniso" in on:
            s = tf.where(coin("aniso"), tf.pow(2.0, normal("aniso") * ANISO_STD), 1.0)
            g_inv = g_inv @ _scale2d(1 / s, s)
            geometric = True
        if "rotate" in on:
            theta = tf.where(self._on("rotate_post", p_rot, [n], seed),
                             (uniform("rotate_post") * 2 - 1) * math.pi * ROTATE_MAX, 0.0)
            g_inv = g_inv @ _rotate2d(theta)
        if "xfrac" in on:
            t = tf.where(coin("xfrac")[:, None], normal("xfrac", 2) * XFRAC_STD, 0.0)
            g_inv = g_inv @ _translate2d(-t[:, 0] * w, -t[:, 1] * h)
            geometric = True
        if geometric:
            x = self._resample(x, g_inv)

        # Colour stages, composed as one 4x4 matrix C acting on (r, g, b, 1).
        c = tf.eye(4, batch_shape=[n])
        colour = False
        if "brightness" in on:
            c = _translate3d(tf.where(coin("brightness"), normal("brightness") * BRIGHTNESS_STD, 0.0)) @ c
            colour = True
        if "contrast" in on:
            c = _scale3d(tf.where(coin("contrast"), tf.pow(2.0, normal("contrast") * CONTRAST_STD), 1.0)) @ c
            colour = True
        luma = tf.constant([1, 1, 1, 0], tf.float32) / math.sqrt(3.0)
        vvt = luma[:, None] * luma[None, :]
        if "lumaflip" in on:
            i = tf.where(coin("lumaflip"), tf.floor(uniform("lumaflip") * 2), 0.0)
            c = (tf.eye(4) - 2 * vvt * i[:, None, None]) @ c
            colour = True
        if "hue" in on and ch > 1:
            c = _rotate3d_luma(tf.where(coin("hue"), (uniform("hue") * 2 - 1) * math.pi * HUE_MAX, 0.0)) @ c
            colour = True
        if "saturation" in on and ch > 1:
            s = tf.where(coin("saturation"), tf.pow(2.0, normal("saturation") * SATURATION_STD), 1.0)
            c = (vvt + (tf.eye(4) - vvt) * s[:, None, None]) @ c
            colour = True
        if colour:
            if ch == 3:
                pixels = tf.matmul(tf.reshape(x, [n, h * w, 3]), c[:, :3, :3], transpose_b=True)
                x = tf.reshape(pixels + c[:, None, :3, 3], [n, h, w, 3])
            else:
                m = tf.reduce_mean(c[:, :3, :], axis=1)  # [N, 4]
                x = x * tf.reduce_sum(m[:, :3], axis=1)[:, None, None, None] + m[:, None, None, None, 3]

        if "cutout" in on:
            size = tf.where(coin("cutout"), CUTOUT_SIZE, 0.0)[:, None, None]
            centre = uniform("cutout", 2)
            xs = (tf.range(w, dtype=tf.float32) + 0.5) / w
            ys = (tf.range(h, dtype=tf.float32) + 0.5) / h
            keep_x = tf.abs(xs[None, None, :] - centre[:, 0, None, None]) >= size / 2
            keep_y = tf.abs(ys[None, :, None] - centre[:, 1, None, None]) >= size / 2
            x = x * tf.cast(keep_x | keep_y, tf.float32)[..., None]
        return tf.cast(x, dtype)

    def _resample(self, x: tf.Tensor, g_inv: tf.Tensor) -> tf.Tensor:
        """Executes the affine G_inv with the padding margin the batch's transforms need (as the official)."""
        margin = tf.cast(tf.math.ceil(required_margin(g_inv, x.shape[1], x.shape[2], len(SYM6) // 4)), tf.int32)
        return self._resample_with_margin(x, g_inv, margin)

    def _resample_with_margin(self, x: tf.Tensor, g_inv: tf.Tensor, margin) -> tf.Tensor:
        """Reflect-pad by `margin` (any margin that holds the transforms gives the same images),
        upsample, sample bilinearly, downsample.

        Padding and 2x upsampling of an axis are one small matrix, and so is the
        filtered 2x downsampling: two matrix products per step instead of pads and
        3-channel depthwise convolutions (2-3x faster on CPU, measured), with the
        same numbers as upfirdn2d's reference.
        """
        h, w = x.shape[1], x.shape[2]
        pad_filter = len(SYM6) // 4
        my, mx = tf.minimum(margin, h - 1), tf.minimum(margin, w - 1)
        x = _resample_axes(x, self._pad_up(h, my), self._pad_up(w, mx))
        two, half = tf.fill([1], 2.0), tf.fill([1], 0.5)
        g_inv = _scale2d(two, two) @ g_inv @ _scale2d(half, half)  # in upsampled pixels
        g_inv = _translate2d(-half, -half) @ g_inv @ _translate2d(half, half)  # pixel centres move by 0.5
        out_h, out_w = (h + pad_filter * 2) * 2, (w + pad_filter * 2) * 2
        in_h, in_w = tf.cast(tf.shape(x)[1], tf.float32), tf.cast(tf.shape(x)[2], tf.float32)
        to_norm = _scale2d(tf.reshape(2.0 / in_w, [1]), tf.reshape(2.0 / in_h, [1]))
        from_norm = _scale2d(tf.fill([1], out_w / 2.0), tf.fill([1], out_h / 2.0))
        g_inv = to_norm @ g_inv @ from_norm
        x = _grid_sample_bilinear(x, g_inv[:, :2, :], out_h, out_w)
        return _resample_axes(x, self._down(out_h, h), self._down(out_w, w))

    def _pad_up(self, size: int, margin) -> tf.Tensor:
        """[size, 2 * (size + 2 * margin)]: reflect-pad by margin, then upsample2d(up=2) with sym6."""
        taps = self.filter[::-1] * 2.0  # upsample2d correlates with the reversed filter, gain 2 per axis
        padded = size + 2 * margin
        up = _fir_matrix(padded, taps, up=2, down=1, pad0=(len(taps) + 1) // 2, out_size=2 * padded)
        return tf.matmul(_reflect_matrix(size, margin), up)

    def _down(self, size: int, out_size: int) -> tf.Tensor:
        """[size, out_size]: downsample2d(down=2, flip_filter=True) with sym6, cropped by the filter's reach."""
        taps = self.filter
        pad0 = -(len(SYM6) // 4) * 2 + (len(taps) - 1) // 2
        return _fir_matrix(size, taps, up=1, down=2, pad0=pad0, out_size=out_size)


def required_margin(g_inv: tf.Tensor, h: int, w: int, pad_filter: int) -> tf.Tensor:
    """The official padding margin of a batch: how far the transformed image corners, plus the
    resampling filter's reach, land outside the image (the largest side, in pixels)."""
    cx, cy = (w - 1) / 2, (h - 1) / 2
    corners = tf.constant([[-cx, cx, cx, -cx], [-cy, -cy, cy, cy], [1.0, 1.0, 1.0, 1.0]], tf.float32)
    points = tf.einsum("nij,jk->nik", g_inv, corners)[:, :2, :]  # [N, xy, 4]
    reach = tf.reduce_max(tf.abs(points), axis=[0, 2]) + pad_filter * 2 - tf.constant([cx, cy], tf.float32)
    return tf.reduce_max(tf.minimum(tf.maximum(reach, 0.0), tf.constant([w - 1.0, h - 1.0])))


class AdaController:
    """Adjusts p from the sign of D(real): up when D overfits (mean sign > target), else down.

    Args:
      target: the target E[sign(D(real))] (0.6 in the paper).
      interval: steps between adjustments (4).
      kimg: images (thousands) for p to go from 0 to 1 at the largest step (500).
    """

    def __init__(self, target: float = 0.6, interval: int = 4, kimg: float = 500.0):
        if not 0.0 < target < 1.0:
            raise ValueError(f"ADA target must be in (0, 1), got {target}.")
        if interval < 1 or kimg <= 0:
            raise ValueError(f"ADA interval must be >= 1 and kimg > 0, got {interval} and {kimg}.")
        self.target, self.interval, self.kimg = float(target), int(interval), float(kimg)

    def adjust(self, p: tf.Tensor, mean_sign: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
        """The new p after one interval whose mean sign of D(real) was `mean_sign`."""
        step = tf.cast(batch * self.interval, tf.float32) / (self.kimg * 1000.0)
        return tf.clip_by_value(p + tf.sign(mean_sign - self.target) * step, 0.0, 1.0)


class AdaptiveAugment:
    """ADA with its state: the pipe, the probability p, and the sign accumulator that moves p.

    `p` and `signs` ([sum of sign(D(real)), count]) are variables kept by the
    first replica, so they are checkpointed and a resumed run continues them.
    With `target` None, p stays fixed.

    Args:
      stages: the pipe's stages (see `AugmentPipe`).
      p: the initial (or fixed) probability.
      target, interval, kimg: the controller (see `AdaController`); target None = fixed p.
    """

    def __init__(self, stages: str = "bgc", p: float = 0.0, target: float | None = 0.6, interval: int = 4,
                 kimg: float = 500.0):
        import keras

        self.pipe = AugmentPipe(stages)
        self.controller = None if target is None else AdaController(target, interval, kimg)
        self.interval = int(interval)
        self.p = keras.Variable(check_probability(p), trainable=False, name="ada_p",
                                aggregation="only_first_replica")
        self.signs = keras.Variable([0.0, 0.0], trainable=False, name="ada_signs", aggregation="only_first_replica")

    def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        with tf.name_scope("ada"):  # so that profiles can tell the pipe's ops from D's
            return self.pipe(images, self.p, seed)

    def update(self, sign_sum: tf.Tensor, global_batch: tf.Tensor, step: tf.Tensor) -> None:
        """Accumulates sign(D(real)) of a step; at the end of every interval moves p towards the target."""
        if self.controller is None:
            return
        signs = self.signs.assign_add(tf.stack([sign_sum, tf.cast(global_batch, tf.float32)]))
        due = tf.equal((step + 1) % self.interval, 0)
        mean_sign = signs[0] / tf.maximum(signs[1], 1.0)
        self.p.assign(tf.where(due, self.controller.adjust(self.p, mean_sign, global_batch), self.p))
        self.signs.assign(tf.where(due, tf.zeros(2), signs))
