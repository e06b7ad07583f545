import keras
import numpy as np
import pytest
from numpy_ref import conv2d, lrelu

from tf_stylegan.layers import EqualizedConv2D, EqualizedDense


def test_dense_applies_runtime_gain_to_raw_weights():
    layer = EqualizedDense(8, 4, activation="lrelu", lr_multiplier=0.01, bias_init=0.5)
    x = np.random.randn(3, 8).astype(np.float32)
    y = layer(x).numpy()
    w, b = layer.weight.numpy(), layer.bias.numpy()
    # Raw storage: weights N(0, 1/lr_mul^2), bias = bias_init; gains applied at run time.
    assert 30 < w.std() < 300 and np.allclose(b, 0.5)
    expected = lrelu(x @ (w * 0.01 / np.sqrt(8)) + b * 0.01) * np.sqrt(2)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_conv_gain_and_clamp():
    layer = EqualizedConv2D(3, 5, 3, activation="lrelu", conv_clamp=0.5)
    x = np.random.randn(2, 6, 6, 3).astype(np.float32) * 10
    y = layer(x, gain=0.5).numpy()
    w = layer.weight.numpy() / np.sqrt(27)
    pre = conv2d(np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)]), w)
    expected = np.clip(lrelu(pre) * np.sqrt(2) * 0.5, -0.25, 0.25)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "layer",
    [
        EqualizedDense(6, 3, bias=False, activation="relu", lr_multiplier=0.1),
        EqualizedConv2D(3, 4, 3, down=2, resample_filter=[1, 2, 1], conv_clamp=256),
    ],
)
def test_config_round_trip(layer):
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert keras.saving.get_registered_name(layer.__class__).startswith("tf_stylegan>")
