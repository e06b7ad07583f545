import numpy as np
import pytest
import tensorflow as tf
from numpy_ref import minibatch_stddev

from tf_stylegan.layers import MinibatchStdDev, PixelNorm


@pytest.mark.parametrize("group,channels", [(4, 1), (2, 2), (None, 1), (8, 1)])
def test_minibatch_stddev_matches_official_grouping(group, channels):
    x = np.random.randn(8, 3, 3, 4).astype(np.float32)
    got = MinibatchStdDev(group, channels)(x).numpy()
    np.testing.assert_allclose(got, minibatch_stddev(x, group, channels), rtol=1e-5, atol=1e-6)


def test_minibatch_stddev_groups_with_stride():
    # Batch 4, group 2: samples (0, 2) form one group and (1, 3) the other.
    x = np.zeros([4, 1, 1, 1], np.float32)
    x[:, 0, 0, 0] = [0.0, 5.0, 2.0, 5.0]
    y = MinibatchStdDev(2, 1)(x).numpy()[:, 0, 0, 1]
    np.testing.assert_allclose(y, [1.0, 0.0001, 1.0, 0.0001], rtol=1e-3)


def test_minibatch_stddev_rejects_indivisible_batch():
    with pytest.raises(tf.errors.InvalidArgumentError, match="divisible"):
        MinibatchStdDev(4, 1)(np.zeros([6, 2, 2, 2], np.float32))


def test_pixel_norm_unit_second_moment():
    x = np.random.randn(2, 3, 3, 16).astype(np.float32) * 7
    y = PixelNorm()(x).numpy()
    np.testing.assert_allclose(np.mean(y**2, axis=-1), 1.0, rtol=1e-5)
