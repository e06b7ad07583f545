"""ProGAN training: the WGAN-GP and drift terms, and growing through fit (runs: tests/run)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.networks.progan import ProGANDiscriminator, ProGANGenerator
from tf_stylegan.training import losses
from tf_stylegan.training.progan import ProGAN
from tf_stylegan.training.progressive import ProgressiveSchedule


def test_gradient_penalty_of_a_linear_critic():
    w = tf.constant(np.random.default_rng(0).normal(size=[1, 2, 2, 3]), tf.float32)

    def critic(x, scale=1.0):  # D(x) = scale * <w, x>: its gradient is scale * w everywhere
        return scale * tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]

    reals, fakes = tf.ones([2, 2, 2, 3]), tf.zeros([2, 2, 2, 3])
    norm = float(tf.norm(w))
    gp = losses.gradient_penalty(critic, reals, fakes, tf.fill([2, 1, 1, 1], 0.3), scale=2.0).numpy()
    np.testing.assert_allclose(gp, [(2 * norm - 1) ** 2] * 2, rtol=1e-5)
    gp = losses.gradient_penalty(critic, reals, fakes, tf.fill([2, 1, 1, 1], 0.3), target=4.0).numpy()
    np.testing.assert_allclose(gp, [(norm - 4) ** 2 / 16] * 2, rtol=1e-5)
    np.testing.assert_allclose(losses.drift_penalty(tf.constant([[-3.0], [2.0]])).numpy(), [[9.0], [4.0]])
    np.testing.assert_allclose(losses.d_wgan(tf.constant([1.0]), tf.constant([-2.0])).numpy(), [-3.0])


def small_gan(**kwargs):
    keras.utils.set_random_seed(0)
    net = dict(img_resolution=8, channel_base=128, channel_max=16)
    schedule = ProgressiveSchedule(8, start_resolution=4, stable_kimg=0.016, fade_kimg=0.016, batch=8)
    gan = ProGAN(ProGANGenerator(z_dim=8, **net), ProGANDiscriminator(**net), schedule, ema_kimg=0.01, **kwargs)
    gan.compile()
    return gan


def test_fit_grows_through_the_schedule():
    gan = small_gan()
    images = np.random.default_rng(0).uniform(-1, 1, (48, 8, 8, 3)).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(8).repeat()
    before = [w.numpy() for w in gan.G.weights + gan.D.weights]
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((int(logs["resolution"]), round(float(logs["alpha"]), 4)))

    gan.fit(ds, epochs=1, steps_per_epoch=6, callbacks=[Record()], verbose=0)
    # stable 4x4 (2 steps), fade 8x8 over 16 images (alpha 0, 0.5), stable 8x8
    assert seen == [(4, 1.0), (4, 1.0), (8, 0.0), (8, 0.5), (8, 1.0), (8, 1.0)]
    stage = gan.stage_at(int(gan.nimg.numpy()))
    assert int(gan.nimg.numpy()) == 48 and stage.resolution == 8 and not stage.fading
    after = [w.numpy() for w in gan.G.weights + gan.D.weights]
    assert all(np.any(a != b) for a, b in zip(before, after))  # every layer trained, 4x4 and 8x8 alike
    ema_gap = max(np.abs(e.numpy() - g.numpy()).max() for e, g in zip(gan.G_ema.weights, gan.G.weights))
    assert 0 < ema_gap


def test_networks_must_match():
    G = ProGANGenerator(z_dim=8, img_resolution=8, channel_base=128, channel_max=16)
    D = ProGANDiscriminator(img_resolution=16, channel_base=128, channel_max=16)
    with pytest.raises(ValueError, match="8px x3 images with c_dim 0, but D takes 16px"):
        ProGAN(G, D, ProgressiveSchedule(8))
