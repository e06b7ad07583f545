import numpy as np
import pytest
import tensorflow as tf
from numpy_ref import conv2d, upfirdn2d

from tf_stylegan.ops import conv2d_resample, setup_filter

F = setup_filter([1, 3, 3, 1])


def test_plain_conv_is_same_padded_correlation():
    x = np.random.randn(2, 6, 6, 3).astype(np.float32)
    w = np.random.randn(3, 3, 3, 5).astype(np.float32)
    expected = conv2d(np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)]), w)
    np.testing.assert_allclose(conv2d_resample(x, w, padding=1).numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("k", [3, 1])
def test_upsampling_conv_is_tf1_upsample_then_conv(k):
    # TF1 semantics: one zero-padding at the start, FIR upsampling, then correlation with w.
    x = np.random.randn(2, 5, 4, 3).astype(np.float32)
    w = np.random.randn(k, k, 3, 4).astype(np.float32)
    p = k // 2
    up = upfirdn2d(x, F, up=2, pad=(p + 2, p + 1, p + 2, p + 1), gain=4)
    expected = conv2d(up, w)
    got = conv2d_resample(x, w, f=F, up=2, padding=p).numpy()
    assert got.shape == (2, 10, 8, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("k", [3, 1])
def test_downsampling_conv_is_filter_conv_subsample(k):
    x = np.random.randn(2, 8, 6, 3).astype(np.float32)
    w = np.random.randn(k, k, 3, 4).astype(np.float32)
    p = k // 2
    blurred = upfirdn2d(x, F, pad=(p + 1, p + 1, p + 1, p + 1))
    expected = conv2d(blurred, w)[:, ::2, ::2, :]
    got = conv2d_resample(x, w, f=F, down=2, padding=p).numpy()
    assert got.shape == (2, 4, 3, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("up", [1, 2])
def test_grouped_equals_per_group(up):
    groups = 3
    x = np.random.randn(1, 4, 4, groups * 2).astype(np.float32)
    w = np.random.randn(3, 3, 2, groups * 5).astype(np.float32)
    got = conv2d_resample(x, w, f=F, up=up, padding=1, groups=groups).numpy()
    for g in range(groups):
        single = conv2d_resample(
            x[..., 2 * g : 2 * g + 2], w[..., 5 * g : 5 * g + 5], f=F, up=up, padding=1
        ).numpy()
        np.testing.assert_allclose(got[..., 5 * g : 5 * g + 5], single, rtol=1e-4, atol=1e-4)


def test_second_derivative_through_upsampling_conv():
    x = np.random.randn(1, 3, 3, 2)
    w = tf.constant(np.random.randn(3, 3, 2, 2))

    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(conv2d_resample(x, w, f=F, up=2, padding=1) ** 3)
        return tape.gradient(y, x)

    theoretical, numerical = tf.test.compute_gradient(grad, [x])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-4)
