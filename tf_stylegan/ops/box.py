"""ProGAN's resampling: nearest-neighbour up, box (average) down, and the fade blend."""

from __future__ import annotations

import tensorflow as tf


def upsample_nearest(images: tf.Tensor, factor: int = 2) -> tf.Tensor:
    """NHWC nearest-neighbour upsampling by an integer factor (ProGAN's upscale2d)."""
    if factor == 1:
        return images
    return tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)


def downsample_box(images: tf.Tensor, factor: int = 2) -> tf.Tensor:
    """NHWC average over factor x factor blocks (ProGAN's downscale2d)."""
    if factor == 1:
        return images
    return tf.nn.avg_pool2d(images, factor, factor, "VALID")


def fade(low: tf.Tensor, high: tf.Tensor, alpha) -> tf.Tensor:
    """The fade-in blend: `low` at alpha 0, `high` at alpha 1."""
    alpha = tf.cast(alpha, high.dtype)
    return low + (high - low) * alpha
