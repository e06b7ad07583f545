"""Per-pixel noise input with a learned strength (StyleGAN's "B" inputs)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.ops.random import fold, replica_normal

NOISE_MODES = ("random", "const", "none")


@keras.saving.register_keras_serializable(package=PACKAGE)
class NoiseInjection(keras.layers.Layer):
    """Makes the noise image added after a modulated conv.

    Holds a trainable `noise_strength` (initialised 0): one scalar (StyleGAN2),
    or one per channel with `channels` (the original StyleGAN), and one stored
    noise image `noise_const` [R, R] for reproducible output.

    `call(batch, noise_mode, seed)` returns [batch, R, R, 1 or channels] noise or None:
      random: fresh N(0, 1) noise, from `seed`: a keras SeedGenerator, or a
              stateless seed tensor (training: replica-independent draws);
      const:  the stored buffer;
      none:   no noise.
    """

    def __init__(self, resolution: int, channels: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.resolution = int(resolution)
        self.channels = None if channels is None else int(channels)

    def build(self, input_shape=None):
        r = self.resolution
        self.noise_strength = self.add_weight(
            name="noise_strength", shape=() if self.channels is None else (self.channels,), initializer="zeros"
        )
        self.noise_const = self.add_weight(
            name="noise_const", shape=(r, r), initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
        )
        self.built = True

    def call(self, batch, noise_mode="random", seed=None):
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}.")
        r = self.resolution
        strength = tf.cast(self.noise_strength, self.compute_dtype)
        if noise_mode == "none":
            return None
        if noise_mode == "const":
            return tf.cast(self.noise_const, self.compute_dtype)[tf.newaxis, :, :, tf.newaxis] * strength
        shape = tf.stack([batch, r, r, 1])
        if isinstance(seed, (tf.Tensor, tf.Variable)):
            noise = replica_normal(shape, fold(seed, self.path or self.name), self.compute_dtype)
        else:
            noise = keras.random.normal(shape, seed=seed, dtype=self.compute_dtype)
        return noise * strength

    def get_config(self):
        return {**super().get_config(), "resolution": self.resolution, "channels": self.channels}


@contextlib.contextmanager
def borrowed_noise(model: keras.Layer) -> Iterator[list[NoiseInjection]]:
    """Yields the model's NoiseInjection layers; their stored noise maps are restored on exit.

    For code that overwrites or optimises the stored maps for a while (PPL, projection).
    """
    layers = [layer for layer in model._flatten_layers() if isinstance(layer, NoiseInjection)]
    saved = [layer.noise_const.numpy() for layer in layers]
    try:
        yield layers
    finally:
        for layer, value in zip(layers, saved):
            layer.noise_const.assign(value)
