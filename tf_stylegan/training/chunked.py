"""`fit` in chunks with a checkpoint and a snapshot after each: the DCGAN and ProGAN runs.

Each chunk is one `fit` call on a fresh dataset that starts where the last
left off, so a resumed run (whose counters come back from the checkpoint)
sees the same batches and random draws as an uninterrupted one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import keras
import tensorflow as tf

Chunk = tuple[tf.data.Dataset, int]  # (dataset, steps)


def open_checkpoints(checkpoint: tf.train.Checkpoint, outdir: str, resume: str | None,
                     keep: int = 3) -> tf.train.CheckpointManager:
    """The run's CheckpointManager, after restoring `resume` ("latest" or a path).

    Without `resume`, a directory that already holds checkpoints is an error,
    so that a forgotten --resume never silently restarts a run from scratch.
    """
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(outdir, "checkpoints"), max_to_keep=keep)
    if resume:
        path = manager.latest_checkpoint if resume == "latest" else resume
        if path is None:
            raise ValueError(f"--resume=latest: no checkpoint in {outdir}/checkpoints; drop --resume to start fresh.")
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as exc:
            raise ValueError(f"{path}: cannot resume from this checkpoint ({str(exc).splitlines()[0]}).") from None
    elif manager.latest_checkpoint:
        raise ValueError(f"{outdir} already holds checkpoints; pass --resume=latest to continue that run, "
                         "or choose a new --outdir.")
    return manager


def fit_in_chunks(gan: keras.Model, manager: tf.train.CheckpointManager, next_chunk: Callable[[], Chunk | None],
                  snapshot: Callable[[], None], callbacks: list | None = None,
                  minutes: float | None = None) -> float:
    """Runs `gan.fit` on `next_chunk()` until it returns None (or `minutes` pass),
    checkpointing (numbered by `gan.step`) and calling `snapshot` after each; returns seconds."""
    began = time.perf_counter()
    while (chunk := next_chunk()) is not None:
        dataset, steps = chunk
        gan.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=callbacks or [], verbose=2)
        manager.save(checkpoint_number=int(gan.step.numpy()))
        snapshot()
        if minutes is not None and time.perf_counter() - began > 60 * minutes:
            break
    return time.perf_counter() - began
