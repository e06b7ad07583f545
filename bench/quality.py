"""Quality per CPU-minute: training variants x datasets x seeds, each under the same wall-clock budget.

    .venv/bin/python bench/quality.py --inception=.cache/weights/fid_helper_default_1.pt \
        --variants=cpu32-before,cpu32 --data=bundled:emoji64,bundled:fluent64 --seeds=0,1,2 \
        --minutes=20 --marks=10

Runs one after another (never side by side, so each has the whole machine).
A variant is a preset plus option values, every one of which a user can set
too (VARIANTS below; --variant NAME=JSON adds one). Each run trains for
--minutes of wall time (tracing included, as a user waits for it; the
fine-tuning variants have their own 10 minutes, the budget they are judged at) and keeps
G_ema at each of --marks minutes; afterwards FID of G_ema (--num-gen samples,
truncation 1) against all real images of the dataset, box-filtered to G's
resolution as the run saw them, is computed at every mark and at the end.

Per data, variant and mark the table gives FID as mean, sample standard
deviation, min and max over the seeds, and the means of kimg, img/s, D's late
accuracies and ADA's largest p, with the grids, the precision the runs trained
in and the CPU they ran on (bf16 on AVX512-BF16 and float32 on AVX2 differ
about 2x in images per minute: figures from different kinds do not compare).
A finished run's figures are kept in OUTDIR/<data>/<variant>/seed<N>/result.json
and reused, so a table can grow over several sittings (a run cut off before its
result starts again). docs/quality_runs keeps the result.json files of the sittings
since cpu32-narrow, in the same layout, so that a later checkout can copy them into
its OUTDIR (or gather them with --kept --outdir=docs/quality_runs); --fresh ignores
them, --kept trains nothing and gathers them, --remeasure measures again the kept
runs whose FID was taken against the full-size reals (before the metric compared at
G's resolution). The JSON goes to --json; --table prints the markdown table of a
JSON written before.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KIND = "quality_run"  # the marker of a run folder this harness made (and may replace when it was cut off)
# What FID's reals are. Results from before the metric compared at G's resolution (all against the 64 px
# reals, which put a floor of about 55-64 under every 32 px network) lack this and are not mixed with newer ones.
REALS = "box-filtered to G's resolution"
ROOT = os.path.dirname(HERE)

# The levers are measured against cpu32 as it was when this harness began (bench/presets/cpu32-before.json),
# so that a kept figure keeps meaning what it meant when the shipped cpu32 changes; "cpu32" is the shipped one.
BEFORE = os.path.join(HERE, "presets", "cpu32-before.json")

NARROW = {"G": {"channel_max": 64}, "D": {"channel_max": 64}}  # at most 64 channels in G and D
# cpu32 at learning rates 0.003 with at most 64 channels, pinned in a file like BEFORE, so that the cpu32-narrow
# variants keep their meaning when the shipped cpu32 changes (the same preset as {"config": "cpu32", "preset": NARROW}
# until then).
CPU32_NARROW = os.path.join(HERE, "presets", "cpu32-narrow.json")
LR5E3 = {"g_lr": 0.005, "d_lr": 0.005}  # the learning rates of cpu32-narrow-lr5e-3, the candidate for cpu32
R3GAN = {"loss": "r3gan", "pl_weight": 0, "style_mixing_prob": 0}  # R3GAN's objective and no other tricks
# Fine-tuning bundled:emoji32 with cpu32-narrow-lr5e-3, the cpu32 that the finetune-cpu32 variants were measured
# with (the logistic loss with path length), pinned so that their kept figures keep their meaning.
FINETUNE = {**LR5E3, "init_from": "bundled:emoji32"}

# name -> {"config": preset, "preset": {"G"/"D"/"training": overrides of the preset's sections},
#          "options": run options (tf_stylegan.run.options.SCHEMA), "minutes": its own budget (else --minutes)}
VARIANTS: dict[str, dict] = {
    "cpu32-before": {"config": BEFORE,
                     "about": "cpu32 as it was before this harness (ADA, lr 0.002, batch 16)"},
    "cpu32": {"config": "cpu32", "about": "the cpu32 preset as it is now"},
    "none": {"config": BEFORE, "options": {"augment": ""}, "about": "old cpu32 without augmentation"},
    "diffaugment": {"config": BEFORE, "options": {"augment": "color,translation,cutout"},
                    "about": "old cpu32 with DiffAugment instead of ADA"},
    "grow": {"config": "cpu32-grow", "about": "progressive growing 8 -> 32 px"},
    "grow-ada": {"config": "cpu32-grow", "options": {"augment": "ada", "ada_kimg": 20, "g_lr": 0.003, "d_lr": 0.003},
                 "about": "progressive growing 8 -> 32 px with today's cpu32's ADA (ada_kimg 20) and learning "
                          "rates (0.003)"},
    "r3gan": {"config": BEFORE, "options": R3GAN,
              "about": "R3GAN's relativistic pairing loss with R1 + R2, no path length, no mixing"},
    "no-pl": {"config": BEFORE, "options": {"pl_weight": 0}, "about": "old cpu32 without path length"},
    "lr3e-3": {"config": BEFORE, "options": {"g_lr": 0.003, "d_lr": 0.003}, "about": "learning rates 0.003"},
    "lr5e-3": {"config": BEFORE, "options": {"g_lr": 0.005, "d_lr": 0.005}, "about": "learning rates 0.005"},
    "batch8": {"config": BEFORE, "options": {"batch": 8}, "about": "batch 8 (twice the steps per image)"},
    "batch32": {"config": BEFORE, "options": {"batch": 32}, "about": "batch 32"},
    "ema5": {"config": BEFORE, "options": {"ema_kimg": 5}, "about": "G_ema half-life 5 kimg"},
    "gamma0.3": {"config": BEFORE, "options": {"r1_gamma": 0.3}, "about": "R1 gamma 0.3"},
    "mapping4": {"config": BEFORE, "preset": {"G": {"mapping_layers": 4}}, "about": "4 mapping layers"},
    "wide": {"config": BEFORE, "preset": {"G": {"channel_base": 4096, "channel_max": 256},
                                           "D": {"channel_base": 4096, "channel_max": 256}},
             "about": "twice the channels"},
    "narrow": {"config": BEFORE, "preset": NARROW,
               "about": "at most 64 channels (half of cpu32's below 32 px): about half the FLOPs per image"},
    "cpu32-narrow": {"config": CPU32_NARROW,
                     "about": "cpu32 at learning rates 0.003 with at most 64 channels: about half the FLOPs per image"},
    "cpu32-narrow48": {"config": CPU32_NARROW, "preset": {"G": {"channel_max": 48}, "D": {"channel_max": 48}},
                       "about": "cpu32 at learning rates 0.003 with at most 48 channels"},
    "cpu32-narrow-batch32": {"config": CPU32_NARROW, "options": {"batch": 32},
                             "about": "cpu32-narrow at batch 32: fewer, larger steps for the small convolutions"},
    "cpu32-narrow-no-pl": {"config": CPU32_NARROW, "options": {"pl_weight": 0},
                           "about": "cpu32-narrow without path length"},
    "cpu32-narrow-lr5e-3": {"config": CPU32_NARROW, "options": LR5E3,
                            "about": "cpu32-narrow at learning rates 0.005"},
    # The levers again, each on top of cpu32-narrow-lr5e-3 (the candidate for cpu32), one change at a time.
    "cpu32-narrow48-lr5e-3": {"config": CPU32_NARROW, "preset": {"G": {"channel_max": 48}, "D": {"channel_max": 48}},
                              "options": LR5E3, "about": "cpu32-narrow-lr5e-3 with at most 48 channels"},
    "cpu32-narrow-lr7e-3": {"config": CPU32_NARROW, "options": {"g_lr": 0.007, "d_lr": 0.007},
                            "about": "cpu32-narrow at learning rates 0.007: 0.003 -> 0.005 helped on both sets"},
    "cpu32-narrow-lr5e-3-no-pl": {"config": CPU32_NARROW, "options": {**LR5E3, "pl_weight": 0},
                                  "about": "cpu32-narrow-lr5e-3 without path length"},
    "cpu32-narrow-lr5e-3-batch32": {"config": CPU32_NARROW, "options": {**LR5E3, "batch": 32},
                                    "about": "cpu32-narrow-lr5e-3 at batch 32"},
    "cpu32-narrow-lr5e-3-r3gan": {"config": CPU32_NARROW, "options": {**LR5E3, **R3GAN},
                                  "about": "cpu32-narrow-lr5e-3 with R3GAN's loss, no path length, no mixing"},
    "cpu32-narrow-lr5e-3-noaug": {"config": CPU32_NARROW, "options": {**LR5E3, "augment": ""},
                                  "about": "cpu32-narrow-lr5e-3 without ADA"},
    "cpu32-narrow-lr5e-3-gamma0.3": {"config": CPU32_NARROW, "options": {**LR5E3, "r1_gamma": 0.3},
                                     "about": "cpu32-narrow-lr5e-3 at R1 gamma 0.3"},
    "cpu32-narrow-lr5e-3-nomix": {"config": CPU32_NARROW, "options": {**LR5E3, "style_mixing_prob": 0},
                                  "about": "cpu32-narrow-lr5e-3 without style mixing"},
    "ada-fast": {"config": BEFORE, "options": {"ada_kimg": 5}, "about": "ADA's p adapts 4x faster"},
    "ada-target0.5": {"config": BEFORE, "options": {"ada_target": 0.5}, "about": "ADA target 0.5"},
    "reg8": {"config": BEFORE, "options": {"d_reg_interval": 8, "g_reg_interval": 8},
             "about": "lazy regularisation every 8 steps"},
    "cifar-reg": {"config": BEFORE, "options": {"r1_gamma": 0.01, "pl_weight": 0, "style_mixing_prob": 0},
                  "about": "the official cifar config's regularisation: R1 gamma 0.01, no path length, no mixing"},
    "gamma0.1-no-pl": {"config": BEFORE, "options": {"r1_gamma": 0.1, "pl_weight": 0, "style_mixing_prob": 0},
                       "about": "R1 gamma 0.1, no path length, no mixing"},
    "scratch10": {"config": BEFORE, "minutes": 10,
                  "about": "old cpu32 from scratch for 10 minutes, the fine-tuning variants' baseline"},
    "scratch10-cpu32": {"config": CPU32_NARROW, "options": LR5E3, "minutes": 10,
                        "about": "cpu32-narrow-lr5e-3 from scratch for 10 minutes: the baseline of fine-tuning "
                                 "with it"},
    "finetune": {"config": BEFORE, "options": {"init_from": "bundled:emoji32"}, "minutes": 10,
                 "about": "fine-tuning the pretrained emoji32 for 10 minutes"},
    "finetune-cpu32": {"config": CPU32_NARROW, "options": FINETUNE, "minutes": 10,
                       "about": "fine-tuning emoji32 for 10 minutes with cpu32-narrow-lr5e-3"},
    "finetune-freezed2": {"config": BEFORE, "options": {"init_from": "bundled:emoji32", "freeze_d": 2},
                          "minutes": 10, "about": "fine-tuning emoji32 with D's first 2 blocks frozen, 10 minutes"},
    "finetune-cpu32-freezed2": {"config": CPU32_NARROW, "minutes": 10,
                                "options": {**FINETUNE, "freeze_d": 2},
                                "about": "finetune-cpu32 with D's first 2 blocks frozen"},
    "finetune-cpu32-freezed3": {"config": CPU32_NARROW, "minutes": 10,
                                "options": {**FINETUNE, "freeze_d": 3},
                                "about": "finetune-cpu32 with all 3 of D's blocks frozen (only its 4x4 head "
                                         "trains)"},
    "finetune-cpu32-freezed2-ema5": {"config": CPU32_NARROW, "minutes": 10,
                                     "options": {**FINETUNE, "freeze_d": 2, "ema_kimg": 5, "ema_rampup": None},
                                     "about": "finetune-cpu32-freezed2 with G_ema's half-life 5 kimg and no ramp-up "
                                              "(a fine-tuned G starts good, so G_ema need not follow it closely)"},
    "finetune-cpu32-freezed2-lr1.5e-3": {"config": CPU32_NARROW, "minutes": 10,
                                         "options": {**FINETUNE, "freeze_d": 2, "g_lr": 0.0015, "d_lr": 0.0015},
                                         "about": "finetune-cpu32-freezed2 at half the learning rates (0.0015): "
                                                  "G keeps more of what it learnt on emoji64"},
    "finetune-cpu32-freezed2-lr5e-3": {"config": CPU32_NARROW, "minutes": 10,
                                       "options": {**FINETUNE, "freeze_d": 2},
                                       "about": "finetune-cpu32-freezed2 at learning rates 0.005: G moves to "
                                                "the new data faster (cpu32's own rates since it became 64 "
                                                "channels, so now the same run as finetune-cpu32-freezed2)"},
    "finetune-cpu32-freezed1": {"config": CPU32_NARROW, "minutes": 10,
                                "options": {**FINETUNE, "freeze_d": 1},
                                "about": "finetune-cpu32 with only D's first block frozen"},
    "finetune-cpu32-freezed2-noaug": {"config": CPU32_NARROW, "minutes": 10,
                                      "options": {**FINETUNE, "freeze_d": 2, "augment": ""},
                                      "about": "finetune-cpu32-freezed2 without ADA: 10 minutes are about 65 passes "
                                               "over fluent64, perhaps too few for D to overfit"},
    "finetune-cpu32-freezed1-noaug": {"config": CPU32_NARROW, "minutes": 10,
                                      "options": {**FINETUNE, "freeze_d": 1, "augment": ""},
                                      "about": "the two single-seed gains together: only D's first block frozen "
                                               "and no ADA"},
    "finetune-cpu32-noaug": {"config": CPU32_NARROW, "minutes": 10,
                             "options": {**FINETUNE, "augment": ""},
                             "about": "finetune-cpu32-freezed1-noaug with nothing of D frozen: each block of D "
                                      "unfrozen helped more without ADA than with it"},
    "finetune-cpu32-r3gan-freezed1-noaug": {"config": CPU32_NARROW, "minutes": 10,
                                            "options": {**FINETUNE, **R3GAN, "freeze_d": 1, "augment": ""},
                                            "about": "finetune-cpu32-freezed1-noaug with R3GAN's loss (cpu32 "
                                                     "with --loss=r3gan), from the emoji32 trained with the "
                                                     "logistic loss"},
    "finetune-cpu32-freezed1-noaug-batch8": {"config": CPU32_NARROW, "minutes": 10,
                                             "options": {**FINETUNE, "freeze_d": 1, "augment": "", "batch": 8},
                                             "about": "finetune-cpu32-freezed1-noaug at batch 8: fewer images per "
                                                      "minute, half again as many steps"},
    "finetune-cpu32-freezed1-noaug-batch8-nopl": {"config": CPU32_NARROW, "minutes": 10,
                                                  "options": {**FINETUNE, "freeze_d": 1, "augment": "", "batch": 8,
                                                              "pl_weight": 0},
                                                  "about": "finetune-cpu32-freezed1-noaug-batch8 without path "
                                                           "length regularisation: its G steps are the dearest"},
    "finetune-cpu32-freezed1-noaug-batch8-nopl-gamma3": {"config": CPU32_NARROW, "minutes": 10,
                                                         "options": {**FINETUNE, "freeze_d": 1, "augment": "",
                                                                     "batch": 8, "pl_weight": 0, "r1_gamma": 3},
                                                         "about": "finetune-cpu32-freezed1-noaug-batch8-nopl at R1 "
                                                                  "gamma 3: a smoother D against its late "
                                                                  "overfitting (real accuracy 0.94)"},
    "finetune-cpu32-freezed1-noaug-batch8-nopl-dlr2.5e-3": {"config": CPU32_NARROW, "minutes": 10,
                                                            "options": {**FINETUNE, "freeze_d": 1, "augment": "",
                                                                        "batch": 8, "pl_weight": 0,
                                                                        "d_lr": 0.0025},
                                                            "about": "finetune-cpu32-freezed1-noaug-batch8-nopl "
                                                                     "with D at half G's learning rate: D "
                                                                     "overfits the small set more slowly"},
    "finetune-cpu32-r3gan-freezed1-noaug-batch8": {"config": CPU32_NARROW, "minutes": 10,
                                                   "options": {**FINETUNE, **R3GAN, "freeze_d": 1, "augment": "",
                                                               "batch": 8},
                                                   "about": "finetune-cpu32-r3gan-freezed1-noaug at batch 8: "
                                                            "R3GAN's loss (it led at 5 minutes on the EPYC) with "
                                                            "the steps that batch 8 gave"},
    "finetune-cpu32-freezed1-noaug-batch4": {"config": CPU32_NARROW, "minutes": 10,
                                             "options": {**FINETUNE, "freeze_d": 1, "augment": "", "batch": 4},
                                             "about": "finetune-cpu32-freezed1-noaug at batch 4 (one minibatch-"
                                                      "stddev group): whether halving the batch again still pays"},
    "finetune-cpu32-freezed1-translation": {"config": CPU32_NARROW, "minutes": 10,
                                            "options": {**FINETUNE, "freeze_d": 1, "augment": "translation"},
                                            "about": "finetune-cpu32-freezed1-noaug with DiffAugment's translation "
                                                     "only: a cheap curb on D's late overfitting"},
    "finetune-cpu32-r3gan-freezed1-noaug-batch8-30min": {"config": CPU32_NARROW, "minutes": 30,
                                                         "options": {**FINETUNE, **R3GAN, "freeze_d": 1,
                                                                     "augment": "", "batch": 8},
                                                         "about": "finetune-cpu32-r3gan-freezed1-noaug-batch8 for "
                                                                  "30 minutes: where the 64-channel network's "
                                                                  "fine-tuning curve levels off"},
    "finetune-cpu32-freezed2-20min": {"config": CPU32_NARROW, "minutes": 20,
                                      "options": {**FINETUNE, "freeze_d": 2},
                                      "about": "finetune-cpu32-freezed2 for 20 minutes: how far the path goes "
                                               "with twice the time"},
}

# Fine-tuning figures measured from the first bundled emoji32 (200 kimg of pretraining), which a longer-trained
# one has replaced: kept for the record under these names, gathered by --kept, no longer trainable.
FIRST_EMOJI32 = "bundled:emoji32 as first shipped (200 kimg), since replaced"
VARIANTS.update({
    f"{name}-emoji32v1": {**VARIANTS[name], "about": f"{VARIANTS[name]['about']}; from {FIRST_EMOJI32}",
                          "retired": FIRST_EMOJI32}
    for name in ("finetune", "finetune-cpu32", "finetune-freezed2", "finetune-cpu32-freezed2")
})
# The old cpu32's networks (128 channels) cannot start from today's emoji32, which has cpu32's 64: these two
# measured the fine-tuning path with the 128-channel emoji32 that it replaced.
WIDE_EMOJI32 = "bundled:emoji32 had 128 channels until the 64-channel one (744 kimg) replaced it"
for name in ("finetune", "finetune-freezed2"):
    VARIANTS[name] = {**VARIANTS[name], "retired": WIDE_EMOJI32}


def preset_for(variant: dict, outdir: str) -> str:
    """The variant's preset: its name, or a JSON written into `outdir` with the section overrides applied."""
    from tf_stylegan.networks.presets import read_preset

    if not variant.get("preset"):
        return variant["config"]
    spec = copy.deepcopy(read_preset(variant["config"])[1])
    for section, values in variant["preset"].items():
        if section not in ("G", "D", "training"):
            raise ValueError(f"a variant overrides the preset sections G, D and training, not {section!r}.")
        spec.setdefault(section, {}).update(values)
    path = os.path.join(outdir, "preset.json")
    with open(path, "w") as f:
        json.dump(spec, f, indent=1)
    return path


def minute_marks(marks: list[float], probe=None):
    """A Keras callback keeping copies of G_ema's weights (and the image count) at given training minutes,
    in `.saved` {minute: (weights, nimg, {probe setting: that average's weights})}."""
    import keras

    class MinuteMarks(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.pending, self.saved, self.start = sorted(marks), {}, None

        def on_train_begin(self, logs=None):
            self.start = time.time()

        def on_train_batch_end(self, batch, logs=None):
            while self.pending and time.time() - self.start >= self.pending[0] * 60:
                mark = self.pending.pop(0)
                self.saved[mark] = ([w.numpy() for w in self.model.G_ema.weights], int(self.model.nimg.numpy()),
                                    probe.all_weights() if probe else {})

    return MinuteMarks()


def parse_ema_probe(spec: str) -> dict[str, tuple[float, float | None]]:
    """--ema_probe's averages, KIMG or KIMG:RAMPUP each, as {name: (half-life in kimg, ramp-up or None for the
    run's)}; a value that is not a positive number is an error."""
    out = {}
    for item in filter(None, spec.split(",")):
        try:
            values = [float(v) for v in item.split(":")]
        except ValueError:
            values = []
        if len(values) not in (1, 2) or not all(0 < v < 1e6 for v in values):  # NaN fails this too
            raise ValueError(f"--ema_probe: {item!r} is not KIMG or KIMG:RAMPUP with positive numbers.")
        out[":".join(f"{v:g}" for v in values)] = (values[0], values[1] if len(values) == 2 else None)
    return out


def ema_probe(averages: dict[str, tuple[float, float | None]]):
    """A Keras callback keeping, beside the run's G_ema, averages of G with other half-lives (kimg) and
    ramp-ups (None: the run's), each updated after every step by the step's own rule (`ema_beta` at the image
    count the step began at), from G_ema's weights at the start. G_ema feeds nothing back into training, so
    each average is the G_ema that a run with that `ema_kimg` and `ema_rampup` would have had on this very
    trajectory: several settings compare on one run, free of the seed-to-seed spread. `.all_weights()` gives
    {name: G_ema's weights with the average's in place of its trainable ones}."""
    import keras
    import tensorflow as tf

    from tf_stylegan.training.base import ema_beta

    class EmaProbe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            G, G_ema = self.model.G, self.model.G_ema
            self.averages = [[tf.Variable(v) for v in G_ema.trainable_variables] for _ in averages]
            self.nimg = int(self.model.nimg.numpy())
            settings = [(h, self.model.ema_rampup if r is None else r) for h, r in averages.values()]

            def update(nimg, batch):  # one traced function: the weights and their updates in one call per step
                for (half_life, rampup), average in zip(settings, self.averages):
                    beta = ema_beta(half_life, rampup, nimg, batch)
                    for a, p in zip(average, G.trainable_variables):
                        a.assign(p + (a - p) * beta)

            self.update = tf.function(update, autograph=False)

        def on_train_batch_end(self, batch, logs=None):
            nimg = int(self.model.nimg.numpy())
            if nimg <= self.nimg:
                raise RuntimeError(f"--ema_probe: the image count went back ({self.nimg} -> {nimg}, a rollback); "
                                   "the averages no longer follow the run's G_ema.")
            self.update(tf.constant(self.nimg, tf.int64), tf.constant(nimg - self.nimg, tf.int64))
            self.nimg = nimg

        def all_weights(self) -> dict[str, list]:
            G_ema, out = self.model.G_ema, {}
            for name, average in zip(averages, self.averages):
                by_id = {id(v): a for v, a in zip(G_ema.trainable_variables, average)}
                out[name] = [by_id.get(id(w), w).numpy() for w in G_ema.weights]
            return out

    return EmaProbe()


def late_statistics(stats_path: str, steps: int = 200) -> dict:
    """D's accuracy on reals and fakes over the last `steps` steps (how far D is ahead) and the largest p."""
    rows = [json.loads(line) for line in open(stats_path)]
    rows = [r for r in rows if "D_real_acc" in r]
    late = rows[-steps:]
    return {
        "late_D_real_acc": round(sum(r["D_real_acc"] for r in late) / len(late), 3),
        "late_D_fake_acc": round(sum(r["D_fake_acc"] for r in late) / len(late), 3),
        "ada_p_max": round(max(r.get("ada_p", 0.0) for r in rows), 3),
    }


def run_folder(root: str, data: str, name: str, seed: int) -> str:
    return os.path.join(root, data.replace(":", "_").replace("/", "_"), name, f"seed{seed}")


def kept_result(folder: str, minutes: float) -> dict | None:
    """The figures of a finished run in `folder`, None if there is none; one of another budget is refused."""
    path = os.path.join(folder, "result.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        kept = json.load(f)
    if kept.get("reals") != REALS:
        raise SystemExit(f"{path}: FID measured against the dataset's full-size reals, not at G's resolution; "
                         "--remeasure measures its kept G_ema again (its last mark only), --fresh trains it again.")
    if kept["minutes"] != minutes:
        raise SystemExit(f"{path}: kept from a {kept['minutes']:g}-minute budget, not {minutes:g}; "
                         "pass --fresh to train it again.")
    grid = grid_path(folder)
    if not os.path.isfile(grid):  # a record kept without its run (docs/quality_runs): the grid it named
        grid = kept.get("grid")
    return {**kept, "grid": grid, "precision": kept.get("precision") or run_precision(folder)}


def run_precision(folder: str) -> str | None:
    """The precision a run trained in, as the run recorded it ("auto" resolved on the machine that trained it)."""
    try:
        with open(os.path.join(folder, "run", "options.json")) as f:
            return json.load(f)["options"]["precision"]
    except (OSError, KeyError, TypeError, ValueError):
        return None


def cpu_description() -> str:
    """This machine's CPU model and whether it has AVX-512 and bfloat16 instructions: figures from CPUs of
    different kinds (bf16 against float32 training) are not comparable."""
    from tf_stylegan.run.precision import BF16_FLAGS, cpu_flags

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    flags = cpu_flags()
    kind = ("AVX512-BF16" if any(f in flags for f in BF16_FLAGS) else "AVX-512, no BF16" if "avx512f" in flags
            else "no AVX-512")
    return f"{model} ({kind})"


def grid_path(folder: str) -> str:
    """A run's last grid, named relative to the working directory (the table is portable when both are
    written from the checkout with a relative --outdir)."""
    return os.path.relpath(os.path.join(folder, "run", "grid.png"))


def budget(variant: dict, args) -> float:
    return float(variant.get("minutes", args.minutes))


def train_one(data: str, name: str, variant: dict, seed: int, args, evaluator) -> dict:
    """Trains one variant with one seed for the budget; returns its figures (and writes result.json)."""
    import keras

    from tf_stylegan.files import check_output_folder, write_marker
    from tf_stylegan.run import Run

    outdir = run_folder(args.outdir, data, name, seed)
    result_path = os.path.join(outdir, "result.json")
    minutes = budget(variant, args)
    if not args.fresh and (kept := kept_result(outdir, minutes)):
        missing = [s for s in args.ema_probe if s not in kept.get("ema_probe", {}).get("marks", {})]
        if missing:  # the kept run cannot give them: say so rather than return it without them
            raise SystemExit(f"{result_path}: kept without the --ema_probe averages {', '.join(missing)}; "
                             "pass --fresh to train it again with them, or another --outdir.")
        return kept
    if check_output_folder(outdir, KIND, overwrite=True):  # a run of this harness, cut off: start again
        shutil.rmtree(outdir)
    os.makedirs(outdir, exist_ok=True)
    write_marker(outdir, KIND)
    config = preset_for(variant, outdir)
    keras.backend.clear_session()
    probe = ema_probe(args.ema_probe) if args.ema_probe else None
    marks = minute_marks([m for m in args.marks if m < minutes], probe)
    run = Run(dict(data=data, outdir=os.path.join(outdir, "run"), config=config, kimg=1e6, minutes=minutes,
                   snap=1e6, checkpoint_every=10**9, progress=False, seed=seed, **variant.get("options", {})),
              callbacks=[probe, marks] if probe else [marks])
    start = time.time()
    run.train()
    seconds = time.time() - start
    fid_name = f"fid{args.num_gen}_full"
    G = run.model.G_ema
    final = [w.numpy() for w in G.weights]
    nimg = int(run.model.nimg.numpy())
    points = {**marks.saved, minutes: (final, nimg, probe.all_weights() if probe else {})}
    fids, probed = {}, {setting: {} for setting in args.ema_probe}

    def measure(weights, at):
        G.set_weights(weights)
        return {"fid": round(evaluator.evaluate(G, [fid_name])[0]["results"][fid_name], 2),
                "kimg": round(at / 1000, 2)}

    for minute, (weights, at, averages) in sorted(points.items()):
        for setting, average in averages.items():
            probed[setting][f"{minute:g}"] = measure(average, at)
        fids[f"{minute:g}"] = measure(weights, at)  # last, so that G_ema ends with its own weights
    result = {"data": data, "variant": name, "seed": seed, "minutes": minutes, "reals": REALS, "marks": fids,
              "kimg": round(nimg / 1000, 2), "img_per_s": round(nimg / seconds, 1),
              "train_seconds": round(seconds, 1), "grid": grid_path(outdir), "precision": run_precision(outdir),
              "cpu": cpu_description(),
              **late_statistics(os.path.join(outdir, "run", "stats.jsonl"))}
    if probe:
        result["ema_probe"] = {"ema_rampup": run.model.ema_rampup, "marks": probed}
    with open(result_path, "w") as f:
        json.dump(result, f, indent=1)
    return result


def remeasure(data: str, name: str, seed: int, args, evaluator) -> dict | None:
    """A kept run's figures with FID measured again, at G's resolution, from the G_ema it kept (its last mark;
    the earlier marks' weights were not kept, so those marks are dropped, their old values kept aside).
    None when the run is not here."""
    import keras

    import tf_stylegan.networks  # noqa: F401  (registers the layers)

    folder = run_folder(args.outdir, data, name, seed)
    path, network = os.path.join(folder, "result.json"), os.path.join(folder, "run", "G_ema.keras")
    if not (os.path.isfile(path) and os.path.isfile(network)):
        return None
    with open(path) as f:
        kept = json.load(f)
    if kept.get("reals") == REALS:
        return {**kept, "grid": grid_path(folder)}
    fid_name = f"fid{args.num_gen}_full"
    last = f"{kept['minutes']:g}"
    fid = evaluator.evaluate(keras.models.load_model(network), [fid_name])[0]["results"][fid_name]
    result = {**kept, "reals": REALS, "marks": {last: {"fid": round(fid, 2), "kimg": kept["marks"][last]["kimg"]}},
              "full_size_reals_marks": kept["marks"], "remeasured": "from the kept G_ema.keras"}
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    return result


def summarise(results: list[dict]) -> dict:
    """Mean, sample standard deviation, min and max of FID per mark over the seeds, and mean figures."""
    out = {"seeds": [r["seed"] for r in results], "fid": {}}
    for mark in results[0]["marks"]:
        fids = [r["marks"][mark]["fid"] for r in results if mark in r["marks"]]
        out["fid"][mark] = {"mean": round(statistics.fmean(fids), 2),
                            "std": round(statistics.stdev(fids), 2) if len(fids) > 1 else None,
                            "min": min(fids), "max": max(fids), "runs": fids}
    for key in ("kimg", "img_per_s", "late_D_real_acc", "late_D_fake_acc", "ada_p_max"):
        out[key] = round(statistics.fmean(r[key] for r in results), 3)
    for key in ("precision", "cpu"):  # where the seeds disagree, or some did not record it, all are listed
        out[key] = ", ".join(sorted({r.get(key) or "not recorded" for r in results}))
    out["grids"] = [r["grid"] for r in results]
    return out


def table(summary: dict) -> str:
    """The markdown table of a summary: one row per data and variant, FID mean +- std per mark
    (a single run shows its FID alone: it has no spread)."""
    marks = sorted({m for d in summary["data"].values() for v in d.values() for m in v["fid"]}, key=float)
    lines = ["| data | variant | precision | seeds | " + " | ".join(f"FID at {m} min" for m in marks)
             + " | kimg | img/s | D acc real/fake | ADA p max |",
             "|---|---|---|---|" + "---|" * len(marks) + "---|---|---|---|"]
    for data, variants in summary["data"].items():
        for name, v in variants.items():
            cells = []
            for m in marks:
                f = v["fid"].get(m)
                cells.append("" if f is None else f"{f['mean']:.1f}" if f["std"] is None
                             else f"{f['mean']:.1f} +- {f['std']:.1f}")
            lines.append(f"| {data} | {name} | {v.get('precision', '')} | {len(v['seeds'])} | " + " | ".join(cells)
                         + f" | {v['kimg']:.1f} | {v['img_per_s']:.1f} | {v['late_D_real_acc']:.2f}/"
                           f"{v['late_D_fake_acc']:.2f} | {v['ada_p_max']:.2f} |")
    return "\n".join(lines)


def portable(variant: dict) -> dict:
    """The variant as recorded: a preset file named relative to the checkout, not by this machine's path."""
    config = variant["config"]
    return {**variant, "config": os.path.relpath(config, ROOT) if os.path.isabs(config) else config}


PROBED = "@ema"  # V@emaH[:R] names an --ema_probe average of variant V's runs (gathered with --kept only)


def probed_variant(name: str, variants: dict) -> dict | None:
    """The variant that `name` (V@emaKIMG or V@emaKIMG:RAMPUP) stands for: V with that ema_kimg (and
    ema_rampup); None for a plain name or an unknown V."""
    base, sep, spec = name.partition(PROBED)
    if not sep or base not in variants:
        return None
    (key, (half_life, rampup)), = parse_ema_probe(spec).items()
    variant = variants[base]
    options = {**variant.get("options", {}), "ema_kimg": half_life,
               **({"ema_rampup": rampup} if rampup is not None else {})}
    return {**variant, "options": options, "probed_from": base, "probe": key,
            "about": f"{variant['about']}; G_ema with ema_kimg {key.replace(':', ', ema_rampup ')}, measured by "
                     f"--ema_probe on {base}'s runs"}


def probed_result(result: dict, name: str, key: str, folder: str) -> dict:
    """A kept run's figures with the marks of its --ema_probe average `key`, gathered as `name`."""
    marks = result.get("ema_probe", {}).get("marks", {})
    if key not in marks:
        raise SystemExit(f"{os.path.join(folder, 'result.json')}: field ema_probe.marks has no average {key} "
                         f"(its run's --ema_probe: {', '.join(marks) or 'none'}).")
    return {**result, "variant": name, "marks": marks[key]}


def write_json(path: str, summary: dict) -> None:
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inception", help="the FID Inception weights (fid_helper_default_1.pt)")
    parser.add_argument("--variants", default="cpu32-before,cpu32")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help='an extra variant, e.g. lr1e-3=\'{"config": "cpu32", "options": {"g_lr": 0.001}}\'')
    parser.add_argument("--data", default="bundled:emoji64,bundled:fluent64")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--marks", default="10", help="earlier minutes at which FID is also measured")
    parser.add_argument("--num-gen", type=int, default=2000)
    parser.add_argument("--outdir", default=os.path.join(ROOT, "out", "quality"))
    parser.add_argument("--json", default=os.path.join(ROOT, "docs", "bench_quality.json"))
    parser.add_argument("--fresh", action="store_true", help="train again even where a result is kept")
    parser.add_argument("--table", metavar="JSON", help="only print the markdown table of this JSON")
    parser.add_argument("--remeasure", action="store_true",
                        help="train nothing: measure the kept runs' FID again at G's resolution where it was "
                             "measured against the full-size reals (from their kept G_ema: the last mark only)")
    parser.add_argument("--ema_probe", default="", metavar="KIMG[:RAMPUP],...",
                        help="also keep averages of G with these half-lives (kimg) and ramp-ups (default: the "
                             "run's) beside its G_ema and measure each at every mark: the G_ema a run with that "
                             "ema_kimg and ema_rampup would have had on the same trajectory (gathered with --kept "
                             "as VARIANT@emaKIMG[:RAMPUP])")
    parser.add_argument("--kept", action="store_true",
                        help="train nothing: gather the finished runs kept under --outdir (pairs without any are "
                             "left out)")
    args = parser.parse_args()
    if args.table:
        with open(args.table) as f:
            summary = json.load(f)
        if not (isinstance(summary, dict) and isinstance(summary.get("data"), dict)
                and all(isinstance(d, dict) for d in summary["data"].values())):
            parser.error(f"--table={args.table}: not a summary this harness wrote ('data' must map each dataset "
                         "to its variants)")
        print(table(summary))
        return
    if sum((args.kept, args.fresh, args.remeasure)) > 1:
        parser.error("--kept gathers kept runs, --remeasure measures them again and --fresh trains them again: "
                     "choose one")
    if not args.inception and not args.kept:
        parser.error("--inception is required to train and measure")
    variants = dict(VARIANTS)
    for spec in args.variant:
        name, _, body = spec.partition("=")
        variants[name] = json.loads(body)
    names = args.variants.split(",")
    try:
        variants.update({n: v for n in names if n not in variants and (v := probed_variant(n, variants))})
    except ValueError as e:
        parser.error(str(e))
    unknown = [n for n in names if n not in variants]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(variants)} (and V{PROBED}H for the "
                     "--ema_probe average of half-life H kimg of V's kept runs)")
    probed = [n for n in names if "probed_from" in variants[n] and not args.kept]
    if probed:
        parser.error(f"{probed}: an --ema_probe average is gathered with --kept; it is trained as part of "
                     f"{variants[probed[0]]['probed_from']} with --ema_probe")
    retired = [n for n in names if variants[n].get("retired") and not (args.kept or args.remeasure)]
    if retired:
        parser.error(f"variants {retired} can no longer be trained ({variants[retired[0]]['retired']}); "
                     "--kept gathers their kept figures")
    args.marks = [float(m) for m in args.marks.split(",") if m]
    try:
        args.ema_probe = parse_ema_probe(args.ema_probe)
    except ValueError as e:
        parser.error(str(e))
    late = [m for m in args.marks if not 0 < m < args.minutes]
    if late:
        parser.error(f"--marks {late}: each mark must lie inside the budget (0, --minutes={args.minutes:g}).")
    seeds = [int(s) for s in args.seeds.split(",")]

    summary = {"minutes": args.minutes, "marks": args.marks, "num_gen": args.num_gen, "reals": REALS,
               "threads": os.cpu_count(),
               "variants": {n: portable(variants[n]) for n in names}, "data": {}}
    for data in args.data.split(","):
        summary["data"][data] = {}
        if args.kept:
            for name in names:
                base = variants[name].get("probed_from", name)
                folders = [run_folder(args.outdir, data, base, seed) for seed in seeds]
                found = [kept_result(folder, budget(variants[name], args)) for folder in folders]
                if base != name:
                    key = variants[name]["probe"]
                    found = [r and probed_result(r, name, key, folder) for r, folder in zip(found, folders)]
                if results := [r for r in found if r]:
                    summary["data"][data][name] = summarise(results)
            continue
        from tf_stylegan.tools._cli import import_tensorflow_quietly

        import_tensorflow_quietly()  # a log of figures, not of TensorFlow's start-up lines
        from tf_stylegan.metrics.suite import Evaluator

        evaluator = Evaluator(data, args.inception, os.path.join(args.outdir, "cache"), progress=False)
        for name in names:
            results = []
            for seed in seeds:
                if args.remeasure:
                    if (result := remeasure(data, name, seed, args, evaluator)) is None:
                        continue
                else:
                    result = train_one(data, name, variants[name], seed, args, evaluator)
                results.append(result)
                print(json.dumps(result), flush=True)
            if results:
                summary["data"][data][name] = summarise(results)
            write_json(args.json, summary)
    write_json(args.json, summary)
    print(table(summary))


if __name__ == "__main__":
    main()
