import numpy as np
import pytest
import tensorflow as tf
from numpy_ref import upfirdn2d as upfirdn2d_np

from tf_stylegan.ops import downsample2d, filter2d, setup_filter, upfirdn2d, upsample2d

CASES = [
    # (filter, up, down, padding, flip, gain)
    ([1, 3, 3, 1], 1, 1, (1, 2, 1, 2), False, 1.0),
    ([1, 3, 3, 1], 2, 1, (2, 1, 2, 1), False, 4.0),
    ([1, 3, 3, 1], 1, 2, (1, 1, 1, 1), False, 1.0),
    ([1, 2, 3, 4], 2, 1, (2, 1, 0, 3), True, 4.0),  # asymmetric filter: flip matters
    ([1, 2, 3, 4], 1, 2, (-1, 2, 1, -1), False, 1.0),  # negative padding crops
    ([1, 3, 3, 1], 3, 2, (1, 1, 1, 1), False, 9.0),
    ([1, 2, 3, 4, 4, 3, 2, 1], 1, 2, (3, 4, 3, 4), False, 1.0),  # separable (8 taps)
]


@pytest.mark.parametrize("taps,up,down,pad,flip,gain", CASES)
def test_matches_numpy(taps, up, down, pad, flip, gain):
    x = np.random.randn(2, 7, 6, 3).astype(np.float32)
    f = setup_filter(taps)
    got = upfirdn2d(x, f, up=up, down=down, padding=pad, flip_filter=flip, gain=gain).numpy()
    expected = upfirdn2d_np(x, f, up, down, pad, flip, gain)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_2d_filter_and_identity():
    x = np.random.randn(1, 5, 5, 2).astype(np.float32)
    f = np.random.rand(3, 2).astype(np.float32)
    got = upfirdn2d(x, f, padding=[1, 0, 1, 1]).numpy()
    np.testing.assert_allclose(got, upfirdn2d_np(x, f, pad=(1, 0, 1, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(upfirdn2d(x, None).numpy(), x)


def test_setup_filter_normalises_and_flips():
    f = setup_filter([1, 2, 3, 4])
    assert f.shape == (4, 4) and f.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(setup_filter([1, 2, 3, 4], flip_filter=True), f[::-1, ::-1])
    assert setup_filter([1] * 8).shape == (8,)  # long filters stay separable
    np.testing.assert_allclose(setup_filter([1, 1], gain=4).sum(), 4.0, rtol=1e-6)


def test_resampling_helpers_keep_dc_and_sizes():
    x = np.full([1, 8, 8, 2], 0.5, np.float32)
    f = setup_filter([1, 3, 3, 1])
    up = upsample2d(x, f).numpy()
    down = downsample2d(x, f).numpy()
    same = filter2d(x, f).numpy()
    assert up.shape == (1, 16, 16, 2) and down.shape == (1, 4, 4, 2) and same.shape == x.shape
    # Away from the zero-padded border the DC level is preserved exactly.
    np.testing.assert_allclose(up[:, 3:-3, 3:-3], 0.5, rtol=1e-6)
    np.testing.assert_allclose(down[:, 1:-1, 1:-1], 0.5, rtol=1e-6)
    np.testing.assert_allclose(same[:, 2:-2, 2:-2], 0.5, rtol=1e-6)


def test_rejects_non_nhwc_and_bad_factors():
    with pytest.raises(ValueError, match="NHWC"):
        upfirdn2d(tf.zeros([4, 4, 3]), None)
    with pytest.raises(ValueError, match="factors"):
        upfirdn2d(tf.zeros([1, 4, 4, 3]), None, up=0)
    with pytest.raises(ValueError, match="padding"):
        upfirdn2d(tf.zeros([1, 4, 4, 3]), None, padding=[1, 2, 3])


@pytest.mark.parametrize("up,down", [(2, 1), (1, 2)])
def test_first_and_second_derivatives(up, down):
    f = setup_filter([1, 3, 3, 1])
    x = np.random.randn(1, 4, 4, 2)

    def op(x):
        return upfirdn2d(x, f, up=up, down=down, padding=1)

    theoretical, numerical = tf.test.compute_gradient(op, [x])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-6)

    def grad_of_sum_cube(x):  # a nonlinear outer function makes the 2nd derivative non-trivial
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(op(x) ** 3)
        return tape.gradient(y, x)

    theoretical, numerical = tf.test.compute_gradient(grad_of_sum_cube, [x])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-5)
