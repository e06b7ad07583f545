"""DCGAN / CGAN training mechanics: shapes, fit, the p0 early stop, soft and
noisy labels, and the accuracy rollback."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from tf_stylegan.run import AccuracyRollback
from tf_stylegan.training.dcgan import DCGAN, discriminator_targets


def make_gan(c_dim=0, **kwargs):
    keras.utils.set_random_seed(0)
    G = DCGANGenerator(z_dim=8, c_dim=c_dim, img_resolution=8, base_channels=4)
    D = DCGANDiscriminator(c_dim=c_dim, img_resolution=8, base_channels=4)
    gan = DCGAN(G, D, **kwargs)
    gan.compile()
    return gan


def data(c_dim=0, n=16, batch=4):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n, 8, 8, 3)).astype(np.float32)
    if c_dim:
        labels = (rng.random((n, c_dim)) < 0.5).astype(np.float32)  # multi-hot tags
        return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)
    return tf.data.Dataset.from_tensor_slices(images).batch(batch)


def weights(gan):
    return [w.numpy().copy() for w in gan.G.weights + gan.D.weights]


def test_shapes_range_and_projection_conditioning():
    G = DCGANGenerator(z_dim=16, c_dim=5, img_resolution=32, base_channels=8)
    D = DCGANDiscriminator(c_dim=5, img_resolution=32, base_channels=8)
    z, c = tf.random.normal([3, 16]), tf.one_hot([0, 2, 4], 5)
    img = G(z, c)
    assert img.shape == (3, 32, 32, 3) and float(tf.reduce_max(tf.abs(img))) <= 1.0
    assert D(img, c).shape == (3, 1)
    assert not np.allclose(D(img, c), D(img, tf.one_hot([1, 1, 1], 5)))  # the label changes the score
    with pytest.raises(ValueError, match="conditional"):
        G(z)
    with pytest.raises(ValueError, match="power of two"):
        DCGANGenerator(img_resolution=48)


def test_keras_round_trip(tmp_path):
    G = DCGANGenerator(z_dim=8, c_dim=2, img_resolution=8, base_channels=4)
    z, c = tf.random.normal([2, 8]), tf.one_hot([0, 1], 2)
    G(z, c)
    G.save(tmp_path / "g.keras")
    again = keras.models.load_model(tmp_path / "g.keras")
    np.testing.assert_array_equal(again(z, c), G(z, c))


@pytest.mark.parametrize("c_dim", [0, 3])
def test_fit_trains_both_sides(c_dim):
    gan = make_gan(c_dim)
    gan.fit(data(c_dim).take(1), epochs=1, verbose=0)  # builds everything
    before = weights(gan)
    history = gan.fit(data(c_dim), epochs=1, verbose=0)
    assert all(np.isfinite(history.history["loss/D"])) and history.history["updated/D"][-1] == 1.0
    after = weights(gan)
    assert sum(not np.array_equal(a, b) for a, b in zip(before, after)) > len(before) // 2
    assert int(gan.g_optimizer.iterations.numpy()) == int(gan.d_optimizer.iterations.numpy()) == 5


def test_p0_early_stop_skips_updates():
    """p0 = 0: every batch accuracy reaches it, so neither side may change at all."""
    gan = make_gan(p0=0.0)
    history = gan.fit(data(), epochs=1, verbose=0)
    assert history.history["updated/D"] == [0.0] and history.history["updated/G"] == [0.0]
    assert int(gan.d_optimizer.iterations.numpy()) == 0 == int(gan.g_optimizer.iterations.numpy())
    reference = make_gan(p0=None)  # same seeds and weights, no early stop
    trainable = [v.numpy() for v in gan.G.trainable_weights + gan.D.trainable_weights]
    for a, b in zip([v.numpy() for v in reference.G.trainable_weights + reference.D.trainable_weights], trainable):
        np.testing.assert_array_equal(a, b)  # trainable weights untouched (BN's running statistics still move)
    # p0 = 1.0 never triggers: both sides update
    gan = make_gan(p0=1.0)
    history = gan.fit(data(), epochs=1, verbose=0)
    assert history.history["updated/D"] == [1.0] and int(gan.d_optimizer.iterations.numpy()) == 4


def test_soft_and_noisy_labels():
    real, fake = discriminator_targets(20000, 0.9, 0.0, tf.constant([1, 2]))
    assert np.all(real.numpy() == np.float32(0.9)) and np.all(fake.numpy() == 0)
    real, fake = discriminator_targets(20000, 0.9, 0.1, tf.constant([1, 2]))
    flipped = float(np.mean(real.numpy() == 0))
    assert abs(flipped - 0.1) < 0.01 and np.all((real.numpy() == 0) == (fake.numpy() == np.float32(0.9)))
    with pytest.raises(ValueError, match="label_noise"):
        make_gan(label_noise=0.7)


def test_rollback_restores_weights_bit_exactly():
    gan = make_gan()
    gan.fit(data(), epochs=1, verbose=0)
    rollback = AccuracyRollback(patience=3, snapshot_every=1000, label_noise=0.05)
    rollback.set_model(gan)
    rollback.on_train_batch_end(0, {"acc/D": 0.6, "acc/G": 0.4})  # healthy: snapshot taken
    good = [v.numpy().copy() for v in rollback._variables()]
    gan.fit(data(), epochs=1, verbose=0)  # the weights and optimizer state move on
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(good, rollback._variables()))
    for step in range(3):
        rollback.on_train_batch_end(step, {"acc/D": 1.0, "acc/G": 0.0})  # G never fools D
    assert rollback.rollbacks == 1 and "rollback 1" in rollback.events[0]
    for a, v in zip(good, rollback._variables()):
        np.testing.assert_array_equal(a, v.numpy())
    assert float(gan.label_noise.numpy()) == pytest.approx(0.05)
