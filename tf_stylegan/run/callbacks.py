"""The Keras callbacks of a training run: the one way to extend the loop, in `tools.train` and in `fit` alike.

Each works on any model of tf_stylegan.training (StyleGAN2, ProGAN, DCGAN),
through what the base model gives: `step`, `nimg`, `G_ema`, `checkpoint()`,
`generate_kwargs()` and the optimizers. A callback that rolls the model
back sets `logs["rolled_back"]`, and the callbacks after it leave that step
alone (nothing is logged, checkpointed or snapshotted for a diverged step).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.files import save_model_atomic
from tf_stylegan.images import save_image, tile, to_uint8
from tf_stylegan.run.checkpoints import CheckpointStore
from tf_stylegan.training.stylegan2 import lr_scale

LOG = logging.getLogger("tf_stylegan.train")
ROLLED_BACK = "rolled_back"


class TrainingError(RuntimeError):
    """The run cannot go on; the message says why and what to do."""


def _kimg_crossed(before: int, after: int, every_kimg: float) -> bool:
    every = max(int(every_kimg * 1000), 1)
    return after // every > before // every


class _StepCallback(keras.callbacks.Callback):
    """Remembers the image count before each step, so that subclasses can act on kimg boundaries."""

    def on_train_batch_begin(self, batch, logs=None):
        self._nimg_before = int(self.model.nimg.numpy())

    def crossed(self, every_kimg: float) -> bool:
        return _kimg_crossed(getattr(self, "_nimg_before", 0), int(self.model.nimg.numpy()), every_kimg)


def snapshot_grid(G, size: int, seed: int = 123, **call_kwargs) -> np.ndarray:
    """A uint8 grid of G's images for fixed seeds (z from `seed`; for a conditional G one label per
    sample in turn), the same at every snapshot. `call_kwargs` go to G (a growing stage's resolution, alpha)."""
    z = np.random.RandomState(seed).randn(size, G.z_dim).astype(np.float32)
    c = None
    if G.c_dim:
        c = np.zeros([size, G.c_dim], np.float32)
        c[np.arange(size), np.arange(size) % G.c_dim] = 1
    images = to_uint8(G(z, c, noise_mode="const", **call_kwargs)).numpy()
    cols = int(math.ceil(math.sqrt(size)))
    return tile(images, cols, int(math.ceil(size / cols)))


class SnapshotGrid(_StepCallback):
    """Every `every_kimg`, and at the end: a grid of G_ema at fixed seeds and G_ema as .keras.

    Files: snapshots/grid-NNNNNNNNN.png and snapshots/G_ema-NNNNNNNNN.keras
    (NNNNNNNNN = images shown), and grid.png and G_ema.keras for the latest.
    `writer` adds the grid to TensorBoard as an image.
    """

    def __init__(self, outdir: str, every_kimg: float = 10.0, count: int = 16, seed: int = 123,
                 writer: tf.summary.SummaryWriter | None = None):
        super().__init__()
        self.outdir, self.every_kimg, self.count, self.seed, self.writer = outdir, every_kimg, count, seed, writer
        self.written: list[str] = []

    def write(self) -> str:
        nimg = int(self.model.nimg.numpy())
        grid = snapshot_grid(self.model.G_ema, self.count, seed=self.seed, **self.model.generate_kwargs())
        snaps = os.path.join(self.outdir, "snapshots")
        path = os.path.join(snaps, f"grid-{nimg:09d}.png")
        save_image(grid, path)
        save_image(grid, os.path.join(self.outdir, "grid.png"))
        save_model_atomic(self.model.G_ema, os.path.join(snaps, f"G_ema-{nimg:09d}.keras"))
        save_model_atomic(self.model.G_ema, os.path.join(self.outdir, "G_ema.keras"))
        if self.writer is not None:
            with self.writer.as_default(step=nimg):
                tf.summary.image("snapshot", grid[np.newaxis], max_outputs=1)
        self.written.append(path)
        return path

    def on_train_batch_end(self, batch, logs=None):
        if not (logs or {}).get(ROLLED_BACK) and self.crossed(self.every_kimg):
            self.write()

    def on_train_end(self, logs=None):
        if not self.written or self.written[-1] != os.path.join(
                self.outdir, "snapshots", f"grid-{int(self.model.nimg.numpy()):09d}.png"):
            self.write()


class Checkpoint(keras.callbacks.Callback):
    """Every `every` steps and at the end, a checkpoint of everything (the last `keep` are kept).

    `store` is the run's CheckpointStore (the driver shares it with the
    rollback); without one, a store of `directory` is opened at the start.
    """

    def __init__(self, directory: str | None = None, every: int = 100, keep: int = 3,
                 store: CheckpointStore | None = None):
        super().__init__()
        self.directory, self.every, self.keep, self.store = directory, every, keep, store

    def on_train_begin(self, logs=None):
        if self.store is None:
            self.store = CheckpointStore(self.model, self.directory, self.keep)

    def on_train_batch_end(self, batch, logs=None):
        if not (logs or {}).get(ROLLED_BACK) and int(self.model.step.numpy()) % self.every == 0:
            self.store.save()

    def on_train_end(self, logs=None):
        if self.store.latest_step() != int(self.model.step.numpy()):
            self.store.save()


class StatsLog(keras.callbacks.Callback):
    """One JSON line per step in `path` (step, nimg and the logs), and the runs' events."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if logs.get(ROLLED_BACK):
            return
        record = {"step": int(self.model.step.numpy()), "nimg": int(self.model.nimg.numpy())}
        record.update({k: float(v) for k, v in logs.items()})
        append_jsonl(self.path, record)


def append_jsonl(path: str, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


class TensorBoardLog(keras.callbacks.Callback):
    """Scalars every `every` steps to a TensorBoard writer, at the image count."""

    def __init__(self, writer: tf.summary.SummaryWriter, every: int = 10):
        super().__init__()
        self.writer, self.every = writer, every

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if logs.get(ROLLED_BACK) or int(self.model.step.numpy()) % self.every:
            return
        with self.writer.as_default(step=int(self.model.nimg.numpy())):
            for key, value in logs.items():
                tf.summary.scalar(key, float(value))

    def on_train_end(self, logs=None):
        self.writer.flush()


class Metrics(_StepCallback):
    """Every `every_kimg` and at the end, metrics of G_ema (FID, KID, PR, PPL...).

    Results go to `outdir/metric-<name>.jsonl` (the official layout) and, with
    a writer, to TensorBoard as `Metrics/<key>` at the image count.

    Args:
      evaluator: a `tf_stylegan.metrics.suite.Evaluator` for the training data.
      metrics: metric names, e.g. ["fid2k_full"].
    """

    def __init__(self, evaluator, metrics: list[str], outdir: str, every_kimg: float = 10.0,
                 writer: tf.summary.SummaryWriter | None = None):
        super().__init__()
        from tf_stylegan.metrics.suite import parse_metric

        for name in metrics:
            parse_metric(name)
        self.evaluator, self.metrics, self.outdir = evaluator, list(metrics), outdir
        self.every_kimg, self.writer = every_kimg, writer
        self._last_nimg = None

    def run(self, G, nimg: int, snapshot: str | None = None) -> dict[str, float]:
        results: dict[str, float] = {}
        os.makedirs(self.outdir, exist_ok=True)
        for record in self.evaluator.evaluate(G, self.metrics, snapshot=snapshot):
            record["nimg"] = nimg
            append_jsonl(os.path.join(self.outdir, f"metric-{record['metric']}.jsonl"), record)
            results.update(record["results"])
        if self.writer is not None:
            with self.writer.as_default(step=nimg):
                for key, value in results.items():
                    tf.summary.scalar(f"Metrics/{key}", value)
            self.writer.flush()
        LOG.info("metrics at %d images: %s", nimg, ", ".join(f"{k} {v:.4g}" for k, v in results.items()))
        self._last_nimg = nimg
        return results

    def _run_now(self):
        nimg = int(self.model.nimg.numpy())
        self.run(self.model.G_ema, nimg, snapshot=f"G_ema-{nimg:09d}.keras")

    def on_train_batch_end(self, batch, logs=None):
        if not (logs or {}).get(ROLLED_BACK) and self.crossed(self.every_kimg):
            self._run_now()

    def on_train_end(self, logs=None):
        if self._last_nimg != int(self.model.nimg.numpy()):
            self._run_now()


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
        if logs.get(ROLLED_BACK):
            return
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


def parse_lr_schedule(text: str | list | None, what: str = "lr schedule") -> list[tuple[float, float]]:
    """'0:0.002,100:0.0003' (or a list of such items or of (kimg, lr) pairs) -> [(0.0, 0.002), (100.0, 0.0003)],
    sorted by kimg."""
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
        if not sep or point is None or not (0 <= point[0] < math.inf and 0 < point[1] < math.inf):
            raise ValueError(f"{what}: {item!r} is not KIMG:LR with KIMG >= 0 and LR > 0 (e.g. 0:0.002,100:0.0003).")
        points.append(point)
    return sorted(points)


class LRSchedule(keras.callbacks.Callback):
    """Learning rates that change at given kimg, separately for G and D.

    `g` and `d` are [(kimg, lr), ...] (or 'KIMG:LR,...' strings): from each kimg
    on, that optimizer's learning rate is `lr`. A rate is set when the image
    count first crosses one of its points (and at the start of a fresh run),
    so a resumed run keeps the rates in its checkpoint, and `LRBalance` or a
    rollback may lower them between points without the schedule raising them
    again. Rates are given before StyleGAN2's lazy-regularisation scaling c,
    as g_lr and d_lr are.
    """

    def __init__(self, g=None, d=None):
        super().__init__()
        self.points = {"g": parse_lr_schedule(g, "G lr schedule"), "d": parse_lr_schedule(d, "D lr schedule")}
        self.reached: int | None = None  # the most images seen: a point fires once, when first crossed
        self.changes: list[dict] = []

    def apply(self, gan) -> None:
        """Sets the rates of the points `gan` (a model with nimg and optimizers) has newly reached."""
        nimg = int(gan.nimg.numpy())
        first, before = self.reached is None, self.reached
        if not first and nimg <= before:
            return  # a rollback went back: the rates it set stay (they are lower)
        self.reached = nimg
        if first and nimg > 0:
            return  # a resumed run keeps the rates of its checkpoint
        for side, points in self.points.items():
            due = [lr for kimg, lr in points if (first or before < kimg * 1000) and kimg * 1000 <= nimg]
            if not due:
                continue
            gan.optimizers[side].learning_rate = due[-1] * lr_scale(getattr(gan, "lazy_intervals", {}).get(side))
            self.changes.append({"nimg": nimg, "optimizer": side, "lr": due[-1]})
            LOG.info("%d images: %s learning rate -> %.3g (schedule)", nimg, side.upper(), due[-1])

    def on_train_batch_begin(self, batch, logs=None):
        self.apply(self.model)


class DivergenceRollback(keras.callbacks.Callback):
    """The divergence guard: on NaN/Inf or a G/D loss above `blowup`, restore the last checkpoint and halve
    the learning rates in effect (not the start-up ones, which a schedule or LRBalance may have lowered).

    After `max_rollbacks` it stops with TrainingError. Each rollback is an event in `stats_path`.
    """

    def __init__(self, store: CheckpointStore, blowup: float = 100.0, max_rollbacks: int = 3,
                 lr_factor: float = 0.5, stats_path: str | None = None):
        super().__init__()
        self.store, self.blowup, self.max_rollbacks = store, blowup, max_rollbacks
        self.lr_factor, self.stats_path = lr_factor, stats_path
        self.rollbacks = 0

    def diverged(self, logs: dict) -> str | None:
        for key, value in logs.items():
            if not np.isfinite(float(value)):
                return f"{key} is {float(value)}"
        for key in ("loss/G", "loss/D"):
            if abs(float(logs.get(key, 0.0))) > self.blowup:
                return f"{key} = {float(logs[key]):.4g} exceeds the blowup limit {self.blowup:g}"
        return None

    def on_train_batch_end(self, batch, logs=None):
        if logs is None:
            return
        reason = self.diverged(logs)
        if reason is None:
            return
        self.rollbacks += 1
        step = int(self.model.step.numpy())
        if self.rollbacks > self.max_rollbacks:
            raise TrainingError(f"training diverged ({reason}) and {self.max_rollbacks} rollbacks did not help; lower "
                                "the learning rates or raise R1 gamma, then resume from the last checkpoint.")
        rates = {side: float(opt.learning_rate.numpy()) for side, opt in self.model.optimizers.items()}
        latest = self.store.restore_latest()
        if latest is None:
            raise TrainingError(f"training diverged ({reason}) before the first checkpoint; lower the learning rates.")
        for side, opt in self.model.optimizers.items():
            opt.learning_rate = rates[side] * self.lr_factor
        LOG.warning("training diverged (%s): rolled back to %s (step %d) and scaled the learning rates by %g "
                    "(rollback %d of %d).", reason, latest, int(self.model.step.numpy()), self.lr_factor,
                    self.rollbacks, self.max_rollbacks)
        if self.stats_path:
            append_jsonl(self.stats_path, {"event": "rollback", "step": int(self.model.step.numpy()),
                                           "diverged_at": step, "reason": reason, "checkpoint": latest,
                                           "lr_factor": self.lr_factor, "lr": {k: v * self.lr_factor
                                                                              for k, v in rates.items()}})
        logs[ROLLED_BACK] = 1.0


class AccuracyRollback(keras.callbacks.Callback):
    """Rolls a DCGAN back when one side's batch accuracy stays at 0.

    Every `snapshot_every` healthy steps it keeps a copy of the networks' weights
    and both optimizers' state. After `patience` consecutive steps with acc/D
    or acc/G at 0 it restores that copy exactly, sets the label noise to
    `label_noise` (a common cure), logs what it did, and after `max_rollbacks`
    rollbacks stops training with a message.
    """

    def __init__(self, patience: int = 50, snapshot_every: int = 100, label_noise: float = 0.05,
                 max_rollbacks: int = 3):
        super().__init__()
        self.patience, self.snapshot_every = patience, snapshot_every
        self.new_label_noise, self.max_rollbacks = label_noise, max_rollbacks
        self.stuck = self.healthy = self.rollbacks = 0
        self.snapshot: list[np.ndarray] | None = None
        self.events: list[str] = []

    def _variables(self):
        gan = self.model
        opt_vars = list(gan.g_optimizer.variables) + list(gan.d_optimizer.variables)
        return list(gan.G.weights) + list(gan.D.weights) + list(gan.G_ema.weights) + opt_vars

    def take_snapshot(self) -> None:
        self.snapshot = [np.array(v.numpy(), copy=True) for v in self._variables()]

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if logs.get(ROLLED_BACK):
            return
        if float(logs.get("acc/D", 1.0)) == 0.0 or float(logs.get("acc/G", 1.0)) == 0.0:
            self.stuck += 1
            self.healthy = 0
        else:
            self.stuck = 0
            self.healthy += 1
            if self.snapshot is None or self.healthy % self.snapshot_every == 0:
                self.take_snapshot()
        if self.stuck >= self.patience and self.snapshot is not None:
            self.rollback()

    def rollback(self) -> None:
        if self.rollbacks >= self.max_rollbacks:
            self.model.stop_training = True
            self.events.append(f"stopped: one side's accuracy stayed at 0 after {self.rollbacks} rollbacks; "
                               "lower the learning rates or raise the label noise")
            LOG.warning(self.events[-1])
            return
        for variable, value in zip(self._variables(), self.snapshot):
            variable.assign(value)
        self.model.label_noise.assign(self.new_label_noise)
        self.rollbacks += 1
        self.stuck = 0
        self.events.append(f"rollback {self.rollbacks}: accuracy at 0 for {self.patience} steps; restored the "
                           f"last good weights, label noise now {self.new_label_noise}")
        LOG.warning(self.events[-1])


class Export(keras.callbacks.Callback):
    """At the end of training, G_ema as a SavedModel in `path` (new, or an earlier export of ours)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def on_train_end(self, logs=None):
        from tf_stylegan.export import export_saved_model

        export_saved_model(self.model.G_ema, self.path, overwrite=True)  # only ever an export of ours


class ProgressBar(_StepCallback):
    """A progress bar in images up to `target`, and one line per `every_kimg`: kimg, speed, losses and ETA."""

    def __init__(self, target: int, enabled: bool = True, every_kimg: float | None = None):
        super().__init__()
        self.target, self.enabled, self.every_kimg = target, enabled, every_kimg
        self.bar = None
        self.recent: list[tuple[float, int]] = []

    def on_train_begin(self, logs=None):
        from tqdm import tqdm

        nimg = int(self.model.nimg.numpy())
        self.bar = tqdm(total=self.target, initial=min(nimg, self.target), unit="img", unit_scale=True,
                        disable=not self.enabled, desc="training", leave=False)
        self.recent = [(time.time(), nimg)]

    def rate(self) -> float:
        return (self.recent[-1][1] - self.recent[0][1]) / max(self.recent[-1][0] - self.recent[0][0], 1e-9)

    def on_train_batch_end(self, batch, logs=None):
        nimg = int(self.model.nimg.numpy())
        self.recent = (self.recent + [(time.time(), nimg)])[-50:]
        self.bar.update(max(min(nimg, self.target) - self.bar.n, 0))
        self.bar.set_postfix_str(f"kimg {nimg / 1000:.1f} img/s {self.rate():.1f}")
        if self.every_kimg and self.crossed(self.every_kimg) and not (logs or {}).get(ROLLED_BACK):
            eta = (self.target - nimg) / max(self.rate(), 1e-9)
            losses = "  ".join(f"{k} {float(logs[k]):.3f}" for k in ("loss/G", "loss/D") if k in (logs or {}))
            self.bar.write(f"kimg {nimg / 1000:7.1f}  img/s {self.rate():6.1f}  {losses}  eta {_minutes(eta)}")

    def on_train_end(self, logs=None):
        self.bar.close()


def _minutes(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
