"""Upsample, FIR-filter, downsample (upfirdn2d) on NHWC tensors.

The official resampling primitive: zero-stuff by `up`, pad (negative pads
crop), convolve with the FIR filter `f`, keep every `down`-th pixel. Filters
are float32 numpy arrays made by `setup_filter`; a 1-D filter is applied
separably (two 1-D passes), a 2-D filter as one depthwise convolution.

The compiled op (custom_ops/upfirdn2d.cc) does the same in one pass that
visits only the taps landing on input pixels and only the kept outputs. It
takes the final 2-D correlation kernel; as in the official code, its gradient
is another upfirdn2d (the kernel reversed, up and down swapped), registered
below, so derivatives of any order follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np
import tensorflow as tf

from tf_stylegan.ops import _dispatch

Padding = Union[int, Sequence[int]]  # noqa: UP007 (a runtime alias)


def setup_filter(
    f,
    normalize: bool = True,
    flip_filter: bool = False,
    gain: float = 1.0,
    separable: bool | None = None,
) -> np.ndarray:
    """Turns a filter spec such as [1, 3, 3, 1] into a float32 numpy filter.

    Args:
      f: 1-D or 2-D array-like, or None for the identity [1].
      normalize: divide by the sum, so that the filter keeps the DC level.
      flip_filter: flip it (convolution vs correlation).
      gain: overall gain; for a separable filter each 1-D pass gets sqrt(gain).
      separable: keep a 1-D filter 1-D (two passes). None = only for 1-D filters
        of 8 or more taps; shorter ones are faster as one 2-D pass.
    """
    f = np.asarray(1.0 if f is None else f, dtype=np.float32)
    if f.ndim == 0:
        f = f[np.newaxis]
    if f.ndim not in (1, 2) or f.size == 0:
        raise ValueError(f"setup_filter: a filter must be 1-D or 2-D, got {f.shape}.")
    if separable is None:
        separable = f.ndim == 1 and f.size >= 8
    if f.ndim == 1 and not separable:
        f = np.outer(f, f)
    if separable and f.ndim != 1:
        raise ValueError("setup_filter: only a 1-D filter can be separable.")
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f[::-1] if f.ndim == 1 else f[::-1, ::-1]
    f = f * (gain ** (f.ndim / 2))
    return np.ascontiguousarray(f, dtype=np.float32)


def _parse_scaling(s) -> tuple[int, int]:
    sx, sy = (s, s) if isinstance(s, int) else tuple(s)
    if sx < 1 or sy < 1:
        raise ValueError(f"upfirdn2d: up/down factors must be >= 1, got {s}.")
    return int(sx), int(sy)


def _parse_padding(padding: Padding) -> tuple[int, int, int, int]:
    """[x0, x1, y0, y1] from an int, [px, py] or [x0, x1, y0, y1]."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = [int(p) for p in padding]
    if len(padding) == 2:
        px, py = padding
        return px, px, py, py
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError(f"upfirdn2d: padding must have 1, 2 or 4 entries, got {padding}.")


def filter_size(f) -> tuple[int, int]:
    """(width, height) of a filter from `setup_filter`; (1, 1) for None."""
    if f is None:
        return 1, 1
    f = np.asarray(f)
    return (f.shape[-1], f.shape[0])


def _pad_or_crop(x: tf.Tensor, x0: int, x1: int, y0: int, y1: int) -> tf.Tensor:
    if max(x0, x1, y0, y1) > 0:
        x = tf.pad(x, [[0, 0], [max(y0, 0), max(y1, 0)], [max(x0, 0), max(x1, 0)], [0, 0]])
    if min(x0, x1, y0, y1) < 0:
        h, w = tf.shape(x)[1], tf.shape(x)[2]
        x = x[:, max(-y0, 0) : h - max(-y1, 0), max(-x0, 0) : w - max(-x1, 0), :]
    return x


def _depthwise(x: tf.Tensor, kernel: np.ndarray) -> tf.Tensor:
    """Correlates every channel of x with the 2-D `kernel` (VALID)."""
    channels = x.shape[-1]
    if channels is None:
        raise ValueError("upfirdn2d: the channel count must be known statically.")
    k = tf.constant(kernel[:, :, np.newaxis, np.newaxis], dtype=x.dtype)
    k = tf.tile(k, [1, 1, channels, 1])
    return tf.nn.depthwise_conv2d(x, k, strides=[1, 1, 1, 1], padding="VALID")


def _upfirdn2d_ref(x, f, upx, upy, downx, downy, pad, flip_filter, gain):
    x0, x1, y0, y1 = pad
    if upx > 1 or upy > 1:
        # Zero insertion one axis at a time: 5-D pads convert to TFLite builtins, a 6-D one does not.
        n, h, w, c = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2], x.shape[-1]
        x = tf.pad(tf.reshape(x, [n, h, 1, w, c]), [[0, 0], [0, 0], [0, upy - 1], [0, 0], [0, 0]])
        x = tf.pad(tf.reshape(x, [n, h * upy, w, 1, c]), [[0, 0], [0, 0], [0, 0], [0, upx - 1], [0, 0]])
        x = tf.reshape(x, [n, h * upy, w * upx, c])
    x = _pad_or_crop(x, x0, x1, y0, y1)
    if f is not None:
        f = np.asarray(f, dtype=np.float32) * np.float32(gain ** (np.ndim(f) / 2))
        # The op is a true convolution: correlate with the flipped filter.
        if not flip_filter:
            f = f[::-1] if f.ndim == 1 else f[::-1, ::-1]
        if f.ndim == 1:
            x = _depthwise(x, f[np.newaxis, :])
            x = _depthwise(x, f[:, np.newaxis])
        else:
            x = _depthwise(x, f)
    elif gain != 1:
        x = x * tf.cast(gain, x.dtype)
    if downx > 1 or downy > 1:
        x = x[:, ::downy, ::downx, :]
    return x


def _output_size(size, up, pad0, pad1, taps, down):
    span = size * up + pad0 + pad1 - taps + 1
    return span if span <= 0 else -(-span // down)


def _custom_pass(x, f2d, up, down, pad, flip_filter, gain):
    """One compiled call with a 2-D filter; gain applies once (gain**(2/2))."""
    kernel = f2d * np.float32(gain)
    if not flip_filter:  # the op correlates; a convolution uses the flipped filter
        kernel = kernel[::-1, ::-1]
    x0, x1, y0, y1 = pad
    return _dispatch.custom_module().tf_stylegan_upfirdn2d(
        x, tf.constant(np.ascontiguousarray(kernel, np.float32)),
        upx=up[0], upy=up[1], downx=down[0], downy=down[1],
        padx0=x0, padx1=x1, pady0=y0, pady1=y1,
    )


def _upfirdn2d_custom(x, f, upx, upy, downx, downy, pad, flip_filter, gain):
    if f is None:
        f = np.ones([1, 1], np.float32)
    if f.ndim == 2:
        return _custom_pass(x, f, (upx, upy), (downx, downy), pad, flip_filter, gain)
    x0, x1, y0, y1 = pad  # separable: horizontal, then vertical, sqrt(gain) each
    x = _custom_pass(x, f[np.newaxis, :], (upx, 1), (downx, 1), (x0, x1, 0, 0), flip_filter, gain**0.5)
    return _custom_pass(x, f[:, np.newaxis], (1, upy), (1, downy), (0, 0, y0, y1), flip_filter, gain**0.5)


@tf.RegisterGradient("TfStyleganUpfirdn2d")
def _upfirdn2d_custom_grad(op, dy):
    x, kernel = op.inputs
    a = {k: op.get_attr(k) for k in ("upx", "upy", "downx", "downy", "padx0", "pady0")}
    ih, iw = x.shape[1], x.shape[2]
    oh, ow = op.outputs[0].shape[1], op.outputs[0].shape[2]
    fh, fw = kernel.shape
    dx = _dispatch.custom_module().tf_stylegan_upfirdn2d(
        dy, tf.reverse(kernel, [0, 1]),
        upx=a["downx"], upy=a["downy"], downx=a["upx"], downy=a["upy"],
        padx0=fw - a["padx0"] - 1,
        padx1=iw * a["upx"] - ow * a["downx"] + a["padx0"] - a["upx"] + 1,
        pady0=fh - a["pady0"] - 1,
        pady1=ih * a["upy"] - oh * a["downy"] + a["pady0"] - a["upy"] + 1,
    )
    return dx, None


def upfirdn2d(
    x: tf.Tensor,
    f,
    up=1,
    down=1,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
    impl: str = "auto",
) -> tf.Tensor:
    """Pad, upsample, filter and downsample a batch of NHWC images.

    Args:
      x: [N, H, W, C] tensor (C must be static).
      f: filter from `setup_filter` (1-D = separable, 2-D), or None (identity).
      up: integer upsampling factor, or (x, y).
      down: integer downsampling factor, or (x, y).
      padding: int, [px, py] or [x0, x1, y0, y1]; negative values crop.
      flip_filter: False = convolution (the official default), True = correlation.
      gain: overall scale of the filter.
      impl: "ref", "custom" or "auto" (see tf_stylegan.ops._dispatch).

    Returns:
      [N, (H*up + y0 + y1 - fh + 1) // down (ceil), ..., C].

    Example:
      >>> y = upfirdn2d(tf.ones([1, 8, 8, 3]), setup_filter([1, 3, 3, 1]), down=2, padding=1)
    """
    x = tf.convert_to_tensor(x)
    if x.shape.rank != 4:
        raise ValueError(f"upfirdn2d expects NHWC input, got shape {x.shape}.")
    _dispatch.check_dtype("upfirdn2d", x)
    upx, upy = _parse_scaling(up)
    downx, downy = _parse_scaling(down)
    pad = _parse_padding(padding)
    if f is not None:
        f = np.asarray(f, dtype=np.float32)
        if f.ndim not in (1, 2) or f.size == 0:
            raise ValueError(f"upfirdn2d: filter must be 1-D or 2-D, got shape {f.shape}.")
    fw, fh = filter_size(f)
    h, w = x.shape[1], x.shape[2]
    if h is not None and w is not None:
        oh = _output_size(h, upy, pad[2], pad[3], fh, downy)
        ow = _output_size(w, upx, pad[0], pad[1], fw, downx)
        if oh <= 0 or ow <= 0:
            raise ValueError(
                f"upfirdn2d: padding {list(pad)} of a {h}x{w} input leaves less than the "
                f"{fh}x{fw} filter; reduce the negative padding."
            )
    unsupported = "the spatial size is not static" if h is None or w is None else None
    resamples = upx * upy * downx * downy > 1
    if _dispatch.use_custom("upfirdn2d", impl, unsupported, cpu_auto=resamples):
        return _upfirdn2d_custom(x, f, upx, upy, downx, downy, pad, flip_filter, gain)
    return _upfirdn2d_ref(x, f, upx, upy, downx, downy, pad, flip_filter, gain)


def filter2d(x, f, padding: Padding = 0, flip_filter=False, gain=1.0, impl="auto"):
    """Filters x with f, padded so that the output keeps the input's size."""
    fw, fh = filter_size(f)
    x0, x1, y0, y1 = _parse_padding(padding)
    p = [x0 + fw // 2, x1 + (fw - 1) // 2, y0 + fh // 2, y1 + (fh - 1) // 2]
    return upfirdn2d(x, f, padding=p, flip_filter=flip_filter, gain=gain, impl=impl)


def upsample2d(x, f, up=2, padding: Padding = 0, flip_filter=False, gain=1.0, impl="auto"):
    """Upsamples x by `up` with filter f (gain up**2 keeps the DC level)."""
    upx, upy = _parse_scaling(up)
    fw, fh = filter_size(f)
    x0, x1, y0, y1 = _parse_padding(padding)
    p = [
        x0 + (fw + upx - 1) // 2,
        x1 + (fw - upx) // 2,
        y0 + (fh + upy - 1) // 2,
        y1 + (fh - upy) // 2,
    ]
    return upfirdn2d(
        x, f, up=up, padding=p, flip_filter=flip_filter, gain=gain * upx * upy, impl=impl
    )


def downsample2d(x, f, down=2, padding: Padding = 0, flip_filter=False, gain=1.0, impl="auto"):
    """Downsamples x by `down` after low-pass filtering with f."""
    downx, downy = _parse_scaling(down)
    fw, fh = filter_size(f)
    x0, x1, y0, y1 = _parse_padding(padding)
    p = [
        x0 + (fw - downx + 1) // 2,
        x1 + (fw - downx) // 2,
        y0 + (fh - downy + 1) // 2,
        y1 + (fh - downy) // 2,
    ]
    return upfirdn2d(x, f, down=down, padding=p, flip_filter=flip_filter, gain=gain, impl=impl)
