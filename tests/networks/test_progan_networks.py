"""ProGAN networks: the fade-in at alpha 0 and 1, any stage resolution, serialisation, bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.networks.progan import ProGANDiscriminator, ProGANGenerator
from tf_stylegan.ops.box import downsample_box, upsample_nearest

NET = dict(img_resolution=16, channel_base=256, channel_max=32)


@pytest.fixture(scope="module")
def nets():
    keras.utils.set_random_seed(0)
    return ProGANGenerator(z_dim=16, **NET), ProGANDiscriminator(**NET)


@pytest.mark.parametrize("res", [8, 16])
def test_generator_fade_in_ends(nets, res):
    G, _ = nets
    z = tf.random.stateless_normal([4, 16], [0, res])
    low = G(z, resolution=res // 2).numpy()
    new = G(z, resolution=res).numpy()
    np.testing.assert_allclose(G(z, resolution=res, alpha=0.0).numpy(), upsample_nearest(low).numpy(), atol=1e-6)
    np.testing.assert_allclose(G(z, resolution=res, alpha=1.0).numpy(), new, atol=1e-6)
    mid = G(z, resolution=res, alpha=0.25).numpy()
    np.testing.assert_allclose(mid, 0.75 * upsample_nearest(low).numpy() + 0.25 * new, atol=1e-5)
    assert np.abs(new - upsample_nearest(low).numpy()).max() > 1e-2  # the two ends differ


@pytest.mark.parametrize("res", [8, 16])
def test_discriminator_fade_in_ends(nets, res):
    _, D = nets
    img = tf.random.stateless_uniform([4, res, res, 3], [1, res], -1, 1)
    low = D(downsample_box(img)).numpy()
    new = D(img).numpy()
    np.testing.assert_allclose(D(img, alpha=0.0).numpy(), low, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(D(img, alpha=1.0).numpy(), new, rtol=1e-5, atol=1e-5)
    assert np.abs(new - low).max() > 1e-3


def test_every_stage_resolution_and_value_ranges(nets):
    G, D = nets
    z = tf.random.stateless_normal([4, 16], [2, 0])
    for res in (4, 8, 16):
        img = G(z, resolution=res)
        assert img.shape == (4, res, res, 3) and img.dtype == tf.float32
        assert D(img).shape == (4, 1)
    assert G(z).shape == (4, 16, 16, 3)  # default: the final resolution


def test_pixel_norm_after_every_generator_conv(nets):
    G, _ = nets
    feats = G._features(tf.random.stateless_normal([2, 16], [3, 0]), 16)
    for x in feats:  # unit second moment over channels at every pixel
        np.testing.assert_allclose(np.mean(np.square(x.numpy()), axis=-1), 1.0, rtol=1e-4)


def test_keras_round_trip_and_checkpoint_hold_every_weight(nets, tmp_path):
    G, D = nets
    z = tf.random.stateless_normal([2, 16], [4, 0])
    for net, x in ((G, z), (D, G(z))):
        net.save(tmp_path / "net.keras")
        loaded = keras.models.load_model(tmp_path / "net.keras")
        np.testing.assert_array_equal(loaded(x).numpy(), net(x).numpy())
    path = tf.train.Checkpoint(G=G, D=D).save(str(tmp_path / "ckpt"))
    stored = [name for name, _ in tf.train.list_variables(path) if name.startswith(("G/", "D/"))]
    assert len(stored) == len(G.weights) + len(D.weights)


def test_bad_input(nets):
    G, D = nets
    z = tf.zeros([2, 16])
    with pytest.raises(ValueError, match="resolution 12"):
        G(z, resolution=12)
    with pytest.raises(ValueError, match="resolution 32"):
        G(z, resolution=32)
    with pytest.raises(ValueError, match="unconditional"):
        G(z, tf.ones([2, 3]))
    with pytest.raises(ValueError, match="expected"):
        D(tf.zeros([2, 16, 16, 1]))
    with pytest.raises(ValueError, match="power of two"):
        ProGANGenerator(img_resolution=24)
