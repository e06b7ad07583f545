"""Keras callbacks for `StyleGAN2.fit`: snapshots, checkpoints, metrics, LR balance.

(G_ema is updated inside the train step, so no EMA callback is needed.)
"""

from __future__ import annotations

import json
import logging
import os

import keras
import tensorflow as tf

from tf_stylegan.files import save_model_atomic
from tf_stylegan.images import save_image
from tf_stylegan.training.stylegan2 import lr_scale

LOG = logging.getLogger("tf_stylegan.train")


class SnapshotGrid(keras.callbacks.Callback):
    """Every `every` steps, writes a grid of G_ema images of fixed latents (and G_ema.keras)."""

    def __init__(self, outdir: str, every: int = 500, count: int = 16, seed: int = 123, save_model: bool = True):
        super().__init__()
        self.outdir, self.every, self.count, self.seed, self.save_model = outdir, every, count, seed, save_model

    def write(self) -> str:
        from tf_stylegan.training.loop import snapshot_grid

        G = self.model.G_ema
        stage = getattr(self.model, "generate_kwargs", dict)()  # a growing model's current stage
        step = int(self.model.step.numpy())
        path = os.path.join(self.outdir, f"grid-{step:08d}.png")
        save_image(snapshot_grid(G, self.count, seed=self.seed, **stage), path)
        if self.save_model:
            save_model_atomic(G, os.path.join(self.outdir, "G_ema.keras"))
        return path

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step.numpy()) % self.every == 0:
            self.write()

    def on_train_end(self, logs=None):
        self.write()


class Checkpoint(keras.callbacks.Callback):
    """Every `every` steps, a tf.train checkpoint of everything (keeps the last `keep`)."""

    def __init__(self, directory: str, every: int = 100, keep: int = 3):
        super().__init__()
        self.directory, self.every, self.keep = directory, every, keep
        self.manager: tf.train.CheckpointManager | None = None

    def on_train_begin(self, logs=None):
        self.manager = tf.train.CheckpointManager(self.model.checkpoint(), self.directory, max_to_keep=self.keep)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step.numpy())
        if step % self.every == 0:
            self.manager.save(checkpoint_number=step)

    def on_train_end(self, logs=None):
        self.manager.save(checkpoint_number=int(self.model.step.numpy()))


class Metrics(keras.callbacks.Callback):
    """Every `every` steps and at the end, computes metrics of G_ema (FID, KID, PR...).

    Results go to `outdir/metric-<name>.jsonl` (official layout) and, when a
    summary writer is given, to TensorBoard as `Metrics/<key>` at the image
    count. `tools.train` calls `run` at each snapshot.

    Args:
      evaluator: a `tf_stylegan.metrics.suite.Evaluator` for the training data.
      metrics: metric names, e.g. ["fid2k_full"].
    """

    def __init__(self, evaluator, metrics: list[str], outdir: str, every: int = 1000,
                 writer: tf.summary.SummaryWriter | None = None):
        super().__init__()
        from tf_stylegan.metrics.suite import parse_metric

        for name in metrics:
            parse_metric(name)
        self.evaluator, self.metrics, self.outdir, self.every, self.writer = evaluator, metrics, outdir, every, writer

    def run(self, G, nimg: int, snapshot: str | None = None) -> dict[str, float]:
        results: dict[str, float] = {}
        os.makedirs(self.outdir, exist_ok=True)
        for record in self.evaluator.evaluate(G, self.metrics, snapshot=snapshot):
            record["nimg"] = nimg
            with open(os.path.join(self.outdir, f"metric-{record['metric']}.jsonl"), "a") as f:
                f.write(json.dumps(record) + "\n")
            results.update(record["results"])
        if self.writer is not None:
            with self.writer.as_default(step=nimg):
                for key, value in results.items():
                    tf.summary.scalar(f"Metrics/{key}", value)
            self.writer.flush()
        LOG.info("metrics at %d images: %s", nimg, ", ".join(f"{k} {v:.4g}" for k, v in results.items()))
        return results

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step.numpy()) % self.every == 0:
            self.run(self.model.G_ema, int(self.model.nimg.numpy()))

    def on_train_end(self, logs=None):
        self.run(self.model.G_ema, int(self.model.nimg.numpy()))


class LRBalance(keras.callbacks.Callback):
    """Lowers learning rates when D dominates or the losses run away.

    The practice of anime StyleGAN trainers, made automatic: when D classifies
    almost everything right (both sign accuracies >= `d_dominates_acc`) for
    `patience` steps, D's learning rate is divided by `d_factor`; when the G
    loss exceeds `diverge_loss` for `patience` steps, both rates are divided by
    `both_factor`. Rates never go below `min_lr`. Every change is logged.
    """

    def __init__(self, d_dominates_acc: float = 0.95, diverge_loss: float = 10.0, patience: int = 50,
                 d_factor: float = 10.0, both_factor: float = 3.0, min_lr: float = 1e-5):
        super().__init__()
        self.d_dominates_acc, self.diverge_loss, self.patience = d_dominates_acc, diverge_loss, patience
        self.d_factor, self.both_factor, self.min_lr = d_factor, both_factor, min_lr
        self._dominating = self._diverging = 0
        self.changes: list[dict] = []

    def _scale(self, optimizer, factor: float, why: str) -> None:
        old = float(optimizer.learning_rate.numpy())
        new = max(old / factor, self.min_lr)
        if new < old:
            optimizer.learning_rate = new
            step = int(self.model.step.numpy())
            self.changes.append({"step": step, "optimizer": optimizer.name, "lr": new, "why": why})
            LOG.warning("step %d: %s learning rate %.3g -> %.3g (%s)", step, optimizer.name, old, new, why)

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        acc = min(float(logs.get("D_real_acc", 0)), float(logs.get("D_fake_acc", 0)))
        self._dominating = self._dominating + 1 if acc >= self.d_dominates_acc else 0
        self._diverging = self._diverging + 1 if float(logs.get("loss/G", 0)) > self.diverge_loss else 0
        if self._diverging >= self.patience:
            for opt in (self.model.g_optimizer, self.model.d_optimizer):
                self._scale(opt, self.both_factor, f"loss/G above {self.diverge_loss} for {self.patience} steps")
            self._diverging = 0
        elif self._dominating >= self.patience:
            self._scale(self.model.d_optimizer, self.d_factor,
                        f"D accuracy >= {self.d_dominates_acc} for {self.patience} steps")
            self._dominating = 0


def parse_lr_schedule(text: str | list[str] | None, flag: str = "lr schedule") -> list[tuple[float, float]]:
    """'0:0.002,100:0.0003' (or a list of such items or of (kimg, lr) pairs) -> [(0.0, 0.002),
    (100.0, 0.0003)], sorted by kimg."""
    if not text:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    points = []
    for item in items:
        pair = isinstance(item, (tuple, list)) and len(item) == 2
        kimg, sep, lr = (item[0], ":", item[1]) if pair else str(item).partition(":")
        try:
            point = (float(kimg), float(lr))
        except ValueError:
            point = None
        if not sep or point is None or point[0] < 0 or point[1] <= 0:
            raise ValueError(f"{flag}: {item!r} is not KIMG:LR with KIMG >= 0 and LR > 0 (e.g. 0:0.002,100:0.0003).")
        points.append(point)
    return sorted(points)


class LRSchedule(keras.callbacks.Callback):
    """Learning rates that change at given kimg, separately for G and D.

    `g` and `d` are [(kimg, lr), ...] (or 'KIMG:LR,...' strings): from each kimg
    on, that optimizer's learning rate is `lr`. Lower both to settle a run that
    has reached good quality (the anime notes: 0.003 is too high by then, cut to
    0.001 or 0.0003), or only D's (10-50x) when D dominates. A rate is set when
    the image count crosses one of its points (and at the start of a fresh run),
    so a resumed run keeps the rates in its checkpoint, and `LRBalance` may
    still adjust between points. Rates are given as for --g-lr/--d-lr, before
    StyleGAN2's lazy-regularisation scaling c. Works in `fit` and in `tools.train`.
    """

    def __init__(self, g=None, d=None):
        super().__init__()
        self.points = {"g": parse_lr_schedule(g, "G lr schedule"), "d": parse_lr_schedule(d, "D lr schedule")}
        self.last: dict[str, float | None] | None = None
        self.changes: list[dict] = []

    @staticmethod
    def _value(points, kimg: float) -> float | None:
        value = None
        for start, lr in points:
            if kimg >= start:
                value = lr
        return value

    def apply(self, gan) -> None:
        """Sets the scheduled rates of `gan` (a model with nimg, g_optimizer and d_optimizer)."""
        nimg = int(gan.nimg.numpy())
        now = {side: self._value(points, nimg / 1000) for side, points in self.points.items()}
        first = self.last is None
        for side, value in now.items():
            if value is None or (first and nimg > 0) or (not first and value == self.last[side]):
                continue
            optimizer = gan.g_optimizer if side == "g" else gan.d_optimizer
            optimizer.learning_rate = value * lr_scale(getattr(gan, "lazy_intervals", {}).get(side))  # as --g-lr
            self.changes.append({"nimg": nimg, "optimizer": side, "lr": value})
            LOG.info("%d images: %s learning rate -> %.3g (schedule)", nimg, side.upper(), value)
        self.last = now

    def on_train_batch_begin(self, batch, logs=None):
        self.apply(self.model)
