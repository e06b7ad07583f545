"""Equalized-learning-rate dense and conv layers (ProGAN / StyleGAN2).

Weights are stored raw, as the official code stores them: initialised
N(0, 1) / lr_multiplier, with the runtime gain lr_multiplier / sqrt(fan_in)
applied in `call`. Official weights therefore load by transposition alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.ops import bias_act, conv2d_resample, setup_filter
from tf_stylegan.ops.bias_act import activation_spec

PACKAGE = "tf_stylegan"


def raw_normal(lr_multiplier: float) -> keras.initializers.Initializer:
    """N(0, 1) / lr_multiplier, the official raw-weight initialisation."""
    return keras.initializers.RandomNormal(stddev=1.0 / lr_multiplier)


@keras.saving.register_keras_serializable(package=PACKAGE)
class EqualizedDense(keras.layers.Layer):
    """Fully connected layer with equalized LR (the official FullyConnectedLayer).

    Args:
      in_features: input width (fixed at construction so weights build eagerly).
      out_features: output width.
      bias: whether to add a bias.
      activation: a `tf_stylegan.ops.ACTIVATIONS` key.
      lr_multiplier: learning-rate multiplier (0.01 in the mapping network).
      bias_init: initial bias value (1 for style affines, so styles start at 1).

    Example:
      >>> y = EqualizedDense(8, 4, activation="lrelu")(tf.ones([2, 8]))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        activation_spec(activation)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.use_bias = bool(bias)
        self.activation = activation
        self.lr_multiplier = float(lr_multiplier)
        self.bias_init = float(bias_init)
        self.weight_gain = self.lr_multiplier / np.sqrt(self.in_features)

    def build(self, input_shape=None):
        self.weight = self.add_weight(
            name="weight",
            shape=(self.in_features, self.out_features),
            initializer=raw_normal(self.lr_multiplier),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.out_features,),
                initializer=keras.initializers.Constant(self.bias_init),
            )
        self.built = True

    def call(self, x):
        w = tf.cast(self.weight, x.dtype) * self.weight_gain
        x = tf.matmul(x, w)
        if self.bias is None:
            return bias_act(x, None, act=self.activation)
        b = tf.cast(self.bias, x.dtype) * self.lr_multiplier
        return bias_act(x, b, act=self.activation)

    def get_config(self):
        return {
            **super().get_config(),
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.use_bias,
            "activation": self.activation,
            "lr_multiplier": self.lr_multiplier,
            "bias_init": self.bias_init,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class EqualizedConv2D(keras.layers.Layer):
    """Conv layer with equalized LR and FIR up/downsampling (Conv2dLayer).

    Args:
      in_channels, out_channels: channel counts.
      kernel_size: square kernel width.
      bias: whether to add a bias.
      activation: a `tf_stylegan.ops.ACTIVATIONS` key.
      up, down: resampling factor (1 or 2).
      resample_filter: 1-D FIR taps, [1, 3, 3, 1] by default.
      conv_clamp: clamp the output to +-conv_clamp (scaled by `gain`).

    `call(x, gain=1)` multiplies the activation gain, as the resnet blocks need.

    Example:
      >>> y = EqualizedConv2D(3, 8, 3, activation="lrelu", down=2)(tf.ones([1, 8, 8, 3]))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: str = "linear",
        up: int = 1,
        down: int = 1,
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = int(kernel_size)
        self.use_bias = bool(bias)
        self.activation = activation
        self.up = int(up)
        self.down = int(down)
        self.resample_filter = [float(v) for v in resample_filter]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.act_gain = activation_spec(activation).def_gain
        self.weight_gain = 1.0 / np.sqrt(self.in_channels * self.kernel_size**2)
        self.filter = setup_filter(self.resample_filter)

    def build(self, input_shape=None):
        k = self.kernel_size
        self.weight = self.add_weight(
            name="weight",
            shape=(k, k, self.in_channels, self.out_channels),
            initializer=raw_normal(1.0),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.out_channels,), initializer="zeros"
            )
        self.built = True

    def call(self, x, gain: float = 1.0):
        w = tf.cast(self.weight, x.dtype) * self.weight_gain
        x = conv2d_resample(
            x, w, f=self.filter, up=self.up, down=self.down, padding=self.kernel_size // 2
        )
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        b = None if self.bias is None else tf.cast(self.bias, x.dtype)
        return bias_act(x, b, act=self.activation, gain=self.act_gain * gain, clamp=clamp)

    def get_config(self):
        return {
            **super().get_config(),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "bias": self.use_bias,
            "activation": self.activation,
            "up": self.up,
            "down": self.down,
            "resample_filter": self.resample_filter,
            "conv_clamp": self.conv_clamp,
        }
