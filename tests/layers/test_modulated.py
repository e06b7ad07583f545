import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy_ref import conv2d, upfirdn2d

from tf_stylegan.layers import ModulatedConv2D, NoiseInjection, ToRGB, modulated_conv2d
from tf_stylegan.ops import setup_filter

F = setup_filter([1, 3, 3, 1])


def reference(x, weight, styles, demodulate, up):
    """Per-sample modulated weights, as written in the paper (Eq. 1-3)."""
    out = []
    for n in range(x.shape[0]):
        w = weight * styles[n][None, None, :, None]
        if demodulate:
            w = w / np.sqrt((w**2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)
        xi = x[n : n + 1]
        if up == 2:
            xi = upfirdn2d(xi, F, up=2, pad=(3, 2, 3, 2), gain=4)
        else:
            xi = np.pad(xi, [(0, 0), (1, 1), (1, 1), (0, 0)])
        out.append(conv2d(xi, w))
    return np.concatenate(out)


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("fused", [False, True])
def test_modulated_conv_matches_paper_formula(up, demodulate, fused):
    x = np.random.randn(3, 5, 5, 4).astype(np.float32)
    weight = np.random.randn(3, 3, 4, 6).astype(np.float32)
    styles = np.random.randn(3, 4).astype(np.float32)
    got = modulated_conv2d(
        tf.constant(x), weight, styles, up=up, padding=1, resample_filter=F,
        demodulate=demodulate, fused_modconv=fused,
    ).numpy()
    np.testing.assert_allclose(got, reference(x, weight, styles, demodulate, up), rtol=1e-4, atol=1e-4)


def test_fused_with_dynamic_batch_falls_back_to_identical_math():
    weight = np.random.randn(3, 3, 4, 6).astype(np.float32)
    fn = tf.function(
        lambda x, s: modulated_conv2d(x, weight, s, padding=1, fused_modconv=True),
        input_signature=[tf.TensorSpec([None, 5, 5, 4]), tf.TensorSpec([None, 4])],
    )
    x, s = np.random.randn(2, 5, 5, 4).astype(np.float32), np.random.randn(2, 4).astype(np.float32)
    np.testing.assert_allclose(fn(x, s).numpy(), reference(x, weight, s, True, 1), rtol=1e-4, atol=1e-4)


def test_synthesis_layer_noise_modes():
    layer = ModulatedConv2D(4, 6, w_dim=8, resolution=5)
    layer.build()
    layer.noise.noise_strength.assign(0.7)
    x = np.random.randn(2, 5, 5, 4).astype(np.float32)
    w = np.random.randn(2, 8).astype(np.float32)
    none = layer(x, w, noise_mode="none").numpy()
    const1 = layer(x, w, noise_mode="const").numpy()
    const2 = layer(x, w, noise_mode="const").numpy()
    rand1 = layer(x, w, noise_mode="random").numpy()
    rand2 = layer(x, w, noise_mode="random").numpy()
    np.testing.assert_array_equal(const1, const2)
    assert not np.allclose(const1, none) and not np.allclose(rand1, rand2)
    with pytest.raises(ValueError, match="noise_mode"):
        layer(x, w, noise_mode="fixed")


def test_noise_const_is_standard_normal_buffer():
    noise = NoiseInjection(64)
    noise.build()
    assert not noise.noise_const.trainable and noise.noise_strength.trainable
    assert 0.9 < float(np.std(noise.noise_const.numpy())) < 1.1


def test_torgb_is_unmodulated_1x1_with_style_gain():
    layer = ToRGB(4, 3, w_dim=8)
    layer.build()
    x = np.random.randn(2, 3, 3, 4).astype(np.float32)
    w = np.random.randn(2, 8).astype(np.float32)
    styles = layer.affine(w).numpy() / 2.0  # 1/sqrt(in_channels * 1 * 1)
    expected = np.einsum("nhwi,io,ni->nhwo", x, layer.weight.numpy()[0, 0], styles)
    np.testing.assert_allclose(layer(x, w).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "layer",
    [ModulatedConv2D(4, 6, w_dim=8, resolution=8, up=2, conv_clamp=256.0), ToRGB(4, 3, w_dim=8)],
)
def test_config_round_trip(layer):
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert clone.get_config() == layer.get_config()
