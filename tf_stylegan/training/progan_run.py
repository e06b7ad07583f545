"""A ProGAN training run: the `--config=progan` path of tools.train.

The networks grow to the dataset's resolution under a `ProgressiveSchedule`.
Each stage trains with its own batch size on its own data order (seeded by
seed + stage index), in chunks of `snap_kimg` that never cross a stage
boundary (training/chunked.py); after each chunk come a checkpoint (networks,
optimizers, step and image count: the stage and alpha follow from it), a grid
of G_ema at the current stage and G_ema as .keras. `resume="latest"` continues
exactly, also in the middle of a fade-in.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

import keras

from tf_stylegan.data import load, read_info
from tf_stylegan.files import atomic_path, save_model_atomic
from tf_stylegan.images import save_image
from tf_stylegan.networks.progan import ProGANDiscriminator, ProGANGenerator
from tf_stylegan.training.chunked import fit_in_chunks, open_checkpoints
from tf_stylegan.training.loop import snapshot_grid
from tf_stylegan.training.progan import ProGAN
from tf_stylegan.training.progressive import ProgressiveSchedule

# Sized for a 2-core CPU: about 10 minutes from 8x8 to 64x64 on bundled:emoji64.
CPU_BATCH_SIZES = {8: 32, 16: 32, 32: 16, 64: 16}


@dataclasses.dataclass
class ProGANOptions:
    data: str
    outdir: str
    kimg: float | None = None  # None: until the target resolution has had `stable_kimg` at full weight
    resolution: int | None = None  # the target resolution: the dataset's unless lower (reals are box-filtered)
    start_resolution: int = 8
    stable_kimg: float = 6.0
    fade_kimg: float = 6.0
    batch: int = 16
    batch_sizes: dict[int, int] = dataclasses.field(default_factory=lambda: dict(CPU_BATCH_SIZES))
    z_dim: int = 128
    channel_base: int = 2048
    channel_max: int = 128
    g_lr: float = 0.001
    d_lr: float = 0.001
    gp_weight: float = 10.0
    drift: float = 0.001
    ema_kimg: float = 1.0
    seed: int = 0
    mirror: bool = True
    cond: bool = False
    snap_kimg: float = 4.0
    resume: str | None = None
    minutes: float | None = None
    grid_size: int = 32


def build_progan(opts: ProGANOptions) -> tuple[ProGAN, float]:
    """The model for `opts` and the kimg to train, after checking options and data agree."""
    info = read_info(opts.data)
    if opts.cond:
        raise ValueError("--config=progan is unconditional: drop --cond (for tags use a StyleGAN2 config with "
                         "--cond, or --config=cgan).")
    resolution = opts.resolution or info["resolution"]
    if resolution > info["resolution"] or info["resolution"] % resolution:
        raise ValueError(f"--resolution={resolution}: the dataset {opts.data} is {info['resolution']}px; choose a "
                         "power of two that divides it.")
    schedule = ProgressiveSchedule(resolution, opts.start_resolution, opts.stable_kimg, opts.fade_kimg,
                                   opts.batch, opts.batch_sizes)
    kimg = opts.kimg if opts.kimg is not None else schedule.full_resolution_img() / 1000 + opts.stable_kimg
    schedule.check_reaches_target(kimg)
    keras.utils.set_random_seed(opts.seed)  # the initial weights are part of the run's determinism
    net = dict(img_resolution=resolution, img_channels=info["channels"], channel_base=opts.channel_base,
               channel_max=opts.channel_max)
    G = ProGANGenerator(z_dim=opts.z_dim, name="generator", **net)
    D = ProGANDiscriminator(name="discriminator", **net)
    gan = ProGAN(G, D, schedule, gp_weight=opts.gp_weight, drift=opts.drift, ema_kimg=opts.ema_kimg, seed=opts.seed)
    gan.compile(g_lr=opts.g_lr, d_lr=opts.d_lr)
    return gan, kimg


def train_progan(opts: ProGANOptions) -> dict:
    """Trains until the schedule's end (or `opts.minutes`); returns a summary."""
    gan, kimg = build_progan(opts)
    manager = open_checkpoints(gan.checkpoint(), opts.outdir, opts.resume)
    with atomic_path(os.path.join(opts.outdir, "options.json")) as tmp:
        json.dump({**dataclasses.asdict(opts), "kimg": kimg, "schedule": gan.schedule.to_dict()},
                  open(tmp, "w"), indent=1)
    total = int(kimg * 1000)

    def next_chunk():
        nimg = int(gan.nimg.numpy())
        if nimg >= total:
            return None
        stage = gan.sync_stage()
        end = total if stage.end_img is None else min(stage.end_img, total)
        done = (nimg - stage.start_img) // stage.batch
        left = math.ceil((end - nimg) / stage.batch)
        per_snap = max(1, round(opts.snap_kimg * 1000 / stage.batch))
        steps = left if left <= 1.5 * per_snap else per_snap  # no tiny chunk at a stage's end
        ds = load(opts.data, stage.batch, mirror=opts.mirror, seed=opts.seed + stage.index, skip_batches=done)
        return ds.map(lambda x, y: x), steps

    def snapshot():
        stage = gan.sync_stage()
        grid = snapshot_grid(gan.G_ema, opts.grid_size, **gan.generate_kwargs())
        nimg = int(gan.nimg.numpy())
        name = f"grid-{nimg // 1000:06d}kimg-{stage.resolution}px.png"
        save_image(grid, os.path.join(opts.outdir, "snapshots", name))
        save_image(grid, os.path.join(opts.outdir, "grid.png"))
        save_model_atomic(gan.G_ema, os.path.join(opts.outdir, "G_ema.keras"))

    callbacks = [keras.callbacks.TensorBoard(os.path.join(opts.outdir, "logs"), update_freq=20)]
    seconds = fit_in_chunks(gan, manager, next_chunk, snapshot, callbacks, opts.minutes)
    nimg = int(gan.nimg.numpy())
    return dict(step=int(gan.step.numpy()), kimg=nimg / 1000, seconds=seconds, resolution=gan.stage.resolution)
