"""Adaptive discriminator augmentation: identity at p = 0, what each stage does, the p controller."""

import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_data, tiny_gan

from tf_stylegan.ops.upfirdn2d import downsample2d, upsample2d
from tf_stylegan.training.ada import (
    STAGES,
    AdaController,
    AugmentPipe,
    _grid_sample_bilinear,
    _grid_sample_gather,
    _scale2d,
    _translate2d,
    parse_stages,
    required_margin,
)

SEED = tf.constant([5, 6], tf.int64)


def _smooth_images(n=8, size=16):
    """Smooth, band-limited test images (resampling is exact up to the filters' ripple on them)."""
    yy, xx = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size), indexing="ij")
    rng = np.random.RandomState(0)
    imgs = [np.stack([np.sin(2 * np.pi * (a * xx + b * yy) + c) for a, b, c in rng.uniform(0, 1.2, (3, 3))], -1)
            for _ in range(n)]
    return tf.constant(np.stack(imgs).astype(np.float32) * 0.5)


@pytest.mark.parametrize("stages", ["bgc", "bgcc", "xflip", "cutout", "hue,saturation"])
def test_p_zero_is_the_identity(stages):
    x = tf.random.normal([4, 16, 16, 3])
    np.testing.assert_array_equal(AugmentPipe(stages)(x, 0.0, SEED), x)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_each_stage_keeps_shape_dtype_and_passes_gradients(stage, dtype):
    x = tf.cast(_smooth_images(4), dtype)
    pipe = AugmentPipe(stage)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = pipe(x, 1.0, SEED)
        total = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
    assert y.shape == x.shape and y.dtype == dtype
    grad = tape.gradient(total, x)
    assert grad is not None and np.all(np.isfinite(tf.cast(grad, tf.float32).numpy()))
    assert float(tf.reduce_sum(tf.abs(tf.cast(grad, tf.float32)))) > 0
    np.testing.assert_array_equal(pipe(x, 1.0, SEED), y)  # stateless: same seed, same result


def _closest(candidates, y):
    errs = [np.abs(c - y).max() for c in candidates]
    return int(np.argmin(errs)), min(errs)


def test_xflip_and_rotate90_match_the_exact_transforms():
    # Not bit-exact: the sym6 filters are slightly asymmetric, so a mirrored image is filtered a
    # little differently on the way up than on the way down (as in the official pipeline).
    x = _smooth_images(8).numpy()
    flips = AugmentPipe("xflip")(tf.constant(x), 1.0, SEED).numpy()
    kinds = set()
    for xi, yi in zip(x, flips):
        kind, err = _closest([xi, xi[:, ::-1]], yi)
        kinds.add(kind)
        assert err < 0.05  # images have amplitude 0.5; a wrong candidate is off by ~0.5
    assert kinds == {0, 1}  # both outcomes occur in 8 images
    rots = AugmentPipe("rotate90")(tf.constant(x), 1.0, SEED).numpy()
    for xi, yi in zip(x, rots):
        assert _closest([np.rot90(xi, k, axes=(0, 1)) for k in range(4)], yi)[1] < 0.05


def test_integer_translation_moves_whole_pixels():
    x = _smooth_images(8).numpy()
    y = AugmentPipe("xint")(tf.constant(x), 1.0, SEED).numpy()
    for xi, yi in zip(x, y):
        errs = [np.abs(yi[4:-4, 4:-4] - np.roll(xi, (dy, dx), axis=(0, 1))[4:-4, 4:-4]).max()
                for dy in range(-2, 3) for dx in range(-2, 3)]
        assert min(errs) < 0.05  # interior matches a whole-pixel shift (max 0.125 * 16 = 2 px)


def test_brightness_adds_one_constant_per_image_and_lumaflip_negates_luma():
    x = _smooth_images(8)
    y = AugmentPipe("brightness")(x, 1.0, SEED) - x
    offsets = y.numpy().reshape(8, -1)
    np.testing.assert_allclose(offsets, offsets[:, :1].repeat(offsets.shape[1], 1), atol=1e-5)
    assert np.std(offsets[:, 0]) > 0.01
    luma_in = tf.reduce_sum(x, axis=-1).numpy()
    luma_out = tf.reduce_sum(AugmentPipe("lumaflip")(x, 1.0, SEED), axis=-1).numpy()
    signs = set()
    for a, b in zip(luma_in, luma_out):
        same, flipped = np.abs(a - b).max(), np.abs(a + b).max()
        assert min(same, flipped) < 1e-4
        signs.add(same < flipped)
    assert signs == {True, False}


def _bilinear_reference(img, theta, out_h, out_w):
    """grid_sample (bilinear, zero padding, align_corners=False) one sample at a time."""
    in_h, in_w, _ = img.shape
    out = np.zeros((out_h, out_w, img.shape[2]))
    for i in range(out_h):
        for j in range(out_w):
            gx, gy = theta @ [(2 * j + 1) / out_w - 1, (2 * i + 1) / out_h - 1, 1]
            x, y = ((gx + 1) * in_w - 1) / 2, ((gy + 1) * in_h - 1) / 2
            x0, y0 = int(np.floor(x)), int(np.floor(y))
            for yy, xx in ((y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)):
                if 0 <= yy < in_h and 0 <= xx < in_w:
                    out[i, j] += img[yy, xx] * (1 - abs(x - xx)) * (1 - abs(y - yy))
    return out


@pytest.mark.parametrize("sample", [_grid_sample_bilinear, _grid_sample_gather])
def test_bilinear_sampling_matches_a_per_pixel_reference(sample):
    rng = np.random.RandomState(3)
    imgs = rng.normal(size=(3, 9, 7, 2)).astype(np.float32)
    theta = (np.eye(3)[:2] + rng.normal(0, 0.4, (3, 2, 3))).astype(np.float32)  # some taps fall outside
    got = sample(tf.constant(imgs), tf.constant(theta), 8, 10).numpy()
    want = np.stack([_bilinear_reference(i, t, 8, 10) for i, t in zip(imgs, theta)])
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.mean(want == 0) > 0.05  # the case of samples outside the image is exercised


def _first_and_second_gradients(sample, x, theta, out_h, out_w):
    """d/dx of sum(v * sample(x)^2), and d/dx of that gradient's dot with u (through the first gradient)."""
    v = tf.random.stateless_normal([x.shape[0], out_h, out_w, x.shape[3]], [1, 2])
    u = tf.random.stateless_normal(x.shape, [3, 4])
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            loss = tf.reduce_sum(v * sample(x, theta, out_h, out_w) ** 2)
        first = inner.gradient(loss, x)
        dot = tf.reduce_sum(first * u)
    return first, outer.gradient(dot, x)


def test_bilinear_sampling_gradients_are_the_exact_adjoint():
    # The fast sampler's gradient is written by hand (TensorFlow's own for the op only
    # approximates the adjoint); it must equal the autodiff gradient of the plain gather, to
    # first and second order (R1 differentiates D's input gradient through the pipe).
    rng = np.random.RandomState(4)
    x = tf.constant(rng.normal(size=(4, 12, 11, 3)).astype(np.float32))
    theta = tf.constant((np.eye(3)[:2] + rng.normal(0, 0.3, (4, 2, 3))).astype(np.float32))
    fast = _first_and_second_gradients(_grid_sample_bilinear, x, theta, 13, 9)
    plain = _first_and_second_gradients(_grid_sample_gather, x, theta, 13, 9)
    for got, want in zip(fast, plain):
        assert float(tf.reduce_max(tf.abs(want))) > 0.1
        np.testing.assert_allclose(got, want, atol=2e-4)


def test_resampling_matches_upfirdn2d_and_the_plain_sampler():
    # Padding, upsampling and downsampling run as small matrices; the same steps written with
    # upfirdn2d's reference (the numerical truth) and the plain sampler must agree, with gradients.
    x = _smooth_images(4, size=16)
    pipe = AugmentPipe("bg")
    g_inv = tf.constant([[[0.9, -0.3, 1.5], [0.2, 1.1, -0.7], [0, 0, 1]]] * 2
                        + [[[-1, 0, 0], [0, 1, 0.3], [0, 0, 1]]] * 2, tf.float32)

    def reference(x):
        h = x.shape[1]
        x = tf.pad(x, [[0, 0], [9, 9], [9, 9], [0, 0]], mode="REFLECT")
        x = upsample2d(x, pipe.filter, up=2, impl="ref")
        half = tf.fill([1], 0.5)
        g = _scale(2.0) @ g_inv @ _scale(0.5)
        g = _translate2d(-half, -half) @ g @ _translate2d(half, half)
        g = _scale(2.0 / x.shape[1]) @ g @ _scale((h + 6) * 2 / 2.0)
        x = _grid_sample_gather(x, g[:, :2, :], (h + 6) * 2, (h + 6) * 2)
        return downsample2d(x, pipe.filter, down=2, padding=-6, flip_filter=True, impl="ref")

    results = []
    for resample in (lambda x: pipe._resample_with_margin(x, g_inv, 9), reference):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = resample(x)
            loss = tf.reduce_sum(tf.sin(3 * y))
        results.append((y, tape.gradient(loss, x)))
    (y, grad), (y_ref, grad_ref) = results
    assert y.shape == x.shape and float(tf.reduce_max(tf.abs(y_ref))) > 0.3
    np.testing.assert_allclose(y, y_ref, atol=1e-5)
    np.testing.assert_allclose(grad, grad_ref, atol=1e-4)


def _scale(s):
    return _scale2d(tf.fill([1], float(s)), tf.fill([1], float(s)))


@pytest.mark.parametrize("p", [0.1, 0.4, 1.0])
def test_resampling_margin_is_as_small_as_the_transforms_allow(p):
    # The resampler pads by the margin the batch's transforms need (as the official pipeline does);
    # padding by the full (size - 1) margin must give the same images, and too small a margin must not.
    x = _smooth_images(8, size=32)
    pipe = AugmentPipe("bg")
    seen = {}
    resample = pipe._resample
    pipe._resample = lambda images, g_inv: (seen.setdefault("g_inv", g_inv), resample(images, g_inv))[1]
    y = pipe(x, p, SEED)
    g_inv = seen["g_inv"]
    needed = float(required_margin(g_inv, 32, 32, 3))
    assert 6 <= needed <= 31
    full = pipe._resample_with_margin(x, g_inv, 31)
    np.testing.assert_allclose(y, full, atol=1e-4)
    if needed > 10:
        short = pipe._resample_with_margin(x, g_inv, int(needed) - 4)
        assert np.abs(short - full).max() > 1e-2


def test_stage_probability_follows_p():
    x = tf.zeros([2000, 4, 4, 3])
    y = AugmentPipe("brightness")(x, 0.3, SEED).numpy()
    applied = np.mean(np.abs(y[:, 0, 0, 0]) > 0)
    assert abs(applied - 0.3) < 0.04


def test_controller_moves_p_towards_the_target():
    ctl = AdaController(target=0.6, interval=4, kimg=10)
    step = 32 * 4 / 10000
    p = ctl.adjust(tf.constant(0.5), tf.constant(0.9), 32)  # D overfits: sign(D(real)) mostly +1
    assert float(p) == pytest.approx(0.5 + step)
    p = ctl.adjust(tf.constant(0.5), tf.constant(0.2), 32)
    assert float(p) == pytest.approx(0.5 - step)
    assert float(ctl.adjust(tf.constant(0.0), tf.constant(-1.0), 32)) == 0.0
    assert float(ctl.adjust(tf.constant(1.0), tf.constant(1.0), 32)) == 1.0


def test_training_updates_p_every_interval_from_real_signs():
    gan = tiny_gan(augment="ada", ada_interval=2, ada_kimg=1.0)
    gan.compile(g_lr=0.002, d_lr=0.002)
    it = iter(tiny_data(batch=4))
    train = gan.make_train_function()
    for _ in range(2):
        logs = train(it)
    # After one interval of 2 steps x 4 images, p moved by +-8/1000 from 0 (and is clamped at 0).
    assert float(gan.ada_p.numpy()) in (0.0, pytest.approx(0.008))
    # Drive the controller directly: an overfitting D (all signs +1) raises p at the next due step.
    before = float(gan.ada_p.numpy())
    gan.step.assign(3)
    gan.ada.signs.assign([0.0, 0.0])  # ADA's state lives with the pipe
    gan.ada.update(tf.constant(4.0), tf.constant(4), gan.step)
    assert float(gan.ada_p.numpy()) == pytest.approx(min(before + 0.008, 1.0))
    assert np.all(gan.ada.signs.numpy() == 0)  # the accumulator restarts
    assert "ada_p" in logs


def test_bad_settings():
    with pytest.raises(ValueError, match="unknown stages \\['spin'\\]"):
        AugmentPipe("xflip,spin")
    with pytest.raises(ValueError, match="probability in \\[0, 1\\]"):
        tiny_gan(augment="ada", ada_p=1.5)
    with pytest.raises(ValueError, match="target must be in"):
        tiny_gan(augment="ada", ada_target=1.2)
    assert parse_stages("bgc")[-1] == "saturation"
    gan = tiny_gan()
    with pytest.raises(ValueError, match="needs a discriminator D \\(got None\\); augment='ada'"):
        type(gan)(gan.G, None, augment="ada")
