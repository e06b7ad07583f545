"""The original StyleGAN's synthesis layer: conv, noise, bias, LeakyReLU, instance norm, AdaIN.

StyleGAN (Karras et al. 2019) styles each layer by adaptive instance
normalisation: the activations are normalised per sample and channel, then
scaled and shifted by an affine function of w. StyleGAN2 replaced this with
weight demodulation (layers/modulated.py); the paper's config A is this layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE, EqualizedConv2D, EqualizedDense
from tf_stylegan.layers.noise import NoiseInjection
from tf_stylegan.ops import filter2d, setup_filter
from tf_stylegan.ops.bias_act import bias_act
from tf_stylegan.ops.box import upsample_nearest


def instance_norm(x: tf.Tensor, eps: float = 1e-8) -> tf.Tensor:
    """NHWC: zero mean and unit second moment over H, W for every sample and channel."""
    x = x - tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=[1, 2], keepdims=True) + eps)


@keras.saving.register_keras_serializable(package=PACKAGE)
class AdaINLayer(keras.layers.Layer):
    """[nearest 2x up] [3x3 conv, blur] + per-channel noise + bias + lrelu + instance norm + style.

    Args:
      in_channels, out_channels: channel counts (equal for the first 4x4 layer, which has no conv).
      w_dim: width of w, mapped to a per-channel (scale, shift) by an equalized dense layer.
      resolution: output resolution (for the stored noise).
      conv: False for the first layer, which styles the learned constant directly.
      up: 2 to upsample (nearest neighbour, then conv, then blur, as officially below 128 px).
      use_noise: per-pixel noise with a learned per-channel strength.
      blur_filter: the low-pass filter after upsampling ([1, 2, 1]).

    `call(x, w, noise_mode="random"|"const"|"none", seed=None)`.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, conv: bool = True,
                 up: int = 1, use_noise: bool = True, blur_filter: Sequence[float] = (1, 2, 1), **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.w_dim = int(in_channels), int(out_channels), int(w_dim)
        self.resolution, self.use_conv, self.up, self.use_noise = int(resolution), bool(conv), int(up), bool(use_noise)
        self.blur_filter = [float(v) for v in blur_filter]
        if not self.use_conv and (self.in_channels != self.out_channels or self.up != 1):
            raise ValueError("AdaINLayer: without a conv, in_channels must equal out_channels and up must be 1.")
        self.filter = setup_filter(self.blur_filter)
        self.conv = (EqualizedConv2D(self.in_channels, self.out_channels, 3, bias=False, name="conv")
                     if self.use_conv else None)
        self.noise = NoiseInjection(resolution, channels=self.out_channels, name="noise") if use_noise else None
        self.style = EqualizedDense(self.w_dim, 2 * self.out_channels, name="style")

    def build(self, input_shape=None):
        for layer in (self.conv, self.noise, self.style):
            if layer is not None:
                layer.build()
        self.bias = self.add_weight(name="bias", shape=(self.out_channels,), initializer="zeros")
        self.built = True

    def call(self, x, w, noise_mode: str = "random", seed=None):
        if self.conv is not None:
            if self.up > 1:
                x = upsample_nearest(x, self.up)
            x = self.conv(x)
            if self.up > 1:
                x = filter2d(x, self.filter)
        if self.noise is not None:
            noise = self.noise(tf.shape(x)[0], noise_mode=noise_mode, seed=seed)
            if noise is not None:
                x = x + noise
        x = instance_norm(bias_act(x, tf.cast(self.bias, x.dtype), act="lrelu"))
        style = tf.cast(self.style(tf.cast(w, self.compute_dtype)), x.dtype)
        scale, shift = style[:, : self.out_channels], style[:, self.out_channels :]
        return x * (scale[:, None, None, :] + 1) + shift[:, None, None, :]

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels, "out_channels": self.out_channels,
                "w_dim": self.w_dim, "resolution": self.resolution, "conv": self.use_conv, "up": self.up,
                "use_noise": self.use_noise, "blur_filter": self.blur_filter}
