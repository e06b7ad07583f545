"""A DCGAN / CGAN training run: the `--config=dcgan|cgan` path of tools.train.

It drives `DCGAN.fit` in chunks of `snap_kimg` (training/chunked.py), and after each chunk writes a
checkpoint (tf.train.CheckpointManager: G, D, both optimizers, the step and
the label noise), a grid of fixed seeds and G as .keras. `resume="latest"`
continues from the newest checkpoint with the same data order and random
draws (both are functions of the step). TensorBoard logs go to OUTDIR/logs.
"""

from __future__ import annotations

import dataclasses
import math
import os

import keras
import tensorflow as tf

from tf_stylegan.data import load, read_info
from tf_stylegan.files import save_model_atomic
from tf_stylegan.images import save_image
from tf_stylegan.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from tf_stylegan.training.chunked import fit_in_chunks, open_checkpoints
from tf_stylegan.training.dcgan import DCGAN, AccuracyRollback
from tf_stylegan.training.loop import snapshot_grid

CONFIGS = ("dcgan", "cgan")


@dataclasses.dataclass
class DCGANOptions:
    data: str
    outdir: str
    config: str = "dcgan"  # "cgan": conditioned on the dataset's labels (classes or multi-hot tags)
    kimg: float = 100.0
    batch: int = 64
    z_dim: int = 100
    base_channels: int = 64
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    seed: int = 0
    mirror: bool = True
    real_label: float = 1.0
    label_noise: float = 0.0
    p0: float | None = None
    rollback_patience: int = 0  # 0: no accuracy rollback
    snap_kimg: float = 10.0
    resume: str | None = None
    minutes: float | None = None
    grid_size: int = 32


def build_dcgan(opts: DCGANOptions) -> tuple[DCGAN, dict]:
    """The model for `opts` and the dataset's info, after checking they agree."""
    if opts.config not in CONFIGS:
        raise ValueError(f"DCGAN config must be one of {CONFIGS}, got {opts.config!r}.")
    info = read_info(opts.data)
    c_dim = info.get("label_dim", 0) if opts.config == "cgan" else 0
    if opts.config == "cgan" and c_dim == 0:
        raise ValueError(f"--config=cgan needs labels, but {opts.data} has none (label_dim 0); "
                         "build the dataset with --labels or use --config=dcgan.")
    G = DCGANGenerator(z_dim=opts.z_dim, c_dim=c_dim, img_resolution=info["resolution"],
                       img_channels=info["channels"], base_channels=opts.base_channels, seed=opts.seed)
    D = DCGANDiscriminator(c_dim=c_dim, img_resolution=info["resolution"], img_channels=info["channels"],
                           base_channels=opts.base_channels, seed=opts.seed)
    G.build()
    D.build()
    gan = DCGAN(G, D, real_label=opts.real_label, label_noise=opts.label_noise, p0=opts.p0, seed=opts.seed)
    gan.compile(g_lr=opts.g_lr, d_lr=opts.d_lr)
    gan.g_optimizer.build(G.trainable_variables)
    gan.d_optimizer.build(D.trainable_variables)
    return gan, info


def train_dcgan(opts: DCGANOptions) -> dict:
    """Trains until `opts.kimg` (or `opts.minutes`); returns a summary."""
    gan, _ = build_dcgan(opts)
    ckpt = tf.train.Checkpoint(G=gan.G, D=gan.D, g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
                               step=gan.step, label_noise=gan.label_noise)
    manager = open_checkpoints(ckpt, opts.outdir, opts.resume)
    total = int(math.ceil(opts.kimg * 1000 / opts.batch))
    per_snap = max(1, int(round(opts.snap_kimg * 1000 / opts.batch)))
    labels = "tags" if gan.G.c_dim else "none"

    def next_chunk():
        step = int(gan.step.numpy())
        if step >= total:
            return None
        ds = load(opts.data, opts.batch, mirror=opts.mirror, seed=opts.seed, skip_batches=step, labels=labels)
        return (ds if gan.G.c_dim else ds.map(lambda x, y: x)), min(per_snap, total - step)

    def snapshot():
        grid = snapshot_grid(gan.G, opts.grid_size)
        kimg = int(gan.step.numpy()) * opts.batch // 1000
        save_image(grid, os.path.join(opts.outdir, "snapshots", f"grid-{kimg:06d}kimg.png"))
        save_image(grid, os.path.join(opts.outdir, "grid.png"))
        save_model_atomic(gan.G, os.path.join(opts.outdir, "G.keras"))

    callbacks = [keras.callbacks.TensorBoard(os.path.join(opts.outdir, "logs"), update_freq=50)]
    if opts.rollback_patience:
        callbacks.append(AccuracyRollback(patience=opts.rollback_patience, label_noise=max(opts.label_noise, 0.05)))
    seconds = fit_in_chunks(gan, manager, next_chunk, snapshot, callbacks, opts.minutes)
    step = int(gan.step.numpy())
    return dict(step=step, kimg=step * opts.batch / 1000, seconds=seconds)
