"""The family table: how a run's options and preset become a training model, and the data it trains on.

Each family (StyleGAN2 with configs A-F, ProGAN, DCGAN/CGAN) has one entry:
its model class and a function that builds (G, D) and the model from the
resolved options, the preset and the dataset's facts. The data is the same
for every family: global batches from where training stands.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import keras
import tensorflow as tf

from tf_stylegan.data import load, read_info
from tf_stylegan.networks.presets import Preset, load_preset
from tf_stylegan.ops.box import downsample_box
from tf_stylegan.run.options import ADA_ONLY, SCHEDULE, SCHEMA, OptionError, RunOptions
from tf_stylegan.training.base import GANModel
from tf_stylegan.training.dcgan import DCGAN
from tf_stylegan.training.progan import ProGAN
from tf_stylegan.training.progressive import ProgressiveSchedule
from tf_stylegan.training.stylegan2 import StyleGAN2

FAMILY_MODELS: dict[str, type[GANModel]] = {"stylegan2": StyleGAN2, "progan": ProGAN, "dcgan": DCGAN}
LOWP = {"fp32": None, "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}  # "auto" is resolved by the driver


def model_kwargs(opts: RunOptions) -> dict[str, Any]:
    """The options that are the family's model constructor arguments."""
    import inspect

    params = inspect.signature(FAMILY_MODELS[opts.family].__init__).parameters
    return {k: v for k, v in opts.values.items() if k in params and k in SCHEMA}


def dataset_preset(opts: RunOptions, info: dict, replicas: int) -> Preset:
    """The preset for this dataset: its resolution (or the run's), channels and labels."""
    if opts["cond"] and info["label_dim"] == 0:
        raise OptionError(f"--cond: the dataset {opts['data']} has no labels.")
    preset = load_preset(opts["config"], resolution=opts["resolution"], c_dim=info["label_dim"] if opts["cond"] else 0,
                         img_channels=info["channels"], replicas=replicas, fallback_resolution=info["resolution"])
    if preset.resolution > info["resolution"] or info["resolution"] % preset.resolution:
        raise OptionError(f"the dataset {opts['data']} is {info['resolution']}px but config {opts['config']!r} trains "
                          f"at {preset.resolution}px; rebuild the dataset at {preset.resolution}px or pick another "
                          "--config or --resolution.")
    return preset


def _grows(preset: Preset) -> bool:
    return preset.family == "progan" or bool(preset.G.get("growing")) or preset.G.get("synthesis") == "adain"


def schedule_for(opts: RunOptions, preset: Preset, replicas: int) -> ProgressiveSchedule | None:
    """The progressive schedule of a growing preset (None otherwise; its options are then an error)."""
    names = [k for k, o in SCHEMA.items() if o.default == SCHEDULE]
    if not _grows(preset):
        given = [f"--{SCHEMA[k].flag_name}" for k in names if k in opts.given]
        if given:
            raise OptionError(f"{', '.join(given)}: config {opts['config']!r} does not grow progressively; use "
                              "config-a to config-d, cpu32-grow or progan.")
        return None
    try:
        schedule = ProgressiveSchedule(preset.resolution, opts["start_res"], opts["stable_kimg"], opts["fade_kimg"],
                                       batch=opts["batch"], batch_sizes=opts["batch_sizes"])
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    for stage in schedule.stages():
        if stage.batch % replicas:
            raise OptionError(f"the {stage.resolution}px batch of {stage.batch} does not split over {replicas} "
                              "replicas; change batch_sizes.")
    return schedule


def check_ada_options(opts: RunOptions) -> None:
    """ADA's settings (from flags or the preset) without ADA would do nothing: an error."""
    ada_only = [k for k in ADA_ONLY if k in opts.given]
    if ada_only and opts.get("augment") != "ada":
        raise OptionError(f"{', '.join('--' + SCHEMA[k].flag_name for k in ada_only)}: ADA settings, but "
                          f"augment is {opts.get('augment')!r}; add --augment=ada.")


def checked_schedule(opts: RunOptions, preset: Preset, replicas: int) -> ProgressiveSchedule | None:
    """Every check of the options against the preset that needs no data and no weights (one place, so that
    a run and the test of the shipped presets apply the same ones); returns the progressive schedule."""
    if preset.family != opts.family:
        raise OptionError(f"config {opts['config']!r} is a {preset.family} preset, not {opts.family}.")
    if opts["batch"] % replicas:
        raise OptionError(f"--batch={opts['batch']} does not split over {replicas} replicas.")
    schedule = schedule_for(opts, preset, replicas)
    if opts.family == "stylegan2":
        check_ada_options(opts)
    return schedule


def _precision(opts: RunOptions, preset: Preset) -> None:
    """Reduced precision on the top resolutions of StyleGAN2's G and D, as the official code does."""
    lowp = LOWP[opts["precision"]]
    for kw in (preset.G, preset.D):
        kw["lowp_dtype"] = lowp
        if lowp is not None:
            kw["num_fp16_res"] = kw.get("num_fp16_res") or 4
        if opts["precision"] == "fp16" and kw.get("conv_clamp") is None:
            kw["conv_clamp"] = 256


def build_model(opts: RunOptions, info: dict, strategy: tf.distribute.Strategy) -> tuple[GANModel, Preset]:
    """The compiled model of a run (fresh weights from the run's seed), and its preset."""
    replicas = strategy.num_replicas_in_sync
    preset = dataset_preset(opts, info, replicas)
    schedule = checked_schedule(opts, preset, replicas)
    kwargs = model_kwargs(opts)
    if opts.family == "stylegan2":
        _precision(opts, preset)
        if "ada_p" in opts.given and "ada_target" not in opts.given:
            kwargs["ada_target"] = None  # a given p stays fixed
    keras.utils.set_random_seed(opts["seed"])  # the initial weights are part of the run's determinism
    with strategy.scope():
        G, D = preset.build()
        if schedule is not None:
            kwargs["schedule"] = schedule
        try:
            model = FAMILY_MODELS[opts.family](G, D, **kwargs)
        except ValueError as exc:
            raise OptionError(str(exc)) from None
        optimizers = {}
        if opts.family == "stylegan2" and opts["precision"] == "fp16":  # dynamic loss scaling
            for side, lr in (("g", opts["g_lr"]), ("d", opts["d_lr"])):
                optimizers[f"{side}_optimizer"] = keras.optimizers.LossScaleOptimizer(
                    model.make_optimizer(lr, opts["betas"], side, model), name=f"{side}_loss_scale")
        model.compile(g_lr=opts["g_lr"], d_lr=opts["d_lr"], betas=tuple(opts["betas"]), **optimizers)
    return model, preset


def data_source(opts: RunOptions, info: dict, model: GANModel, strategy: tf.distribute.Strategy,
                resolution: int) -> Callable[[], Iterator]:
    """A function giving the global batches from where the model stands.

    A growing run gives each stage its own batch size and data order (seed +
    stage index) and skips the stage's batches already seen; otherwise the
    batches already seen are skipped. Images above the run's resolution are
    box-filtered down to it.
    """
    factor = info["resolution"] // resolution
    labels = "tags" if model.G.c_dim else "none"

    def iterator():
        nimg = int(model.nimg.numpy())
        batch, seed, skip = opts["batch"], opts["seed"], int(model.step.numpy())
        stage = model.stage_at(nimg)
        if stage is not None:
            batch, seed = stage.batch, opts["seed"] + stage.index
            skip = (nimg - stage.start_img) // stage.batch

        def fn(ctx):
            ds = load(opts["data"], batch, mirror=opts["mirror"], seed=seed, input_context=ctx, skip_batches=skip,
                      labels=labels)
            if factor > 1:
                ds = ds.map(lambda x, y: (downsample_box(x, factor), y))
            return ds

        return iter(strategy.distribute_datasets_from_function(fn))

    return iterator


def dataset_info(path: str) -> dict:
    """The dataset's facts (resolution, channels, labels), or an error that says how to build one."""
    if not path.startswith("bundled:") and not os.path.exists(path):
        raise OptionError(f"--data={path}: no such dataset; build one with tools.dataset.")
    return read_info(path)
