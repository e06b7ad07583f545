"""Seeds, style ranges, style mixing and interpolation."""

import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.networks.latents import interpolate, mix_styles, slerp, style_layers, z_from_seeds


def test_seeds_are_the_official_draws():
    np.testing.assert_array_equal(z_from_seeds([3], 5)[0], np.random.RandomState(3).randn(5).astype(np.float32))


def test_style_layers():
    assert style_layers("coarse", 18) == [0, 1, 2, 3]
    assert style_layers("middle", 18) == [4, 5, 6, 7]
    assert style_layers("fine", 18) == list(range(8, 18))
    assert style_layers("fine", 10) == [8, 9]
    assert style_layers("0-2,5", 8) == [0, 1, 2, 5]
    with pytest.raises(ValueError, match="out of range"):
        style_layers("0-9", 8)
    with pytest.raises(ValueError, match="selection is empty"):
        style_layers("fine", 8)
    with pytest.raises(ValueError, match="use coarse"):
        style_layers("wide", 8)


def test_mix_takes_exactly_the_given_layers():
    a, b = tf.zeros([2, 6, 3]), tf.ones([2, 6, 3])
    out = mix_styles(a, b, [1, 4]).numpy()
    assert out[:, [1, 4]].min() == 1 and out[:, [0, 2, 3, 5]].max() == 0


def test_slerp_end_points_and_unit_length():
    rng = np.random.RandomState(0)
    a, b = rng.standard_normal([5, 7]).astype(np.float32), rng.standard_normal([5, 7]).astype(np.float32)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(slerp(a, b, tf.zeros([5, 1])), unit(a), atol=1e-6)
    np.testing.assert_allclose(slerp(a, b, tf.ones([5, 1])), unit(b), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(slerp(a, b, tf.fill([5, 1], 0.3)), axis=1), 1, atol=1e-6)


def test_interpolate_passes_through_the_keyframes():
    keys = np.random.RandomState(1).standard_normal([3, 4, 8]).astype(np.float32)
    frames = interpolate(keys, 5, "lerp")
    assert frames.shape == (11, 4, 8)
    np.testing.assert_allclose(frames[[0, 5, 10]], keys, atol=1e-6)
    looped = interpolate(keys, 5, "lerp", loop=True)
    assert looped.shape == (15, 4, 8)
    np.testing.assert_allclose(looped[5 * 2 + 4], keys[2] + (keys[0] - keys[2]) * 0.8, atol=1e-5)
    z = interpolate(keys[:, 0], 4, "slerp")
    assert np.allclose(np.linalg.norm(z, axis=1), np.linalg.norm(keys[:, 0], axis=1).mean(), atol=1e-4)
