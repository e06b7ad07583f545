"""A run's checkpoints/ folder: found by their files, saved atomically, restored with a fallback.

TensorFlow keeps a small state file ("checkpoint") that lists the
checkpoints. If it is lost or garbled, TensorFlow sees none, and a resume
would start over and overwrite the run. Here the list always comes from the
ckpt-N.index files themselves, and the state file is rewritten from them.
"""

from __future__ import annotations

import logging
import os

import tensorflow as tf

from tf_stylegan.files import checkpoint_steps

LOG = logging.getLogger("tf_stylegan.train")


class CheckpointStore:
    """The checkpoints of `model` in `directory` (the newest `keep` are kept).

    Args:
      model: a tf_stylegan.training model (its `checkpoint()` is what is saved).
      directory: the checkpoints folder (created on the first save).
      keep: how many checkpoints to keep.
    """

    def __init__(self, model, directory: str, keep: int = 3):
        self.model, self.directory, self.keep = model, directory, keep
        self.checkpoint = model.checkpoint()
        existing = [self.prefix(n) for n in checkpoint_steps(directory)]
        if existing:  # the state file, rewritten from the files themselves
            tf.compat.v1.train.update_checkpoint_state(directory, existing[-1], all_model_checkpoint_paths=existing)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=keep)

    def prefix(self, step: int) -> str:
        return os.path.join(self.directory, f"ckpt-{step}")

    def steps(self) -> list[int]:
        return checkpoint_steps(self.directory)

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self) -> str:
        """A checkpoint numbered by the model's step."""
        return self.manager.save(checkpoint_number=int(self.model.step.numpy()))

    def restore(self, path: str) -> None:
        """Restores `path`, checking that it fits the model."""
        self.checkpoint.restore(path).assert_existing_objects_matched()

    def restore_latest(self) -> str | None:
        """Restores the newest readable checkpoint, falling back past unreadable ones with a warning;
        None if there is none. Raises ValueError if every one is unreadable."""
        steps = self.steps()
        for i, step in enumerate(reversed(steps)):
            path = self.prefix(step)
            try:
                self.restore(path)
            except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError) as exc:
                LOG.warning("checkpoint %s is unreadable (%s); trying the previous one.", path,
                            str(exc).splitlines()[0][:200])
                continue
            if i:
                LOG.warning("resumed from the older checkpoint %s because newer ones were unreadable.", path)
            return path
        if steps:
            raise ValueError(f"{self.directory}: every checkpoint is unreadable; start a new run.")
        return None
