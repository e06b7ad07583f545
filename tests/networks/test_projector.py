"""Projection into W on a tiny generator: the image comes back, and the mechanics hold."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.images import to_uint8
from tf_stylegan.networks import Generator
from tf_stylegan.networks.projector import ProjectorOptions, learning_rate, noise_regularizer, project, synthesize


@pytest.fixture(scope="module")
def generator():
    keras.utils.set_random_seed(0)  # module fixtures are built before the per-test seeding: seed here
    return Generator(z_dim=16, w_dim=16, img_resolution=16, mapping_layers=2, channel_base=512, channel_max=32,
                     noise_seed=0)


def test_projection_recovers_a_generated_image(generator):
    G = generator
    z = np.random.RandomState(5).standard_normal([1, 16]).astype(np.float32)
    target = to_uint8(G(z, noise_mode="const")).numpy()[0]
    before = [v.numpy().copy() for v in G.non_trainable_variables]
    result = project(G, target, opts=ProjectorOptions(num_steps=150, w_avg_samples=2000))
    x = target / 127.5 - 1.0
    start = np.mean((synthesize(G, G.mapping.w_avg.numpy()) - x) ** 2)
    final = np.mean((synthesize(G, result["w"][-1], result["noise"]) - x) ** 2)
    print(f"pixel MSE from w_avg {start:.3f} -> projected {final:.4f}")
    # Stated bound: the projection removes at least 75% of w_avg's pixel error. With the pixel fallback it
    # can stop in a local minimum: over tiny nets seeded 0-5 it removed 80.6% to 99.5% (this one: 80.6%).
    assert final < 0.25 * start
    assert result["distance"][-1] < 0.3 * result["distance"][0]
    for a, b in zip(before, [v.numpy() for v in G.non_trainable_variables]):
        np.testing.assert_array_equal(a, b)  # G's stored noise maps are restored


def test_wrong_target_size(generator):
    with pytest.raises(ValueError, match=r"the generator makes \(16, 16, 3\)"):
        project(generator, np.zeros([32, 32, 3], np.uint8), opts=ProjectorOptions(num_steps=1))


def test_schedule_and_regulariser():
    opts = ProjectorOptions(num_steps=1000)
    assert learning_rate(0, opts) == 0.0
    assert learning_rate(500, opts) == pytest.approx(0.1)
    assert learning_rate(999, opts) < 0.001
    white = tf.Variable(np.random.RandomState(0).standard_normal([16, 16]).astype(np.float32))
    smooth = tf.Variable(np.ones([16, 16], np.float32))
    assert float(noise_regularizer([white])) < 0.1 < 3.9 < float(noise_regularizer([smooth]))  # 4 terms of 1
