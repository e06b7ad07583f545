"""Modulated/demodulated convolution (StyleGAN2 Fig. 2c), its layer, and ToRGB.

`modulated_conv2d` is the math. Two equivalent executions:
  * fused: per-sample weights w' = w * s (* d), run as one grouped conv;
  * non-fused: scale activations by s, plain conv, scale by d. This is the
    faster one for training on CPU and exports to TFLite with a dynamic batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE, EqualizedDense, raw_normal
from tf_stylegan.layers.noise import NoiseInjection
from tf_stylegan.ops import bias_act, conv2d_resample, setup_filter
from tf_stylegan.ops.bias_act import activation_spec


def modulated_conv2d(
    x: tf.Tensor,
    weight: tf.Tensor,
    styles: tf.Tensor,
    noise: tf.Tensor | None = None,
    up: int = 1,
    padding: int = 0,
    resample_filter=None,
    demodulate: bool = True,
    fused_modconv: bool = False,
) -> tf.Tensor:
    """Convolves x [N,H,W,I] with weight [k,k,I,O] modulated by styles [N,I].

    Fused execution needs a static batch size; with a dynamic one the
    (mathematically identical) non-fused path runs.
    """
    batch = x.shape[0]
    kh, kw, cin, cout = weight.shape
    weight = tf.cast(weight, x.dtype)
    styles = tf.cast(styles, x.dtype)
    if x.dtype == tf.float16 and demodulate:
        # Pre-normalise so that fp16 cannot overflow; demodulation undoes it.
        max_w = tf.reduce_max(tf.abs(weight), axis=[0, 1, 2], keepdims=True)
        weight = weight * (1.0 / np.sqrt(cin * kh * kw) / max_w)
        styles = styles / tf.reduce_max(tf.abs(styles), axis=1, keepdims=True)

    if not fused_modconv or batch is None:
        dcoefs = None
        if demodulate:  # sum_k,i (w s_i)^2 = s^2 . sum_k w^2
            wsq = tf.reduce_sum(tf.square(weight), axis=[0, 1])  # [I, O]
            dcoefs = tf.math.rsqrt(tf.matmul(tf.square(styles), wsq) + 1e-8)  # [N, O]
        x = x * styles[:, tf.newaxis, tf.newaxis, :]
        x = conv2d_resample(x, weight, f=resample_filter, up=up, padding=padding)
        if dcoefs is not None:
            x = x * dcoefs[:, tf.newaxis, tf.newaxis, :]
        return x if noise is None else x + tf.cast(noise, x.dtype)

    w = weight[tf.newaxis] * styles[:, tf.newaxis, tf.newaxis, :, tf.newaxis]
    if demodulate:
        dcoefs = tf.math.rsqrt(tf.reduce_sum(tf.square(w), axis=[1, 2, 3]) + 1e-8)
        w = w * dcoefs[:, tf.newaxis, tf.newaxis, tf.newaxis, :]
    h, wd = tf.shape(x)[1], tf.shape(x)[2]
    x = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, wd, batch * cin])
    w = tf.reshape(tf.transpose(w, [1, 2, 3, 0, 4]), [kh, kw, cin, batch * cout])
    x = conv2d_resample(x, w, f=resample_filter, up=up, padding=padding, groups=batch)
    x = tf.reshape(x, [tf.shape(x)[1], tf.shape(x)[2], batch, cout])
    x = tf.transpose(x, [2, 0, 1, 3])
    return x if noise is None else x + tf.cast(noise, x.dtype)


def _kernel_and_bias(layer: keras.layers.Layer):
    """The raw N(0, 1) kernel [k, k, in, out] and zero bias of a modulated layer."""
    k = layer.kernel_size
    weight = layer.add_weight(
        name="weight", shape=(k, k, layer.in_channels, layer.out_channels), initializer=raw_normal(1.0)
    )
    return weight, layer.add_weight(name="bias", shape=(layer.out_channels,), initializer="zeros")


@keras.saving.register_keras_serializable(package=PACKAGE)
class ModulatedConv2D(keras.layers.Layer):
    """Style-modulated conv + noise + bias + activation (official SynthesisLayer).

    Args:
      in_channels, out_channels: channel counts.
      w_dim: width of the w vector that drives the style affine.
      resolution: output resolution (for the constant noise buffer).
      kernel_size: square kernel width (3).
      up: 1, or 2 for the first conv of a block.
      use_noise: add per-pixel noise scaled by a learned `noise_strength`.
      activation: a `tf_stylegan.ops.ACTIVATIONS` key.
      resample_filter: FIR taps for upsampling.
      conv_clamp: clamp the output to +-conv_clamp (times `gain`).
      demodulate: weight demodulation (StyleGAN2's replacement for AdaIN).

    `call(x, w, noise_mode="random"|"const"|"none", fused_modconv=False, gain=1)`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        activation: str = "lrelu",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        demodulate: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        self.kernel_size = int(kernel_size)
        self.up = int(up)
        self.use_noise = bool(use_noise)
        self.activation = activation
        self.resample_filter = [float(v) for v in resample_filter]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.demodulate = bool(demodulate)
        self.act_gain = activation_spec(activation).def_gain
        self.filter = setup_filter(self.resample_filter)
        self.affine = EqualizedDense(w_dim, in_channels, bias_init=1.0, name="affine")
        self.noise = NoiseInjection(resolution, name="noise") if use_noise else None

    def build(self, input_shape=None):
        self.affine.build()
        if self.noise is not None:
            self.noise.build()
        self.weight, self.bias = _kernel_and_bias(self)
        self.built = True

    def call(self, x, w, noise_mode="random", fused_modconv=False, gain=1.0, seed=None):
        styles = self.affine(w)
        noise = None
        if self.noise is not None:
            noise = self.noise(tf.shape(x)[0], noise_mode=noise_mode, seed=seed)
        x = modulated_conv2d(
            x, self.weight, styles, noise=noise, up=self.up,
            padding=self.kernel_size // 2, resample_filter=self.filter,
            demodulate=self.demodulate, fused_modconv=fused_modconv,
        )
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        b = tf.cast(self.bias, x.dtype)
        return bias_act(x, b, act=self.activation, gain=self.act_gain * gain, clamp=clamp)

    def get_config(self):
        return {
            **super().get_config(),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "w_dim": self.w_dim,
            "resolution": self.resolution,
            "kernel_size": self.kernel_size,
            "up": self.up,
            "use_noise": self.use_noise,
            "activation": self.activation,
            "resample_filter": self.resample_filter,
            "conv_clamp": self.conv_clamp,
            "demodulate": self.demodulate,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class ToRGB(keras.layers.Layer):
    """Modulated 1x1 conv to image channels, without demodulation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        kernel_size: int = 1,
        conv_clamp: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.kernel_size = int(kernel_size)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.weight_gain = 1.0 / np.sqrt(self.in_channels * self.kernel_size**2)
        self.affine = EqualizedDense(w_dim, in_channels, bias_init=1.0, name="affine")

    def build(self, input_shape=None):
        self.affine.build()
        self.weight, self.bias = _kernel_and_bias(self)
        self.built = True

    def call(self, x, w, fused_modconv=False):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(
            x, self.weight, styles, padding=self.kernel_size // 2,
            demodulate=False, fused_modconv=fused_modconv,
        )
        return bias_act(x, tf.cast(self.bias, x.dtype), clamp=self.conv_clamp)

    def get_config(self):
        return {
            **super().get_config(),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "w_dim": self.w_dim,
            "kernel_size": self.kernel_size,
            "conv_clamp": self.conv_clamp,
        }
