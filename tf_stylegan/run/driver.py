"""The one run driver: options -> run folder -> model -> the loop with callbacks, for every family.

A run folder holds:
  .tf_stylegan.json     our marker: the folder is a run of this package
  options.json          the family, the resolved options, and G's and D's configs
  history.jsonl         each resume, with the options it changed (those a resume may change)
  checkpoints/ckpt-N    everything needed to resume exactly (the last `keep`)
  stats.jsonl           one line per step (step, nimg, losses), and events such as rollbacks
  logs/                 TensorBoard scalars, grids and metrics
  snapshots/            grid-NNNNNNNNN.png and G_ema-NNNNNNNNN.keras (NNNNNNNNN: images shown)
  grid.png, G_ema.keras the latest snapshot
SIGTERM or a first Ctrl-C stops the run after its current step with a
checkpoint of it (run.stopping). A crash or kill -9 loses at most the steps
since the last checkpoint: files
are written atomically, and a resume restores networks, optimizers and
counters, truncates stats.jsonl back to the restored step, skips the data
already seen and repeats the same random draws.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import keras
import tensorflow as tf

from tf_stylegan.files import atomic_path, checkpoint_steps, is_ours, read_marker, write_marker
from tf_stylegan.networks.presets import preset_family
from tf_stylegan.run import callbacks as cb
from tf_stylegan.run.checkpoints import CheckpointStore
from tf_stylegan.run.families import build_model, data_source, dataset_info
from tf_stylegan.run.options import SCHEMA, OptionError, RunOptions, changed_on_resume, check_value, resolve
from tf_stylegan.run.precision import choose as choose_precision
from tf_stylegan.run.precision import recorded_warning
from tf_stylegan.run.stopping import Stopped, stop_requests
from tf_stylegan.training.base import GANModel

LOG = logging.getLogger("tf_stylegan.train")
KIND = "run"
TrainingError = cb.TrainingError


def make_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirrored from TF_CONFIG, else Mirrored over several devices, else the default."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


def fit_loop(model: GANModel, next_data: Callable[[], Iterator], callbacks: list[keras.callbacks.Callback],
             done: Callable[[GANModel], bool]) -> dict[str, float]:
    """The training loop of every family: steps until `done(model)`, with Keras callbacks around each.

    The data iterator is remade (from where the model stands) when the step
    count went back (a rollback) or a growing stage begins.
    """
    for callback in callbacks:
        callback.set_model(model)
    train = model.make_train_function()
    iterator = next_data()
    logs: dict[str, float] = {}
    for callback in callbacks:
        callback.on_train_begin()
    model.stop_training = False
    while not done(model) and not model.stop_training:
        step, stage = int(model.step.numpy()), model.stage_at(int(model.nimg.numpy()))
        for callback in callbacks:
            callback.on_train_batch_begin(step)
        logs = {k: float(v) for k, v in train(iterator).items()}
        for callback in callbacks:
            callback.on_train_batch_end(step, logs)
        if int(model.step.numpy()) != step + 1 or model.stage_at(int(model.nimg.numpy())) != stage:
            iterator = next_data()
    for callback in callbacks:
        callback.on_train_end(logs)
    return logs


class Run:
    """One training run of any family, from options to a trained folder.

    Args:
      overrides: option values (see tf_stylegan.run.options.SCHEMA) over the
        preset's; on resume, over the recorded run's (only those a resume may
        change may differ).
      callbacks: extra Keras callbacks, run first at every step.
      max_read_bytes: the read budget of the init_from checkpoint (None: the loader's default).
    """

    def __init__(self, overrides: Mapping[str, Any], callbacks: list[keras.callbacks.Callback] | None = None,
                 max_read_bytes: int | None = None):
        self.extra_callbacks = list(callbacks or [])
        self.max_read_bytes = max_read_bytes
        self.outdir = overrides.get("outdir")
        if not self.outdir:
            raise OptionError("--outdir is required.")
        self.resuming = bool(overrides.get("resume"))
        self.strategy = make_strategy()
        record = self._recorded() if self.resuming else None
        if record is not None and "family" in record:
            self.opts, self.changed = self._resumed_options(record, overrides)
        else:  # a fresh run; or one recorded before the one driver, whose recorded values count as given
            recorded = _legacy_options(record.get("options", {})) if record else {}
            self.opts, self.changed = self._fresh_options({**recorded, **overrides}), {}
        if self.opts.get("precision") == "auto" or "precision" in overrides:  # recorded as the concrete choice
            try:
                self.opts.values["precision"], why = choose_precision(self.opts["precision"])
            except ValueError as exc:
                raise OptionError(str(exc)) from None
            LOG.info("precision: %s (%s)", self.opts["precision"], why)
        elif warning := recorded_warning(self.opts.get("precision", "")):
            LOG.warning("precision: %s", warning)
        self._check_folder()
        for side in ("g", "d"):  # a bad schedule fails now, not at the first step
            cb.parse_lr_schedule(self.opts[f"{side}_lr_schedule"], f"--{side}_lr_schedule")
        self.info = dataset_info(self.opts["data"])
        if self.opts["metrics"]:  # bad names and missing weights fail now, not at the first snapshot
            self._check_metrics()
        self.model, self.preset = build_model(self.opts, self.info, self.strategy)
        self.store = CheckpointStore(self.model, os.path.join(self.outdir, "checkpoints"), self.opts["keep"])
        kimg = self.opts["kimg"]
        if kimg is None:
            if self.model.schedule is None:
                raise OptionError(f"kimg: config {self.opts['config']!r} sets no training length; pass --kimg.")
            kimg = self.model.schedule.full_resolution_img() / 1000 + self.opts["stable_kimg"]
        if self.model.schedule is not None:
            try:
                self.model.schedule.check_reaches_target(kimg)
            except ValueError as exc:
                raise OptionError(str(exc)) from None
        self.target = int(round(kimg * 1000))

    def _fresh_options(self, overrides: Mapping[str, Any]) -> RunOptions:
        """Defaults < the preset (sized for the dataset, for "auto") < overrides."""
        from tf_stylegan.networks.presets import load_preset

        config = overrides.get("config") or SCHEMA["config"].default
        if not overrides.get("data"):
            raise OptionError("--data is required.")
        info = dataset_info(overrides["data"])
        preset = load_preset(config, resolution=overrides.get("resolution"),
                             replicas=self.strategy.num_replicas_in_sync, fallback_resolution=info["resolution"])
        return resolve(preset_family(config), preset.training, overrides, preset.name)

    # ------------------------------------------------------------ options
    def _recorded(self) -> dict | None:
        path = os.path.join(self.outdir, "options.json")
        if not os.path.isfile(path):
            if checkpoint_steps(os.path.join(self.outdir, "checkpoints")):
                raise TrainingError(f"{self.outdir}: has checkpoints but no options.json; it cannot be resumed.")
            raise TrainingError(f"--resume: {self.outdir} holds no run to resume (no options.json and no checkpoint); "
                                "start it without --resume.")
        try:
            with open(path) as f:
                record = json.load(f)
            return record
        except (OSError, ValueError) as exc:
            raise TrainingError(f"{path}: unreadable ({exc}); the run cannot be resumed.") from None

    def _resumed_options(self, record: dict, overrides: Mapping) -> tuple[RunOptions, dict]:
        family = record.get("family", "stylegan2")
        stored = dict(record.get("options", {}))
        if "family" not in record:  # a run recorded before the one driver: its options under their old names
            stored = _legacy_options(stored)
        values = dict(stored)
        given = set(record.get("given", stored))
        for key, value in overrides.items():
            option = SCHEMA.get(key)
            if option is None:
                raise OptionError(f"{key}: unknown option.")
            if family not in option.families:
                raise OptionError(f"--{option.flag_name}: does not apply to {family}.")
            values[key] = check_value(option, value, "")
            given.add(key)
        now = resolve(family, {}, {k: v for k, v in values.items() if k in SCHEMA}, "run")
        now.given = given
        safe, unsafe = changed_on_resume(stored, now)
        if unsafe:
            shown = ", ".join(f"{k} ({v[0]!r} -> {v[1]!r})" for k, v in unsafe.items())
            raise TrainingError(f"--resume with changed options: {shown}. They would make the resumed run differ from "
                                "the one in its checkpoints; resume with the original values, or start a new "
                                "--outdir (options a resume may change: kimg, minutes, snap, checkpoint_every, keep, "
                                "export, metrics, the LR schedules and the divergence guard).")
        return now, safe

    def _check_metrics(self) -> None:
        from tf_stylegan.metrics import weights
        from tf_stylegan.metrics.suite import needs_inception, parse_metric

        specs = [parse_metric(name) for name in self.opts["metrics"]]
        if needs_inception(self.opts["metrics"]):
            weights.inception_path(self.opts["inception"])
        if any(spec.kind == "ppl" for spec in specs) and not self.opts["lpips"]:
            raise OptionError("--metrics asks for PPL; give the LPIPS weights with --lpips.")

    # ------------------------------------------------------------- folder
    def _check_folder(self) -> None:
        """A fresh run needs a new or empty folder (or a run of ours without checkpoints); a resume, ours."""
        outdir = self.outdir
        ckpts = checkpoint_steps(os.path.join(outdir, "checkpoints"))
        if self.resuming:
            marker = read_marker(outdir)
            if marker is not None and marker["kind"] != KIND:
                raise TrainingError(f"{outdir}: is a {marker['kind']} of this package, not a training run.")
            if self.opts["resume"] == "latest" and not ckpts:
                raise TrainingError(f"--resume=latest: no checkpoint in {outdir}/checkpoints; start the run without "
                                    "--resume (the folder keeps what is there).")
            return
        if ckpts:
            raise TrainingError(f"{outdir} already holds checkpoints (ckpt-{ckpts[-1]}); pass --resume=latest to "
                                "continue that run, or choose a new --outdir.")
        if os.path.lexists(outdir):
            if not os.path.isdir(outdir):
                raise TrainingError(f"--outdir={outdir}: exists and is not a folder.")
            if os.listdir(outdir) and not is_ours(outdir, KIND):
                raise TrainingError(f"--outdir={outdir}: exists and holds files that are not a run of this package; "
                                    "choose a new or empty folder.")

    def _write_record(self) -> None:
        os.makedirs(self.outdir, exist_ok=True)
        write_marker(self.outdir, KIND)
        record = {"family": self.opts.family, "options": self.opts.values, "given": sorted(self.opts.given),
                  "G": keras.saving.serialize_keras_object(self.model.G),
                  "D": keras.saving.serialize_keras_object(self.model.D)}
        with atomic_path(os.path.join(self.outdir, "options.json")) as tmp:
            with open(tmp, "w") as f:
                json.dump(record, f, indent=1, default=str)

    def _truncate_stats(self, step: int) -> None:
        """stats.jsonl without the lines of steps after `step` (they are trained again)."""
        path = os.path.join(self.outdir, "stats.jsonl")
        if not os.path.isfile(path):
            return
        kept = []
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line cut short by the kill
                if record.get("step", 0) <= step:
                    kept.append(line if line.endswith("\n") else line + "\n")
        with atomic_path(path) as tmp:
            with open(tmp, "w") as f:
                f.writelines(kept)

    # -------------------------------------------------------------- start
    def restore(self) -> None:
        """Resumes from the newest good checkpoint (or the given one), or starts from --init-from."""
        opts = self.opts
        if self.resuming:
            if opts["resume"] == "latest":
                try:
                    path = self.store.restore_latest()
                except ValueError as exc:
                    raise TrainingError(str(exc)) from None
            else:
                path = opts["resume"]
                try:
                    self.store.restore(path)
                except (tf.errors.OpError, ValueError, AssertionError) as exc:
                    raise TrainingError(f"{path}: cannot resume from this checkpoint "
                                        f"({str(exc).splitlines()[0]}).") from None
            step = int(self.model.step.numpy())
            LOG.info("resumed from %s at step %d", path, step)
            self._truncate_stats(step)
            cb.append_jsonl(os.path.join(self.outdir, "history.jsonl"), {
                "event": "resume", "step": step, "checkpoint": path, "time": time.time(),
                "changed": {k: list(v) for k, v in self.changed.items()}})
        elif opts["init_from"]:
            self._init_from(opts["init_from"])

    def _init_from(self, path: str) -> None:
        from tf_stylegan.convert import load as load_checkpoint
        from tf_stylegan.training.transfer import transfer_weights

        nets = load_checkpoint(path, max_bytes=self.max_read_bytes)
        for key in ("G", "D", "G_ema"):
            source = nets.get(key) or (nets.get("G_ema") if key == "G" else None)
            target = getattr(self.model, key)
            if source is None:
                LOG.warning("--init-from %s has no %s; it keeps its fresh weights.", path, key)
                continue
            try:
                fresh = transfer_weights(source, target)
            except ValueError as exc:
                raise TrainingError(f"--init-from {path}: its {key} does not match config {self.opts['config']!r}: "
                                    f"{exc}") from None
            if fresh:
                LOG.warning("--init-from %s: %s conditioning weights start fresh (the source has other labels or "
                            "none): %s", path, key, ", ".join(fresh))
        LOG.info("initialised from %s", path)

    def callbacks(self, writer: tf.summary.SummaryWriter) -> list[keras.callbacks.Callback]:
        """The run's callbacks, in the order they act after a step."""
        opts, out = self.opts, self.outdir
        stats = os.path.join(out, "stats.jsonl")
        callbacks: list[keras.callbacks.Callback] = list(self.extra_callbacks)
        if opts["g_lr_schedule"] or opts["d_lr_schedule"]:
            callbacks.append(cb.LRSchedule(opts["g_lr_schedule"], opts["d_lr_schedule"]))
        callbacks.append(cb.DivergenceRollback(self.store, opts["blowup"], opts["max_rollbacks"], stats_path=stats))
        if opts.get("rollback_patience"):
            callbacks.append(cb.AccuracyRollback(patience=opts["rollback_patience"],
                                                 label_noise=max(opts["label_noise"], 0.05)))
        if opts.get("lr_balance"):
            callbacks.append(cb.LRBalance())
        callbacks += [cb.StatsLog(stats), cb.TensorBoardLog(writer),
                      cb.Checkpoint(every=opts["checkpoint_every"], store=self.store),
                      cb.SnapshotGrid(out, opts["snap"], opts["grid_size"], writer=writer)]
        if opts["metrics"]:
            callbacks.append(cb.Metrics(self._evaluator(), opts["metrics"], out, opts["snap"], writer=writer))
        if opts["export"]:
            callbacks.append(cb.Export(opts["export"]))
        callbacks.append(cb.ProgressBar(self.target, opts["progress"], opts["snap"] if opts["progress"] else None))
        return callbacks

    def _evaluator(self):
        from tf_stylegan.metrics import weights
        from tf_stylegan.metrics.suite import Evaluator, needs_inception

        inception = weights.inception_path(self.opts["inception"]) if needs_inception(self.opts["metrics"]) else None
        return Evaluator(self.opts["data"], inception, weights.cache_dir(), strategy=self.strategy,
                         progress=self.opts["progress"], lpips_paths=tuple(self.opts["lpips"]))

    def _log_hparams(self, writer: tf.summary.SummaryWriter) -> None:
        """The run's options in TensorBoard's HPARAMS tab (numbers, strings and flags as they are)."""
        from tensorboard.plugins.hparams import api as hp

        values = {"family": self.opts.family}
        for key, value in self.opts.values.items():
            if key in ("outdir", "resume", "progress") or value is None:
                continue
            values[key] = value if isinstance(value, (bool, int, float, str)) else json.dumps(value, default=str)
        with writer.as_default():
            hp.hparams(values, trial_id=os.path.basename(os.path.abspath(self.outdir)))

    def train(self) -> dict[str, float]:
        """Trains until kimg (or minutes); returns the last step's logs."""
        if self.opts["export"]:
            from tf_stylegan.export.saved_model import check_export_folder

            check_export_folder(self.opts["export"], overwrite=True)  # a folder we may not write fails now
        self.restore()
        if not self.resuming:
            self._write_record()
        writer = tf.summary.create_file_writer(os.path.join(self.outdir, "logs"))
        self._log_hparams(writer)
        deadline = time.time() + self.opts["minutes"] * 60 if self.opts["minutes"] else float("inf")
        next_data = data_source(self.opts, self.info, self.model, self.strategy, self.preset.resolution)
        with stop_requests() as requested:

            def done(model):
                if requested:
                    self._stop(requested[0])
                return int(model.nimg.numpy()) >= self.target or time.time() >= deadline

            return fit_loop(self.model, next_data, self.callbacks(writer), done)

    def _stop(self, signum: int) -> None:
        """Checkpoints the step reached and raises Stopped: the end-of-run work (snapshot, metrics, export)
        is skipped, since a scheduler's grace period is short."""
        step = int(self.model.step.numpy())
        if self.store.latest_step() != step:
            self.store.save()
        raise Stopped(f"stopped by {signal.Signals(signum).name} after step {step} "
                      f"({int(self.model.nimg.numpy()) / 1000:.1f} kimg), with a checkpoint of it; continue with "
                      f"--outdir={self.outdir} --resume=latest", signum)


def train(options: Mapping[str, Any], callbacks: list[keras.callbacks.Callback] | None = None) -> dict[str, float]:
    """Trains a run of any family (see `Run`); returns the last step's logs."""
    return Run(options, callbacks).train()


_LEGACY = {"snap_kimg": "snap", "ada_stages": "ada_stages", "start_resolution": "start_res"}


def _legacy_options(stored: dict) -> dict:
    """Options recorded by the StyleGAN2 trainer before the one driver, under today's names."""
    out = {}
    for key, value in stored.items():
        key = _LEGACY.get(key, key)
        if key in SCHEMA and value is not None and key not in ("resume",):
            out[key] = value
    return out
