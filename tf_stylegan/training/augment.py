"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout.

Applied to every image D sees, real and generated (and to the reals of R1),
so that D cannot memorise a small dataset while G still learns the
un-augmented distribution. Random parameters are stateless draws for the
global batch (see tf_stylegan.ops.random), so distributed and resumed runs
augment exactly as a single uninterrupted run does.
"""

from __future__ import annotations

import tensorflow as tf

from tf_stylegan.ops.random import fold, replica_uniform

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    parts = tuple(p for p in policy.replace(" ", "").split(",") if p)
    unknown = sorted(set(parts) - set(POLICIES))
    if unknown:
        raise ValueError(f"DiffAugment policy {policy!r}: unknown parts {unknown}; use {','.join(POLICIES)}.")
    return parts


def _uniform(x, seed, name, *shape):
    return replica_uniform(tf.concat([[tf.shape(x)[0]], list(shape)], axis=0), fold(seed, name), x.dtype)


def color(x, seed):
    x = x + (_uniform(x, seed, "brightness", 1, 1, 1) - 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * (_uniform(x, seed, "saturation", 1, 1, 1) * 2) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_uniform(x, seed, "contrast", 1, 1, 1) + 0.5) + mean


def translation(x, seed, ratio: float = 0.125):
    """Shifts each image by up to ratio * size pixels, filling with zeros."""
    h, w = x.shape[1], x.shape[2]
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shifts = _uniform(x, seed, "translation", 2)
    ty = tf.cast(tf.floor(shifts[:, 0] * (2 * sy + 1)), tf.int32)  # 0 .. 2 sy
    tx = tf.cast(tf.floor(shifts[:, 1] * (2 * sx + 1)), tf.int32)
    padded = tf.pad(x, [[0, 0], [sy, sy], [sx, sx], [0, 0]])
    rows = tf.range(h)[tf.newaxis, :] + ty[:, tf.newaxis]
    cols = tf.range(w)[tf.newaxis, :] + tx[:, tf.newaxis]
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1)


def cutout(x, seed, ratio: float = 0.5):
    """Zeroes a random square of side ratio * size in each image."""
    h, w = x.shape[1], x.shape[2]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    centre = _uniform(x, seed, "cutout", 2)
    cy = tf.cast(tf.floor(centre[:, 0] * (h + 1 - ch % 2)), tf.int32)
    cx = tf.cast(tf.floor(centre[:, 1] * (w + 1 - cw % 2)), tf.int32)
    ys = tf.range(h)[tf.newaxis, :] - (cy[:, tf.newaxis] - ch // 2)
    xs = tf.range(w)[tf.newaxis, :] - (cx[:, tf.newaxis] - cw // 2)
    inside_y = (ys >= 0) & (ys < ch)
    inside_x = (xs >= 0) & (xs < cw)
    hole = inside_y[:, :, tf.newaxis] & inside_x[:, tf.newaxis, :]
    return x * tf.cast(~hole, x.dtype)[:, :, :, tf.newaxis]


def diff_augment(x: tf.Tensor, policy: str, seed: tf.Tensor) -> tf.Tensor:
    """Applies the comma-separated `policy` ("color,translation,cutout") to NHWC x."""
    for name in parse_policy(policy):
        x = {"color": color, "translation": translation, "cutout": cutout}[name](x, fold(seed, name))
    return x
