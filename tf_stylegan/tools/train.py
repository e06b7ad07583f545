"""Train StyleGAN2 on a dataset, with checkpoints that survive crashes.

    python -m tf_stylegan.tools.train --config=paper256 --data=data/faces256 --outdir=runs/faces \\
        --kimg=5000 --batch=32 --gamma=1 --mirror --precision=bf16
    python -m tf_stylegan.tools.train ... --resume=latest          # continue after a crash or kill
    python -m tf_stylegan.tools.train ... --init-from=ffhq.pkl     # transfer learning

--data is a directory made by `tools.dataset`, or bundled:emoji64. The run
directory gets checkpoints/, stats.jsonl, TensorBoard logs/, snapshot grids
and G_ema .keras files; see tf_stylegan/training/loop.py.
"""

from __future__ import annotations

import logging

from absl import flags

from tf_stylegan.tools._cli import run

flags.DEFINE_string("config", "auto", "Preset name in configs/ (auto, cpu32, cpu64, config-a ... config-f, "
                    "paper256, tiny, ...) or a JSON path; "
                    "dcgan or cgan for the DCGAN baselines (cgan conditions on the dataset's labels); progan for "
                    "progressive growing (ProGAN, WGAN-GP).")
flags.DEFINE_string("data", None, "Dataset directory (from tools.dataset) or bundled:emoji64.")
flags.DEFINE_string("outdir", None, "Run directory (created; reused by --resume).")
flags.DEFINE_float("kimg", None, "Train until this many thousand real images have been shown (default: the preset's).")
flags.DEFINE_integer("batch", None, "Global batch size (default: the preset's).")
flags.DEFINE_float("gamma", None, "R1 weight gamma (default: the preset's).")
flags.DEFINE_boolean("mirror", True, "Random x-flips of the real images.")
flags.DEFINE_boolean("cond", False, "Condition G and D on the dataset's labels (classes or tags).")
flags.DEFINE_enum("precision", "fp32", ["fp32", "bf16", "fp16"],
                  "bf16: fast on CPUs with AVX512-BF16/AMX; fp16: GPUs only (with loss scaling).")
flags.DEFINE_float("g_lr", None, "G learning rate before the lazy-regularisation scaling (default: preset).")
flags.DEFINE_float("d_lr", None, "D learning rate before the lazy-regularisation scaling (default: preset).")
flags.DEFINE_float("snap", 10.0, "Snapshot (grid PNG and G_ema .keras) every this many kimg.")
flags.DEFINE_integer("checkpoint_every", 100, "Write a checkpoint every this many steps.")
flags.DEFINE_integer("keep", 3, "Checkpoints to keep.")
flags.DEFINE_string("resume", None, "'latest' (this --outdir's newest good checkpoint) or a checkpoint path.")
flags.DEFINE_string("init_from", None, "Start from these weights: our .keras/checkpoint or an official .pkl.")
flags.DEFINE_integer("seed", 0, "Seed of the data order and every random draw.")
flags.DEFINE_integer("max_rollbacks", 3, "Divergence guard: rollbacks to the last checkpoint before giving up.")
flags.DEFINE_float("blowup", 100.0, "Divergence guard: a G or D loss above this counts as divergence.")
flags.DEFINE_string("augment", None, "Augmentation of D's inputs: 'ada' (adaptive discriminator augmentation), "
                    "a DiffAugment policy such as color,translation,cutout, or '' for none (default: the preset's).")
flags.DEFINE_string("augpipe", None, "ADA stages: a preset (bgc, bg, blit, geom, color, bgcc) or a comma list "
                    "of stages (xflip, rotate90, xint, scale, rotate, aniso, xfrac, brightness, contrast, lumaflip, "
                    "hue, saturation, cutout). Default: the preset's, else bgc.")
flags.DEFINE_float("minutes", None, "Also stop after this many minutes of training (checkpoint and snapshot "
                   "are written as at the end of --kimg).")
flags.DEFINE_float("ada_p", None, "Fixed ADA probability in [0, 1] (default: adaptive).")
flags.DEFINE_float("ada_target", 0.6, "ADA target for the mean sign of D(real).")
flags.DEFINE_list("metrics", [], "Metrics computed at each snapshot, e.g. fid2k_full,kid2k_full "
                  "(see tools.evaluate); logged to TensorBoard and metric-*.jsonl.")
flags.DEFINE_string("inception", None, "FID Inception weights for --metrics (default: the cache).")
flags.DEFINE_list("lpips", [], "LPIPS-VGG16 weights for PPL metrics (see tools.evaluate --lpips).")
flags.DEFINE_float("p0", None, "DCGAN/CGAN: skip D's (G's) update in a step once its batch accuracy reaches p0 "
                   "(e.g. 0.999). Off by default.")
flags.DEFINE_float("real_label", 1.0, "DCGAN/CGAN: target for real images (0.9 = one-sided label smoothing).")
flags.DEFINE_float("label_noise", 0.0, "DCGAN/CGAN: probability of swapping a sample's real/fake target.")
flags.DEFINE_integer("rollback_patience", 0, "DCGAN/CGAN: roll back to the last good weights (and raise the "
                     "label noise) after this many steps with D's or G's accuracy at 0. 0: off.")
flags.DEFINE_integer("resolution", None, "ProGAN: grow to this resolution (default: the dataset's; a lower "
                     "power of two trains on box-filtered images).")
flags.DEFINE_integer("start_res", None, "Progressive growing (progan, config-a to config-d): the first resolution "
                     "(default 8).")
flags.DEFINE_float("stable_kimg", None, "Progressive growing: kimg at each resolution at full weight (default: "
                   "6 for progan, the preset's 600 for config-a to config-d).")
flags.DEFINE_float("fade_kimg", None, "Progressive growing: kimg over which each new resolution fades in "
                   "(default: 6 for progan, the preset's 600 for config-a to config-d).")
flags.DEFINE_list("batch_sizes", None, "Progressive growing: per-resolution batch sizes as RES:BATCH, e.g. "
                  "8:64,16:32; other resolutions use --batch (progan default 8:32,16:32,32:16,64:16; config-a to "
                  "config-d: the preset's).")
flags.DEFINE_list("g_lr_schedule", None, "G learning rates from given kimg on, as KIMG:LR (before the lazy "
                  "scaling), e.g. 0:0.002,200:0.001,400:0.0003.")
flags.DEFINE_list("d_lr_schedule", None, "D learning rates from given kimg on, as KIMG:LR; e.g. 100:0.0001 turns "
                  "only D down (10-50x is the anime practice).")
flags.DEFINE_boolean("lr_balance", False, "Lower D's learning rate (10x) when D wins almost every sample for 50 "
                     "steps, and both (3x) when loss/G runs away; every change is logged.")
flags.DEFINE_string("export", None, "Also write G_ema as a SavedModel here when training ends.")
flags.mark_flags_as_required(["data", "outdir"])
FLAGS = flags.FLAGS


def main(argv):
    from tf_stylegan.networks.presets import load_preset
    from tf_stylegan.training.loop import Trainer, TrainingError, TrainOptions

    logging.getLogger("tf_stylegan").setLevel(logging.INFO)
    from tf_stylegan.training import dcgan_run

    if FLAGS.config in dcgan_run.CONFIGS or FLAGS.config == "progan":
        _refuse_augmentation(FLAGS.config)
    if FLAGS.config in dcgan_run.CONFIGS:
        return _train_dcgan(dcgan_run)
    if FLAGS.config == "progan":
        return _train_progan()
    kimg = FLAGS.kimg
    if kimg is None:
        kimg = load_preset(FLAGS.config, fallback_resolution=256).training.get("kimg", 25000)
    opts = TrainOptions(
        data=FLAGS.data, outdir=FLAGS.outdir, config=FLAGS.config, kimg=kimg, batch=FLAGS.batch,
        r1_gamma=FLAGS.gamma, mirror=FLAGS.mirror, cond=FLAGS.cond, precision=FLAGS.precision,
        g_lr=FLAGS.g_lr, d_lr=FLAGS.d_lr, snap_kimg=FLAGS.snap, checkpoint_every=FLAGS.checkpoint_every,
        keep=FLAGS.keep, resume=FLAGS.resume, init_from=FLAGS.init_from, seed=FLAGS.seed,
        max_rollbacks=FLAGS.max_rollbacks, blowup=FLAGS.blowup, export=FLAGS.export, augment=FLAGS.augment,
        ada_stages=FLAGS.augpipe, ada_p=FLAGS.ada_p, ada_target=FLAGS.ada_target,
        minutes=FLAGS.minutes, batch_sizes=None if FLAGS.batch_sizes is None else _parse_batch_sizes(FLAGS.batch_sizes),
        g_lr_schedule=",".join(FLAGS.g_lr_schedule or []) or None,
        d_lr_schedule=",".join(FLAGS.d_lr_schedule or []) or None, lr_balance=FLAGS.lr_balance,
        start_resolution=FLAGS.start_res, stable_kimg=FLAGS.stable_kimg,
        fade_kimg=FLAGS.fade_kimg, metrics=tuple(FLAGS.metrics), inception=FLAGS.inception, lpips=tuple(FLAGS.lpips),
    )
    try:
        Trainer(opts).run()
    except TrainingError as exc:
        raise ValueError(str(exc)) from None
    print(f"done: {FLAGS.outdir}/G_ema.keras, grid {FLAGS.outdir}/grid.png"
          + (f", SavedModel {FLAGS.export}" if FLAGS.export else ""))


def _refuse_augmentation(config: str) -> None:
    """--augment and the ADA flags apply to StyleGAN2's D only; elsewhere they would be silently ignored."""
    given = [f"--{name}" for name in ("augment", "augpipe", "ada_p") if FLAGS[name].present]
    if given:
        raise ValueError(f"{', '.join(given)}: --config={config} has no augmentation of D's inputs (ADA and "
                         "DiffAugment are StyleGAN2 options); drop the flag or train a StyleGAN2 preset such as "
                         "--config=cpu32.")


def _train_dcgan(dcgan_run) -> None:
    if FLAGS.cond and FLAGS.config == "dcgan":
        raise ValueError("--cond: --config=dcgan is unconditional; use --config=cgan to condition on the labels.")
    defaults = dcgan_run.DCGANOptions(data="", outdir="")
    opts = dcgan_run.DCGANOptions(
        data=FLAGS.data, outdir=FLAGS.outdir, config=FLAGS.config,
        kimg=FLAGS.kimg if FLAGS.kimg is not None else defaults.kimg,
        batch=FLAGS.batch or defaults.batch, g_lr=FLAGS.g_lr or defaults.g_lr, d_lr=FLAGS.d_lr or defaults.d_lr,
        seed=FLAGS.seed, mirror=FLAGS.mirror, real_label=FLAGS.real_label, label_noise=FLAGS.label_noise,
        p0=FLAGS.p0, rollback_patience=FLAGS.rollback_patience, snap_kimg=FLAGS.snap, resume=FLAGS.resume,
        minutes=FLAGS.minutes,
    )
    summary = dcgan_run.train_dcgan(opts)
    print(f"done: {summary['kimg']:.1f} kimg in {summary['seconds']:.0f} s; {FLAGS.outdir}/G.keras, "
          f"grid {FLAGS.outdir}/grid.png")


def _parse_batch_sizes(items: list[str]) -> dict[int, int]:
    sizes = {}
    for item in items:
        res, sep, batch = item.partition(":")
        if not sep or not res.strip().isdigit() or not batch.strip().isdigit():
            raise ValueError(f"--batch_sizes: {item!r} is not RES:BATCH (e.g. 16:32).")
        sizes[int(res)] = int(batch)
    return sizes


def _train_progan() -> None:
    from tf_stylegan.training import progan_run

    defaults = progan_run.ProGANOptions(data="", outdir="")
    opts = progan_run.ProGANOptions(
        data=FLAGS.data, outdir=FLAGS.outdir, kimg=FLAGS.kimg, resolution=FLAGS.resolution,
        start_resolution=FLAGS.start_res or defaults.start_resolution,
        stable_kimg=FLAGS.stable_kimg or defaults.stable_kimg, fade_kimg=FLAGS.fade_kimg or defaults.fade_kimg,
        batch=FLAGS.batch or defaults.batch,
        batch_sizes=defaults.batch_sizes if FLAGS.batch_sizes is None else _parse_batch_sizes(FLAGS.batch_sizes),
        g_lr=FLAGS.g_lr or defaults.g_lr, d_lr=FLAGS.d_lr or defaults.d_lr, seed=FLAGS.seed, mirror=FLAGS.mirror,
        cond=FLAGS.cond, snap_kimg=FLAGS.snap, resume=FLAGS.resume, minutes=FLAGS.minutes,
    )
    summary = progan_run.train_progan(opts)
    print(f"done: {summary['kimg']:.1f} kimg at {summary['resolution']}px in {summary['seconds']:.0f} s; "
          f"{FLAGS.outdir}/G_ema.keras, grid {FLAGS.outdir}/grid.png")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
