"""Stateless random draws that do not depend on how the batch is split.

Training draws every random tensor (latents, noise images, path-length
noise) for the *global* batch from a stateless seed, and each replica keeps
its own rows. One device and N replicas therefore see the same numbers for
the same sample, and a resumed run (same step -> same seed) repeats them.
"""

from __future__ import annotations

import zlib

import tensorflow as tf


def replica_position() -> tuple[tf.Tensor, int]:
    """(this replica's index, number of replicas); (0, 1) outside a strategy."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:  # cross-replica context
        return tf.constant(0), 1
    rid = ctx.replica_id_in_sync_group
    return tf.cast(rid, tf.int32), ctx.num_replicas_in_sync


def fold(seed: tf.Tensor, *values) -> tf.Tensor:
    """A new stateless seed from `seed` and integers or strings (hashed stably)."""
    for v in values:
        if isinstance(v, str):
            v = zlib.crc32(v.encode()) & 0x7FFFFFFF
        seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(v, tf.int64))
    return seed


def _global_draw(draw, local_shape, seed, dtype):
    # Replica r takes rows r, r + n, r + 2n, ... of the global draw: the same
    # interleaving as the data (see tf_stylegan.data.load), so that minibatch-
    # stddev groups hold the same samples however the batch is split.
    rid, n = replica_position()
    local_shape = tf.convert_to_tensor(local_shape, tf.int32)
    batch = local_shape[0]
    full = draw(tf.concat([[batch * n], local_shape[1:]], axis=0), seed=seed, dtype=dtype)
    if n == 1:
        return full
    return tf.gather(full, tf.range(batch) * n + rid)


def replica_normal(local_shape, seed: tf.Tensor, dtype=tf.float32) -> tf.Tensor:
    """N(0, 1) of shape `local_shape`: this replica's rows of the global draw."""
    return _global_draw(tf.random.stateless_normal, local_shape, seed, dtype)


def replica_uniform(local_shape, seed: tf.Tensor, dtype=tf.float32) -> tf.Tensor:
    """U[0, 1) of shape `local_shape`: this replica's rows of the global draw."""
    return _global_draw(tf.random.stateless_uniform, local_shape, seed, dtype)
