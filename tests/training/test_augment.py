import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.training.augment import cutout, diff_augment, translation

SEED = tf.constant([3, 4], tf.int64)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_keeps_shape_dtype_and_passes_gradients(policy):
    x = tf.random.normal([4, 16, 16, 3])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = diff_augment(x, policy, SEED)
        total = tf.reduce_sum(y * y)
    assert y.shape == x.shape and y.dtype == x.dtype
    grad = tape.gradient(total, x)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0
    np.testing.assert_array_equal(diff_augment(x, policy, SEED), y)  # stateless: same seed, same result


def test_translation_moves_content_by_whole_pixels():
    x = tf.reshape(tf.range(1, 8 * 8 + 1, dtype=tf.float32), [1, 8, 8, 1])
    y = translation(tf.tile(x, [16, 1, 1, 1]), SEED).numpy()[..., 0]
    for img in y:
        kept = img[img > 0]
        assert set(kept.tolist()) <= set(range(1, 65))  # values move, none is invented
        rows, cols = np.nonzero(img)
        # the kept block is a contiguous shifted window of the original grid
        assert np.all(np.diff(img[rows[0], cols[0] : cols[-1] + 1]) == 1)


def test_cutout_zeroes_a_quarter_square():
    y = cutout(tf.ones([8, 16, 16, 1]), SEED).numpy()
    holes = (y == 0).sum(axis=(1, 2, 3))
    assert np.all((holes > 0) & (holes <= 64))


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="unknown parts"):
        diff_augment(tf.zeros([1, 4, 4, 3]), "color,blur", SEED)
