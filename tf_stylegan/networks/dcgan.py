"""DCGAN (Radford et al. 2015) and its conditional variant, the anime-face baselines.

G: z (concatenated with the label vector c for a CGAN) -> 4x4 by a transposed
convolution, then stride-2 transposed convolutions (kernel 4) with batch norm
and ReLU that halve the channels while doubling the resolution, and a tanh RGB
layer. D: stride-2 convolutions with LeakyReLU(0.2) (batch norm on all but the
first), then one logit; a conditional D adds a projection term
<embed(c), features> (Miyato & Koyama 2018), which works for one-hot classes
and multi-hot tags alike. Images are NHWC in [-1, 1], like the StyleGAN2 nets,
and G takes the same call arguments, so the tools treat both alike.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE


def _levels(img_resolution: int) -> int:
    levels = int(math.log2(img_resolution)) - 2
    if img_resolution < 8 or 2 ** (levels + 2) != img_resolution:
        raise ValueError(f"DCGAN: img_resolution must be a power of two >= 8, got {img_resolution}.")
    return levels


class _Init:
    """N(0, 0.02) (the DCGAN paper's initialisation), seeded per layer so that a
    network built twice with the same seed has the same weights."""

    def __init__(self, seed: int | None):
        self.seed, self.count = seed, 0

    def __call__(self):
        self.count += 1
        seed = None if self.seed is None else self.seed * 1000 + self.count
        return keras.initializers.RandomNormal(0.0, 0.02, seed=seed)


@keras.saving.register_keras_serializable(package=PACKAGE)
class DCGANGenerator(keras.Model):
    """z [N, z_dim] (+ c [N, c_dim]) -> images [N, R, R, img_channels] in [-1, 1]."""

    def __init__(self, z_dim: int = 100, c_dim: int = 0, img_resolution: int = 64, img_channels: int = 3,
                 base_channels: int = 64, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.z_dim, self.c_dim, self.seed = z_dim, c_dim, seed
        _init = _Init(seed)
        self.img_resolution, self.img_channels, self.base_channels = img_resolution, img_channels, base_channels
        levels = _levels(img_resolution)
        channels = base_channels * 2 ** (levels - 1)
        self.stem = keras.layers.Conv2DTranspose(channels, 4, padding="valid", use_bias=False,
                                                 kernel_initializer=_init(), name="stem")
        self.stem_bn = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="stem_bn")
        self.ups, self.bns = [], []
        for i in range(levels - 1):
            channels //= 2
            self.ups.append(keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", use_bias=False,
                                                         kernel_initializer=_init(), name=f"up{i}"))
            self.bns.append(keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"bn{i}"))
        self.to_rgb = keras.layers.Conv2DTranspose(img_channels, 4, strides=2, padding="same",
                                                   kernel_initializer=_init(), name="to_rgb")

    def call(self, z, c=None, truncation_psi: float = 1.0, noise_mode: str = "const", training=False, **kwargs):
        """truncation_psi and noise_mode exist for the StyleGAN2 call signature; DCGAN has neither."""
        if self.c_dim:
            if c is None:
                raise ValueError(f"DCGANGenerator is conditional (c_dim={self.c_dim}); pass c.")
            z = tf.concat([z, tf.cast(c, z.dtype)], axis=-1)
        return self._synthesize(z, training)

    def _synthesize(self, zc, training=False):
        x = tf.reshape(zc, [-1, 1, 1, zc.shape[-1]])
        x = tf.nn.relu(self.stem_bn(self.stem(x), training=training))
        for up, bn in zip(self.ups, self.bns):
            x = tf.nn.relu(bn(up(x), training=training))
        return tf.tanh(self.to_rgb(x))

    def build(self, input_shape=None):
        self._synthesize(tf.zeros([1, self.z_dim + self.c_dim]))  # creates every sublayer's weights
        self.built = True

    def build_from_config(self, config):
        self.build()

    def get_config(self):
        return {**super().get_config(), "z_dim": self.z_dim, "c_dim": self.c_dim,
                "img_resolution": self.img_resolution, "img_channels": self.img_channels,
                "base_channels": self.base_channels, "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DCGANDiscriminator(keras.Model):
    """images [N, R, R, C] (+ c) -> logits [N, 1]; projection conditioning when c_dim > 0."""

    def __init__(self, c_dim: int = 0, img_resolution: int = 64, img_channels: int = 3, base_channels: int = 64,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.c_dim, self.img_resolution, self.seed = c_dim, img_resolution, seed
        _init = _Init(None if seed is None else seed + 1)
        self.img_channels, self.base_channels = img_channels, base_channels
        levels = _levels(img_resolution)
        self.convs, self.bns = [], []
        for i in range(levels):
            self.convs.append(keras.layers.Conv2D(base_channels * 2**i, 4, strides=2, padding="same",
                                                  use_bias=i == 0, kernel_initializer=_init(), name=f"conv{i}"))
            self.bns.append(None if i == 0 else keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                                                                name=f"bn{i}"))
        self.flatten = keras.layers.Flatten()
        self.out = keras.layers.Dense(1, kernel_initializer=_init(), name="out")
        features = base_channels * 2 ** (levels - 1) * 16
        self.embed = (keras.layers.Dense(features, use_bias=False, kernel_initializer=_init(), name="embed")
                      if c_dim else None)

    def _features(self, images, training=False):
        x = images
        for conv, bn in zip(self.convs, self.bns):
            x = conv(x)
            if bn is not None:
                x = bn(x, training=training)
            x = tf.nn.leaky_relu(x, 0.2)
        return self.flatten(x)

    def build(self, input_shape=None):
        r = self.img_resolution
        h = self._features(tf.zeros([1, r, r, self.img_channels]))
        self.out.build(h.shape)
        if self.embed is not None:
            self.embed.build((None, self.c_dim))
        self.built = True

    def build_from_config(self, config):
        self.build()

    def call(self, images, c=None, training=False, **kwargs):
        h = self._features(images, training)
        logits = self.out(h)
        if self.c_dim:
            if c is None:
                raise ValueError(f"DCGANDiscriminator is conditional (c_dim={self.c_dim}); pass c.")
            logits += tf.reduce_sum(self.embed(tf.cast(c, h.dtype)) * h, axis=-1, keepdims=True)
        return logits

    def get_config(self):
        return {**super().get_config(), "c_dim": self.c_dim, "img_resolution": self.img_resolution,
                "img_channels": self.img_channels, "base_channels": self.base_channels, "seed": self.seed}
