import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.networks import Discriminator, Generator
from tf_stylegan.networks.inference import frozen_generator

SMALL = dict(img_resolution=16, channel_base=256, channel_max=32)
ARCHS = ["orig", "skip", "resnet"]


def make(arch, c_dim, **extra):
    G = Generator(z_dim=16, w_dim=16, c_dim=c_dim, mapping_layers=2, architecture=arch, **SMALL, **extra)
    D = Discriminator(c_dim=c_dim, architecture=arch, mbstd_group_size=2, mapping_layers=1, **SMALL)
    return G, D


def inputs(c_dim, n=4):
    z = tf.constant(np.random.randn(n, 16).astype(np.float32))
    c = tf.one_hot(np.arange(n) % c_dim, c_dim) if c_dim else None
    return z, c


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("c_dim", [0, 3])
def test_shapes_and_serialization(arch, c_dim, tmp_path):
    G, D = make(arch, c_dim)
    z, c = inputs(c_dim)
    ws = G.mapping(z, c)
    assert ws.shape == (4, G.num_ws, 16) and G.num_ws == 6  # 2 * log2(16) - 2
    img = G.synthesis(ws, noise_mode="const")
    assert img.shape == (4, 16, 16, 3) and img.dtype == tf.float32
    logits = D(img, c)
    assert logits.shape == (4, 1)
    G.save(tmp_path / "G.keras")
    D.save(tmp_path / "D.keras")
    G2 = keras.models.load_model(tmp_path / "G.keras")
    D2 = keras.models.load_model(tmp_path / "D.keras")
    assert isinstance(G2, Generator) and isinstance(D2, Discriminator)
    kw = dict(truncation_psi=0.7, noise_mode="const")
    np.testing.assert_array_equal(G2(z, c, **kw), G(z, c, **kw))
    np.testing.assert_array_equal(D2(img, c), logits)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("c_dim", [0, 3])
def test_gradients_reach_every_weight_including_second_order(arch, c_dim):
    G, D = make(arch, c_dim)
    z, c = inputs(c_dim)
    with tf.GradientTape(persistent=True) as tape:
        img = G(z, c, noise_mode="random")
        loss_g = tf.reduce_mean(tf.nn.softplus(-D(img, c)))
    for model, loss in ((G, loss_g),):
        grads = tape.gradient(loss, model.trainable_variables)
        missing = [v.path for v, g in zip(model.trainable_variables, grads) if g is None]
        assert not missing, missing
        assert all(np.all(np.isfinite(g)) for g in grads)
    # R1: the penalty is a gradient w.r.t. the input, differentiated w.r.t. D's weights.
    real = tf.random.normal([4, 16, 16, 3])
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(real)
            score = tf.reduce_sum(D(real, c))
        r1 = tf.reduce_sum(tf.square(inner.gradient(score, real)))
    grads = outer.gradient(r1, D.trainable_variables)
    # Only the output bias cannot influence the input gradient.
    assert [v.path for v, g in zip(D.trainable_variables, grads) if g is None] == [D.b4.out.bias.path]
    assert all(np.all(np.isfinite(g)) for g in grads if g is not None)


def test_path_length_second_order_through_synthesis():
    G, _ = make("skip", 0)
    z, _ = inputs(0)
    ws = G.mapping(z)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(ws)
            img = G.synthesis(ws, noise_mode="const")
            noise = tf.random.normal(tf.shape(img)) / 16.0
            dot = tf.reduce_sum(img * noise)
        lengths = tf.sqrt(tf.reduce_sum(tf.square(inner.gradient(dot, ws)), axis=2))
        penalty = tf.reduce_mean(lengths)
    grads = outer.gradient(penalty, G.synthesis.trainable_variables)
    assert sum(g is not None for g in grads) > 0.8 * len(grads)


def test_truncation_and_cutoff_and_w_avg_tracking():
    G, _ = make("skip", 0)
    z, _ = inputs(0)
    G.mapping.w_avg.assign(np.random.randn(16).astype(np.float32))
    w_avg = G.mapping.w_avg.numpy()
    ws = G.mapping(z).numpy()
    np.testing.assert_allclose(G.mapping(z, truncation_psi=0.0).numpy(), np.broadcast_to(w_avg, ws.shape), atol=1e-6)
    half = G.mapping(z, truncation_psi=0.5, truncation_cutoff=2).numpy()
    np.testing.assert_allclose(half[:, :2], w_avg + 0.5 * (ws[:, :2] - w_avg), atol=1e-5)
    np.testing.assert_array_equal(half[:, 2:], ws[:, 2:])
    G.mapping(z, update_w_avg=True)
    expected = ws[:, 0].mean(0) + (w_avg - ws[:, 0].mean(0)) * 0.995
    np.testing.assert_allclose(G.mapping.w_avg.numpy(), expected, atol=1e-5)


def test_fused_and_non_fused_agree():
    G, _ = make("resnet", 3)
    z, c = inputs(3)
    a = G(z, c, noise_mode="const", fused_modconv=False)
    b = G(z, c, noise_mode="const", fused_modconv=True)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_bfloat16_top_resolutions_stay_close_to_float32():
    G32, D32 = make("skip", 0)
    Gbf, _ = make("skip", 0, num_fp16_res=2, lowp_dtype="mixed_bfloat16")
    Gbf.set_weights(G32.get_weights())
    assert Gbf.synthesis.b16.compute_dtype == "bfloat16" and Gbf.synthesis.b4.compute_dtype == "float32"
    z, _ = inputs(0)
    a = G32(z, noise_mode="const").numpy()
    b = Gbf(z, noise_mode="const").numpy()
    assert b.dtype == np.float32
    assert np.sqrt(np.mean((a - b) ** 2) / np.mean(a**2)) < 0.02


def test_frozen_generator_is_exact():
    G, _ = make("skip", 3)
    z, c = inputs(3)
    frozen = frozen_generator(G, truncation_psi=0.6)
    np.testing.assert_allclose(frozen(z, c), G(z, c, truncation_psi=0.6, noise_mode="const"), atol=1e-5)
    with pytest.raises(ValueError, match="random"):
        frozen_generator(G, noise_mode="random")


def test_clear_errors_for_bad_inputs():
    G, D = make("skip", 3)
    z, c = inputs(3)
    with pytest.raises(ValueError, match="pass c"):
        G(z)
    with pytest.raises(ValueError, match=r"expected \[N, 16\]"):
        G(tf.zeros([2, 5]), c[:2])
    with pytest.raises(ValueError, match="ws has shape"):
        G.synthesis(tf.zeros([2, 3, 16]))
    with pytest.raises(ValueError, match="images have shape"):
        D(tf.zeros([2, 8, 8, 3]), c[:2])
    with pytest.raises(ValueError, match="architecture"):
        Generator(architecture="stylegan3", **SMALL)
    with pytest.raises(ValueError, match="power of two"):
        Discriminator(img_resolution=24)
