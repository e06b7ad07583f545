"""Feature normalisations: 2nd-moment (pixel) norm and minibatch stddev."""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE


def normalize_2nd_moment(x: tf.Tensor, axis: int = -1, eps: float = 1e-8) -> tf.Tensor:
    """x / sqrt(mean(x^2) + eps) along `axis` (the mapping net's z normalisation)."""
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=axis, keepdims=True) + eps)


@keras.saving.register_keras_serializable(package=PACKAGE)
class PixelNorm(keras.layers.Layer):
    """ProGAN's pixelwise feature normalisation over the channel axis."""

    def __init__(self, eps: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, x):
        return normalize_2nd_moment(x, axis=-1, eps=self.eps)

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MinibatchStdDev(keras.layers.Layer):
    """Appends the minibatch standard deviation as extra feature maps.

    Samples are grouped with a stride, as the official code does: the batch is
    reshaped to [G, N/G, ...], so sample i sits with samples i + N/G, ...
    Channels are split into `num_channels` groups, each giving one new map.

    Args:
      group_size: samples per group; None = the whole batch. Capped at N.
      num_channels: number of new feature maps.
    """

    def __init__(self, group_size: int | None = 4, num_channels: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.group_size = None if group_size is None else int(group_size)
        self.num_channels = int(num_channels)

    def call(self, x):
        shape = tf.shape(x)
        n, h, w = shape[0], shape[1], shape[2]
        c = x.shape[-1]
        f = self.num_channels
        if c % f:
            raise ValueError(f"MinibatchStdDev: {c} channels not divisible by {f} groups.")
        g = n if self.group_size is None else tf.minimum(self.group_size, n)
        tf.debugging.assert_equal(
            n % g, 0, message="MinibatchStdDev: the batch size must be divisible by the group size"
        )
        y = tf.reshape(x, [g, -1, h, w, f, c // f])
        y = y - tf.reduce_mean(y, axis=0)
        y = tf.reduce_mean(tf.square(y), axis=0)
        y = tf.sqrt(y + 1e-8)
        y = tf.reduce_mean(y, axis=[1, 2, 4])  # [n, F]
        y = tf.tile(y[tf.newaxis, :, tf.newaxis, tf.newaxis, :], [g, 1, h, w, 1])
        y = tf.reshape(y, [n, h, w, f])
        return tf.concat([x, y], axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "group_size": self.group_size,
            "num_channels": self.num_channels,
        }
