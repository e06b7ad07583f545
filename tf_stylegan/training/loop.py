"""The training run behind `tools.train`: data, networks, checkpoints, snapshots, guard.

A run directory holds:
  options.json          the resolved options and network configs (checked on --resume)
  checkpoints/          tf.train.CheckpointManager: the last `keep` checkpoints
  stats.jsonl           one line of losses and counters per step
  logs/                 TensorBoard scalars and snapshot grids
  snapshots/            grid-NNNNNN.png and G_ema-NNNNNN.keras at each snapshot
  G_ema.keras           the latest G_ema
A crash or `kill -9` loses at most the steps since the last checkpoint: every
file is written atomically, and `resume="latest"` restores networks,
optimizers and counters, skips the data already seen and, because every random
draw is derived from (seed, step), repeats the same losses.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tf_stylegan.data import load, read_info
from tf_stylegan.files import atomic_path, save_model_atomic
from tf_stylegan.images import save_image, tile, to_uint8
from tf_stylegan.networks.presets import load_preset
from tf_stylegan.training.progressive import ProgressiveSchedule
from tf_stylegan.training.stylegan2 import StyleGAN2, lazy_adam
from tf_stylegan.training.transfer import transfer_weights

LOG = logging.getLogger("tf_stylegan.train")
PRECISIONS = {"fp32": None, "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


class TrainingError(RuntimeError):
    """The run cannot go on; the message says why and what to do."""


@dataclasses.dataclass
class TrainOptions:
    data: str
    outdir: str
    config: str = "auto"
    kimg: float = 25000.0
    batch: int | None = None
    r1_gamma: float | None = None
    mirror: bool = True
    cond: bool = False
    precision: str = "fp32"
    g_lr: float | None = None
    d_lr: float | None = None
    snap_kimg: float = 10.0
    checkpoint_every: int = 100
    keep: int = 3
    resume: str | None = None
    init_from: str | None = None
    seed: int = 0
    max_rollbacks: int = 3
    rollback_lr_factor: float = 0.5
    blowup: float = 100.0
    grid_size: int = 16
    export: str | None = None
    progress: bool = True
    augment: str | None = None
    metrics: tuple[str, ...] = ()
    inception: str | None = None
    lpips: tuple[str, ...] = ()
    ada_stages: str | None = None
    ada_p: float | None = None  # given: a fixed ADA probability
    ada_target: float = 0.6
    minutes: float | None = None  # also stop (with a checkpoint and snapshot) after this much wall time
    g_lr_schedule: str | None = None  # 'KIMG:LR,...' (training.callbacks.LRSchedule)
    d_lr_schedule: str | None = None
    lr_balance: bool = False  # training.callbacks.LRBalance with its defaults
    start_resolution: int | None = None  # progressive presets (configs A-D): override the preset's schedule
    stable_kimg: float | None = None
    fade_kimg: float | None = None
    batch_sizes: dict[int, int] | None = None  # per-resolution batches of a growing run (default: the preset's)


def snapshot_grid(G, size: int, seed: int = 123, **call_kwargs) -> np.ndarray:
    """A uint8 grid of G's images for fixed seeds (z from `seed`; for a
    conditional G one label per sample in turn), the same at every snapshot.
    `call_kwargs` go to G (e.g. a growing stage's resolution and alpha)."""
    z = np.random.RandomState(seed).randn(size, G.z_dim).astype(np.float32)
    c = None
    if G.c_dim:
        c = np.zeros([size, G.c_dim], np.float32)
        c[np.arange(size), np.arange(size) % G.c_dim] = 1
    images = to_uint8(G(z, c, noise_mode="const", **call_kwargs)).numpy()
    cols = int(math.ceil(math.sqrt(size)))
    return tile(images, cols, int(math.ceil(size / cols)))


def make_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirrored from TF_CONFIG, else Mirrored over several devices, else the default."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


def _network_kwargs(opts: TrainOptions, info: dict, replicas: int):
    preset = load_preset(opts.config, c_dim=info["label_dim"] if opts.cond else 0, img_channels=info["channels"],
                         replicas=replicas, fallback_resolution=info["resolution"])
    if opts.cond and info["label_dim"] == 0:
        raise TrainingError(f"--cond: the dataset {opts.data} has no labels.")
    if preset.resolution > info["resolution"] or info["resolution"] % preset.resolution:
        raise TrainingError(
            f"the dataset {opts.data} is {info['resolution']}px but config {opts.config!r} trains at "
            f"{preset.resolution}px; rebuild the dataset at {preset.resolution}px or pick another --config."
        )
    lowp = PRECISIONS[opts.precision]
    for kw in (preset.G, preset.D):
        kw["lowp_dtype"] = lowp
        if lowp is not None:
            kw["num_fp16_res"] = kw.get("num_fp16_res") or 4
        if opts.precision == "fp16" and kw.get("conv_clamp") is None:
            kw["conv_clamp"] = 256
    return preset


class Trainer:
    """Builds and runs one training run; see the module docstring for its files."""

    def __init__(self, opts: TrainOptions, hooks: list[Callable] | None = None):
        if opts.precision not in PRECISIONS:
            raise TrainingError(f"--precision={opts.precision!r}: choose one of {sorted(PRECISIONS)}.")
        self.opts = opts
        self.hooks = list(hooks or []) + self._lr_hooks(opts)
        if opts.metrics:  # bad names and missing weights fail now, not at the first snapshot
            from tf_stylegan.metrics import weights
            from tf_stylegan.metrics.suite import needs_inception, parse_metric

            specs = [parse_metric(name) for name in opts.metrics]
            if needs_inception(opts.metrics):
                weights.inception_path(opts.inception)
            if any(spec.kind == "ppl" for spec in specs) and not opts.lpips:
                raise TrainingError("--metrics asks for PPL; give the LPIPS weights with --lpips.")
        self.strategy = make_strategy()
        self.info = read_info(opts.data)
        self.preset = _network_kwargs(opts, self.info, self.strategy.num_replicas_in_sync)
        t = self.preset.training
        self.batch = opts.batch or t.get("batch", 32)
        if self.batch % self.strategy.num_replicas_in_sync:
            replicas = self.strategy.num_replicas_in_sync
            raise TrainingError(f"--batch={self.batch} does not split over {replicas} replicas.")
        self.g_lr = opts.g_lr or t.get("g_lr", 0.002)
        self.d_lr = opts.d_lr or t.get("d_lr", 0.002)
        import keras

        keras.utils.set_random_seed(opts.seed)  # the initial weights are part of the run's determinism
        augment = opts.augment if opts.augment is not None else t.get("augment")
        if opts.ada_p is not None and augment != "ada":
            raise TrainingError(f"--ada-p fixes ADA's probability, but --augment is {augment!r}; add --augment=ada.")
        schedule = self._schedule(t.get("progressive"))
        with self.strategy.scope():
            G, D = self.preset.build()
            self.gan = StyleGAN2(
                G, D, r1_gamma=opts.r1_gamma if opts.r1_gamma is not None else t.get("r1_gamma", 10.0),
                pl_weight=t.get("pl_weight", 2.0), style_mixing_prob=t.get("style_mixing_prob", 0.9),
                g_reg_interval=t.get("g_reg_interval", 4), d_reg_interval=t.get("d_reg_interval", 16),
                ema_kimg=t.get("ema_kimg", 10.0), ema_rampup=t.get("ema_rampup"), seed=opts.seed,
                augment=augment, ada_stages=opts.ada_stages or t.get("ada_stages", "bgc"),
                ada_p=opts.ada_p if opts.ada_p is not None else t.get("ada_p", 0.0),
                ada_target=None if opts.ada_p is not None else opts.ada_target,
                ada_kimg=t.get("ada_kimg", 500.0), schedule=schedule,
                lazy_regularization=t.get("lazy_regularization", True),
            )
            betas = tuple(t.get("betas", (0.0, 0.99)))
            g_opt = lazy_adam(self.g_lr, betas, self.gan.lazy_intervals["g"], name="g_adam")
            d_opt = lazy_adam(self.d_lr, betas, self.gan.lazy_intervals["d"], name="d_adam")
            if opts.precision == "fp16":  # dynamic loss scaling; the step calls optimizer.scale_loss
                g_opt = keras.optimizers.LossScaleOptimizer(g_opt, name="g_loss_scale")
                d_opt = keras.optimizers.LossScaleOptimizer(d_opt, name="d_loss_scale")
            self.gan.compile(g_optimizer=g_opt, d_optimizer=d_opt)
        self.ckpt_dir = os.path.join(opts.outdir, "checkpoints")
        self.manager = tf.train.CheckpointManager(self.gan.checkpoint(), self.ckpt_dir, max_to_keep=opts.keep)
        self.writer = None
        self.rollbacks = 0
        self.base_lrs = [float(o.learning_rate.numpy()) for o in (self.gan.g_optimizer, self.gan.d_optimizer)]

    @staticmethod
    def _lr_hooks(opts: TrainOptions) -> list[Callable]:
        """The LR schedule and balance callbacks, run as per-step hooks (the loop does not use fit)."""
        from tf_stylegan.training.callbacks import LRBalance, LRSchedule

        hooks = []
        if opts.g_lr_schedule or opts.d_lr_schedule:
            schedule = LRSchedule(opts.g_lr_schedule, opts.d_lr_schedule)
            hooks.append(lambda trainer, logs: schedule.apply(trainer.gan))
        if opts.lr_balance:
            balance = LRBalance()

            def balance_hook(trainer, logs):
                balance.set_model(trainer.gan)
                balance.on_train_batch_end(None, logs)
            hooks.append(balance_hook)
        return hooks

    def _schedule(self, spec: dict | None) -> ProgressiveSchedule | None:
        """The preset's progressive schedule (configs A-D), with the flags' overrides."""
        opts = self.opts
        overrides = (opts.start_resolution, opts.stable_kimg, opts.fade_kimg, opts.batch_sizes)
        if not spec:
            if any(v is not None for v in overrides):
                raise TrainingError(f"--start-res/--stable-kimg/--fade-kimg/--batch-sizes: config {opts.config!r} does "
                                    "not grow progressively; use config-a to config-d, or --config=progan.")
            return None
        try:
            schedule = ProgressiveSchedule(
                self.preset.resolution,
                opts.start_resolution or spec.get("start_resolution", 8),
                opts.stable_kimg or spec.get("stable_kimg", 600.0),
                opts.fade_kimg or spec.get("fade_kimg", 600.0),
                batch=self.batch,
                batch_sizes=opts.batch_sizes if opts.batch_sizes is not None else spec.get("batch_sizes", {}),
            )
            schedule.check_reaches_target(opts.kimg)
        except ValueError as exc:
            raise TrainingError(str(exc)) from None
        replicas = self.strategy.num_replicas_in_sync
        for stage in schedule.stages():
            if stage.batch % replicas:
                raise TrainingError(f"the {stage.resolution}px batch of {stage.batch} does not split over {replicas} "
                                    "replicas; change --batch-sizes.")
        return schedule

    # ------------------------------------------------------------ options
    def _options_record(self) -> dict:
        return {"options": dataclasses.asdict(self.opts), "G": self.gan.G.get_config(),
                "D": self.gan.D.get_config(), "batch": self.batch}

    def _check_resume_compatible(self) -> None:
        path = os.path.join(self.opts.outdir, "options.json")
        if not os.path.isfile(path):
            return
        saved = json.load(open(path))
        for net in ("G", "D"):
            old, new = saved.get(net, {}), getattr(self.gan, net).get_config()
            # keys the saved record lacks are options added since (growing, synthesis): their defaults hold
            changed = {k: (old.get(k), new.get(k)) for k in set(old) | set(new)
                       if k not in ("name", "dtype", "lowp_dtype", "num_fp16_res") and old.get(k) != new.get(k)
                       and (k in old or new.get(k) not in (False, None, "modulated"))}
            if changed:
                raise TrainingError(
                    f"--resume with a changed architecture: {net} differs from the run in {self.opts.outdir} "
                    f"in {changed}; resume with the original --config/flags, or start a new --outdir."
                )

    # ------------------------------------------------------- checkpoints
    def restore(self) -> None:
        """Resumes (--resume) or initialises from another checkpoint (--init-from)."""
        opts = self.opts
        if not opts.resume and self.manager.latest_checkpoint:
            raise TrainingError(
                f"{opts.outdir} already holds checkpoints; pass --resume=latest to continue that run, "
                "or choose a new --outdir."
            )
        if opts.resume:
            self._check_resume_compatible()
            candidates = list(reversed(self.manager.checkpoints)) if opts.resume == "latest" else [opts.resume]
            if not candidates:
                raise TrainingError(f"--resume=latest: no checkpoint in {self.ckpt_dir}; drop --resume to start fresh.")
            for i, path in enumerate(candidates):
                try:
                    self.gan.checkpoint().restore(path).assert_existing_objects_matched()
                    if i:
                        LOG.warning("resumed from the older checkpoint %s because newer ones were unreadable.", path)
                    LOG.info("resumed from %s at step %d", path, int(self.gan.step.numpy()))
                    return
                except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError) as exc:
                    if opts.resume != "latest":
                        raise TrainingError(f"{path}: cannot resume from this checkpoint ({exc}).") from None
                    LOG.warning("checkpoint %s is unreadable (%s); trying the previous one.", path,
                                str(exc).splitlines()[0][:200])
            raise TrainingError(f"{self.ckpt_dir}: every checkpoint is unreadable; start a new run.")
        if opts.init_from:
            self._init_from(opts.init_from)

    def _init_from(self, path: str) -> None:
        from tf_stylegan.convert import load as load_checkpoint

        nets = load_checkpoint(path)
        pairs = [("G", self.gan.G), ("D", self.gan.D), ("G_ema", self.gan.G_ema)]
        for key, target in pairs:
            source = nets.get(key) or (nets.get("G_ema") if key == "G" else None)
            if source is None:
                LOG.warning("--init-from %s has no %s; it keeps its fresh weights.", path, key)
                continue
            try:
                fresh = transfer_weights(source, target)
            except ValueError as exc:
                raise TrainingError(f"--init-from {path}: its {key} does not match config {self.opts.config!r}: "
                                    f"{exc}") from None
            if fresh:
                LOG.warning("--init-from %s: %s conditioning weights start fresh (the source has other labels or "
                            "none): %s", path, key, ", ".join(fresh))
        LOG.info("initialised from %s", path)

    def save_checkpoint(self) -> str:
        return self.manager.save(checkpoint_number=int(self.gan.step.numpy()))

    # ---------------------------------------------------------------- data
    def _dataset(self):
        """The global batches from where training stands. A growing run gives each stage its own
        batch size and data order (seed + stage index), skipping the stage's batches already seen."""
        opts = self.opts
        batch, seed, skip = self.batch, opts.seed, int(self.gan.step.numpy())
        stage = self.gan.stage_at(int(self.gan.nimg.numpy()))
        if stage is not None:
            batch, seed = stage.batch, opts.seed + stage.index
            skip = (int(self.gan.nimg.numpy()) - stage.start_img) // stage.batch
        factor = self.info["resolution"] // self.preset.resolution

        def fn(ctx):
            ds = load(opts.data, batch, mirror=opts.mirror, seed=seed, input_context=ctx,
                      skip_batches=skip, labels="tags" if opts.cond else "none")
            if factor > 1:
                ds = ds.map(lambda x, y: (tf.nn.avg_pool2d(x, factor, factor, "VALID"), y))
            return ds

        return iter(self.strategy.distribute_datasets_from_function(fn))

    # ----------------------------------------------------------- snapshots
    def snapshot(self) -> str:
        nimg = int(self.gan.nimg.numpy())
        grid = snapshot_grid(self.gan.G_ema, self.opts.grid_size, **self.gan.generate_kwargs())
        snap_dir = os.path.join(self.opts.outdir, "snapshots")
        path = os.path.join(snap_dir, f"grid-{nimg:09d}.png")
        save_image(grid, path)
        save_image(grid, os.path.join(self.opts.outdir, "grid.png"))
        save_model_atomic(self.gan.G_ema, os.path.join(snap_dir, f"G_ema-{nimg:09d}.keras"))
        save_model_atomic(self.gan.G_ema, os.path.join(self.opts.outdir, "G_ema.keras"))
        if self.writer is not None:
            with self.writer.as_default(step=nimg):
                tf.summary.image("snapshot", grid[np.newaxis], max_outputs=1)
        if self.opts.metrics:
            self._metrics().run(self.gan.G_ema, nimg, snapshot=f"G_ema-{nimg:09d}.keras")
        return path

    def _metrics(self):
        """The metrics callback, built on first use (it loads the Inception and caches real features)."""
        if getattr(self, "_metric_logger", None) is None:
            from tf_stylegan.metrics import weights
            from tf_stylegan.metrics.suite import Evaluator, needs_inception
            from tf_stylegan.training.callbacks import Metrics

            inception = weights.inception_path(self.opts.inception) if needs_inception(self.opts.metrics) else None
            evaluator = Evaluator(self.opts.data, inception, weights.cache_dir(), strategy=self.strategy,
                                  progress=self.opts.progress, lpips_paths=self.opts.lpips)
            self._metric_logger = Metrics(evaluator, list(self.opts.metrics), self.opts.outdir, writer=self.writer)
        return self._metric_logger

    # ---------------------------------------------------------------- run
    def _diverged(self, logs: dict) -> str | None:
        for key, value in logs.items():
            if not np.isfinite(value):
                return f"{key} is {value}"
        for key in ("loss/G", "loss/D"):
            if abs(logs.get(key, 0.0)) > self.opts.blowup:
                return f"{key} = {logs[key]:.4g} exceeds --blowup={self.opts.blowup:g}"
        return None

    def _rollback(self, reason: str) -> None:
        self.rollbacks += 1
        if self.rollbacks > self.opts.max_rollbacks:
            raise TrainingError(
                f"training diverged ({reason}) and {self.opts.max_rollbacks} rollbacks did not help; "
                f"lower --g-lr/--d-lr or raise --gamma, then --resume=latest from {self.ckpt_dir}."
            )
        latest = self.manager.latest_checkpoint
        if latest is None:
            raise TrainingError(f"training diverged ({reason}) before the first checkpoint; lower the learning rates.")
        self.gan.checkpoint().restore(latest).assert_existing_objects_matched()
        factor = self.opts.rollback_lr_factor ** self.rollbacks
        for opt, base in zip((self.gan.g_optimizer, self.gan.d_optimizer), self.base_lrs):
            opt.learning_rate = base * factor
        LOG.warning("training diverged (%s): rolled back to %s (step %d) and scaled the learning rates by %g "
                    "(rollback %d of %d).", reason, latest, int(self.gan.step.numpy()), factor, self.rollbacks,
                    self.opts.max_rollbacks)
        self._log_event({"event": "rollback", "reason": reason, "checkpoint": latest, "lr_factor": factor})

    def _log_event(self, record: dict) -> None:
        with open(os.path.join(self.opts.outdir, "stats.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")

    def run(self) -> dict:
        """Trains until `kimg`; returns the final logs."""
        from tqdm import tqdm

        opts = self.opts
        os.makedirs(opts.outdir, exist_ok=True)
        self.restore()
        with atomic_path(os.path.join(opts.outdir, "options.json")) as tmp:
            json.dump(self._options_record(), open(tmp, "w"), indent=1)
        self.writer = tf.summary.create_file_writer(os.path.join(opts.outdir, "logs"))
        target = int(opts.kimg * 1000)
        train = self.gan.make_train_function()
        iterator = self._dataset()
        next_snap = (int(self.gan.nimg.numpy()) // int(opts.snap_kimg * 1000) + 1) * int(opts.snap_kimg * 1000)
        bar = tqdm(total=target, initial=min(int(self.gan.nimg.numpy()), target), unit="img", unit_scale=True,
                   disable=not opts.progress, desc="training")
        logs: dict = {}
        recent = collections.deque([(time.time(), int(self.gan.nimg.numpy()))], maxlen=50)
        deadline = time.time() + opts.minutes * 60 if opts.minutes else float("inf")
        while int(self.gan.nimg.numpy()) < target and time.time() < deadline:
            before = int(self.gan.nimg.numpy())
            logs = {k: float(v) for k, v in train(iterator).items()}
            for hook in self.hooks:
                hook(self, logs)
            reason = self._diverged(logs)
            if reason:
                self._rollback(reason)
                iterator = self._dataset()
                continue
            step, nimg = int(self.gan.step.numpy()), int(self.gan.nimg.numpy())
            if self.gan.stage_at(nimg) != self.gan.stage_at(before):
                iterator = self._dataset()  # a new growing stage: its batch size and data order
            self._log_event({"step": step, "nimg": nimg, **logs})
            recent.append((time.time(), nimg))
            rate = (recent[-1][1] - recent[0][1]) / max(recent[-1][0] - recent[0][0], 1e-9)  # last 50 steps
            bar.update(min(nimg, target) - bar.n)
            bar.set_postfix_str(f"kimg {nimg / 1000:.1f} sec/kimg {1000 / max(rate, 1e-9):.1f} img/s {rate:.1f}")
            if step % 10 == 0:
                with self.writer.as_default(step=nimg):
                    for key, value in logs.items():
                        tf.summary.scalar(key, value)
            if step % opts.checkpoint_every == 0:
                self.save_checkpoint()
            if nimg >= next_snap:
                self.snapshot()
                next_snap += int(opts.snap_kimg * 1000)
        bar.close()
        self.save_checkpoint()
        self.snapshot()
        if opts.export:
            from tf_stylegan.export import export_saved_model

            export_saved_model(self.gan.G_ema, opts.export, overwrite=True)  # only ever an export of ours
        self.writer.flush()
        return logs

