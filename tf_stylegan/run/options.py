"""The options of a training run: one declared schema, filled from a preset and overrides, checked.

Every option is declared once in `SCHEMA`: its type, the families it applies
to, whether a resumed run may change it, and its default. A default that is a
model's constructor argument is read from that constructor (or its
`compile`, or `ProgressiveSchedule`), so it lives in exactly one place.

A run's options are, lowest priority first: those defaults, the preset's
"training" block, then the caller's overrides (the command line's flags, or
a dict). A key that is unknown, or that does not apply to the preset's
family, is an error naming it; so is a value of the wrong type or range.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping
from typing import Any

FAMILIES = ("stylegan2", "progan", "dcgan")
ALL = frozenset(FAMILIES)
SG, PG, DC = frozenset({"stylegan2"}), frozenset({"progan"}), frozenset({"dcgan"})
GROWING = SG | PG
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class OptionError(ValueError):
    """An option is unknown, does not apply, or has a bad value; the message names it."""


@dataclasses.dataclass(frozen=True)
class Option:
    """One option.

    name: its key in presets, options.json and Python overrides.
    kind: "int", "float", "bool", "str", "floats", "strs", "res_batches" ({res: batch}).
    help: what it does (also the flag's help).
    families: the families it applies to.
    default: a literal default, or MODEL / COMPILE / SCHEDULE to read it from the
      family's model constructor, its compile(), or ProgressiveSchedule.
    flag: the command-line name when it differs from `name`.
    optional: None is a valid value.
    lo, hi: the allowed range of numbers.
    choices: the allowed values of a str.
    resume_safe: a resumed run may change it (recorded in history.jsonl).
    in_preset: a preset's "training" block may set it.
    """

    name: str
    kind: str
    help: str
    families: frozenset = ALL
    default: Any = None
    flag: str | None = None
    optional: bool = False
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    resume_safe: bool = False
    in_preset: bool = True

    @property
    def flag_name(self) -> str:
        return self.flag or self.name


MODEL, COMPILE, SCHEDULE = "<model>", "<compile>", "<schedule>"
_ = Option
SCHEMA: dict[str, Option] = {o.name: o for o in [
    # -- what to train, where
    _("data", "str", "Dataset directory (from tools.dataset) or bundled:emoji64.", in_preset=False),
    _("outdir", "str", "Run directory: new or empty (or an earlier run of ours with --resume).", in_preset=False),
    _("config", "str", "Preset name in configs/ (auto, cpu32, cpu64, config-a ... config-f, paper256, tiny, progan, "
                       "dcgan, cgan, ...) or a JSON path.", default="auto", in_preset=False),
    _("resume", "str", "'latest' (this --outdir's newest good checkpoint) or a checkpoint path.", optional=True,
      in_preset=False),
    _("init_from", "str", "Start from these weights: a run, .keras or checkpoint of ours, an official .pkl, or a "
                          "bundled network (bundled:emoji32).",
      optional=True, in_preset=False),
    # -- how long, how often
    _("kimg", "float", "Train until this many thousand real images have been shown (default: the preset's; a "
                       "growing run without one ends after the last resolution's stable_kimg).", optional=True,
      lo=0, hi=1e7, resume_safe=True),
    _("minutes", "float", "Also stop after this many minutes (a checkpoint and snapshot are written as at the end).",
      optional=True, lo=0, hi=1e6, resume_safe=True),
    _("snap", "float", "Snapshot (grid PNG and G_ema .keras, and --metrics) every this many kimg.", default=10.0,
      lo=1e-3, hi=1e6, resume_safe=True),
    _("checkpoint_every", "int", "Write a checkpoint every this many steps.", default=100, lo=1, hi=10**9,
      resume_safe=True),
    _("keep", "int", "Checkpoints to keep.", default=3, lo=1, hi=10**6, resume_safe=True),
    _("grid_size", "int", "Images in a snapshot grid.", default=16, lo=1, hi=1024, resume_safe=True),
    _("progress", "bool", "Show a progress bar.", default=True, resume_safe=True, in_preset=False),
    _("export", "str", "Also write G_ema as a SavedModel here when training ends (a new folder, or an export of "
                       "ours).", optional=True, resume_safe=True),
    _("metrics", "strs", "Metrics at each snapshot, e.g. fid2k_full,kid2k_full (see tools.evaluate); logged to "
                         "TensorBoard and metric-*.jsonl.", default=(), resume_safe=True),
    _("inception", "str", "FID Inception weights for --metrics (default: the cache).", optional=True, resume_safe=True),
    _("lpips", "strs", "LPIPS-VGG16 weights for PPL metrics (see tools.evaluate --lpips).", default=(),
      resume_safe=True),
    # -- data and networks
    _("batch", "int", "Global batch size.", default=32, lo=1, hi=65536),
    _("seed", "int", "Seed of the initial weights, the data order and every random draw.", default=0, lo=0,
      hi=2**31 - 1),
    _("mirror", "bool", "Random x-flips of the real images.", default=True),
    _("cond", "bool", "Condition G and D on the dataset's labels (classes or tags).", default=False),
    _("resolution", "int", "Train at this resolution (default: the preset's, else the dataset's; a lower power of "
                           "two trains on box-filtered images).", optional=True, lo=4, hi=8192),
    _("precision", "str", "auto: bf16 on CPUs with AVX512-BF16 or AMX, fp32 on other CPUs, fp16 on GPUs (the top "
                          "resolutions, with conv_clamp and loss scaling); the choice is recorded and printed. fp16 on "
                          "a CPU and bf16 on an x86 CPU without AVX-512 are refused (emulated: 140x and 18x slower); "
                          "bf16 with AVX-512 but no bfloat16 instructions runs, emulated, about 2.4x slower.",
      families=SG, default="auto", choices=PRECISIONS),
    # -- optimisation
    _("g_lr", "float", "G learning rate (StyleGAN2: before the lazy-regularisation scaling).", default=COMPILE,
      lo=0, hi=10),
    _("d_lr", "float", "D learning rate (StyleGAN2: before the lazy-regularisation scaling).", default=COMPILE,
      lo=0, hi=10),
    _("betas", "floats", "Adam's beta_1, beta_2.", default=COMPILE, lo=0, hi=1),
    _("g_lr_schedule", "str", "G learning rates from given kimg on, as KIMG:LR,... e.g. 0:0.002,200:0.0003.",
      optional=True, resume_safe=True),
    _("d_lr_schedule", "str", "D learning rates from given kimg on, as KIMG:LR; e.g. 100:0.0001 turns only D down.",
      optional=True, resume_safe=True),
    _("lr_balance", "bool", "Lower D's learning rate (10x) when D wins almost every sample for 50 steps, and both "
                            "(3x) when loss/G runs away; every change is logged.", families=SG | DC, default=False,
      resume_safe=True),
    _("ema_kimg", "float", "G_ema half-life in kimg (DCGAN: none by default, G_ema is G).", default=MODEL,
      optional=True, lo=1e-6, hi=1e6),
    _("ema_rampup", "float", "G_ema ramp-up: the half-life is at most nimg x this early on.", families=SG,
      default=MODEL, optional=True, lo=0, hi=10),
    # -- divergence guard
    _("max_rollbacks", "int", "Divergence guard: rollbacks to the last checkpoint before giving up.", default=3,
      lo=0, hi=1000, resume_safe=True),
    _("blowup", "float", "Divergence guard: a G or D loss above this counts as divergence.", default=100.0, lo=0,
      hi=1e30, resume_safe=True),
    # -- StyleGAN2
    _("r1_gamma", "float", "R1 weight gamma.", families=SG, default=MODEL, flag="gamma", lo=0, hi=1e6),
    _("pl_weight", "float", "Path-length regularisation weight (0: off).", families=SG, default=MODEL, lo=0, hi=1e6),
    _("pl_batch_shrink", "int", "Path length runs on batch / this.", families=SG, default=MODEL, lo=1, hi=1024),
    _("pl_decay", "float", "Decay of the path-length mean.", families=SG, default=MODEL, lo=0, hi=1),
    _("style_mixing_prob", "float", "Probability of mixing two latents at a random layer.", families=SG,
      default=MODEL, lo=0, hi=1),
    _("g_reg_interval", "int", "Path length every this many steps (lazy regularisation).", families=SG,
      default=MODEL, optional=True, lo=1, hi=10**6),
    _("d_reg_interval", "int", "R1 every this many steps (lazy regularisation).", families=SG, default=MODEL,
      optional=True, lo=1, hi=10**6),
    _("lazy_regularization", "bool", "False folds R1 and path length into every main step (configs A-B).",
      families=SG, default=MODEL),
    _("augment", "str", "Augmentation of D's inputs: 'ada', a DiffAugment policy such as color,translation,cutout, "
                        "or '' for none.", families=SG, default=MODEL, optional=True),
    _("ada_stages", "str", "ADA stages: a preset (bgc, bg, blit, geom, color, bgcc) or a comma list of stages.",
      families=SG, default=MODEL, flag="augpipe"),
    _("ada_p", "float", "ADA's initial probability; given without ada_target, p stays fixed.", families=SG,
      default=MODEL, lo=0, hi=1),
    _("ada_target", "float", "ADA target for the mean sign of D(real).", families=SG, default=MODEL, optional=True,
      lo=0, hi=1),
    _("ada_interval", "int", "Steps between updates of ADA's p.", families=SG, default=MODEL, lo=1, hi=10**6),
    _("ada_kimg", "float", "kimg for ADA's p to move from 0 to 1.", families=SG, default=MODEL, lo=1e-6, hi=1e7),
    _("loss", "str", "The objective: logistic (StyleGAN2's non-saturating loss with R1) or r3gan (the relativistic "
                     "pairing loss with R1 and R2 at r1_gamma, Huang et al. 2024).", families=SG, default=MODEL,
      choices=("logistic", "r3gan")),
    _("freeze_d", "int", "Freeze D's first N blocks from the image side (FreezeD, for fine-tuning with "
                         "--init_from on small data).", families=SG, default=MODEL, lo=0, hi=64),
    # -- progressive growing (ProGAN, StyleGAN2 configs A-D)
    _("start_res", "int", "Progressive growing: the first resolution.", families=GROWING, default=SCHEDULE, lo=4,
      hi=8192),
    _("stable_kimg", "float", "Progressive growing: kimg at each resolution at full weight.", families=GROWING,
      default=SCHEDULE, lo=1e-6, hi=1e7),
    _("fade_kimg", "float", "Progressive growing: kimg over which each new resolution fades in.", families=GROWING,
      default=SCHEDULE, lo=1e-6, hi=1e7),
    _("batch_sizes", "res_batches", "Progressive growing: per-resolution batch sizes as RES:BATCH, e.g. 8:64,16:32; "
                                    "other resolutions use batch.", families=GROWING, default=SCHEDULE),
    # -- ProGAN
    _("gp_weight", "float", "WGAN-GP weight lambda.", families=PG, default=MODEL, lo=0, hi=1e6),
    _("drift", "float", "WGAN drift weight epsilon.", families=PG, default=MODEL, lo=0, hi=1e6),
    # -- DCGAN / CGAN
    _("real_label", "float", "Target for real images (0.9 = one-sided label smoothing).", families=DC,
      default=MODEL, lo=1e-6, hi=1),
    _("label_noise", "float", "Probability of swapping a sample's real/fake target.", families=DC, default=MODEL,
      lo=0, hi=0.4999),
    _("p0", "float", "Skip D's (G's) update in a step once its batch accuracy reaches p0 (e.g. 0.999).",
      families=DC, default=MODEL, optional=True, lo=0, hi=1),
    _("rollback_patience", "int", "Roll back to the last good weights (and raise the label noise) after this many "
                                  "steps with D's or G's accuracy at 0; 0: off.", families=DC, default=0, lo=0,
      hi=10**6, resume_safe=True),
]}
del _
BY_FLAG = {o.flag_name: o for o in SCHEMA.values()}
ADA_ONLY = ("ada_p", "ada_stages", "ada_target", "ada_interval", "ada_kimg")  # options that only ADA reads


def _default_source(option: Option, family: str):
    """The callable whose signature holds `option`'s default for `family`, and the argument's name."""
    from tf_stylegan.run.families import FAMILY_MODELS
    from tf_stylegan.training.progressive import ProgressiveSchedule

    model = FAMILY_MODELS[family]
    if option.default == MODEL:
        return model.__init__, option.name
    if option.default == COMPILE:
        return model.compile, option.name
    return ProgressiveSchedule, {"start_res": "start_resolution"}.get(option.name, option.name)


def default(option: Option, family: str) -> Any:
    """The default of `option` for `family` (read from the model's signature where declared so)."""
    if option.default not in (MODEL, COMPILE, SCHEDULE):
        return option.default
    fn, arg = _default_source(option, family)
    if dataclasses.is_dataclass(fn):
        field = next(f for f in dataclasses.fields(fn) if f.name == arg)
        value = field.default_factory() if field.default is dataclasses.MISSING else field.default
    else:
        value = inspect.signature(fn).parameters[arg].default
    if value is inspect.Parameter.empty:
        raise OptionError(f"{option.name}: {fn.__qualname__} has no default for {arg!r}.")
    if isinstance(value, tuple):
        value = list(value)
    return dict(value) if isinstance(value, Mapping) else value


def check_value(option: Option, value: Any, where: str) -> Any:
    """`value` converted to the option's kind and checked; raises OptionError naming `where`."""
    name = f"{where}{option.name}"
    if value is None:
        if option.optional or option.name in ("data", "outdir"):  # those two are checked by `resolve`
            return None
        raise OptionError(f"{name}: a value is required.")
    try:
        if option.kind == "bool":
            if not isinstance(value, bool):
                raise TypeError
        elif option.kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
                raise TypeError
            value = int(value)
        elif option.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError
            value = float(value)
        elif option.kind == "str":
            if not isinstance(value, str):
                raise TypeError
        elif option.kind == "floats":
            value = [float(v) for v in value]
            if any(isinstance(v, bool) for v in value):
                raise TypeError
        elif option.kind == "strs":
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]
            value = [str(v) for v in value]
        elif option.kind == "res_batches":
            value = parse_res_batches(value, name)
    except OptionError:
        raise
    except (TypeError, ValueError):
        raise OptionError(f"{name}: {value!r} is not a valid {option.kind} value.") from None
    numbers = [value] if option.kind in ("int", "float") else value if option.kind == "floats" else []
    for number in numbers:
        if not math.isfinite(number) or (option.lo is not None and number < option.lo) or \
                (option.hi is not None and number > option.hi):
            raise OptionError(f"{name}: {value!r} is out of range [{option.lo:g}, {option.hi:g}].")
    if option.choices is not None and value not in option.choices:
        raise OptionError(f"{name}: {value!r} is not one of {', '.join(option.choices)}.")
    return value


def parse_res_batches(value, name: str = "batch_sizes") -> dict[int, int]:
    """'8:64,16:32', ['8:64'] or {8: 64} -> {8: 64, 16: 32}."""
    if isinstance(value, Mapping):
        items = [f"{k}:{v}" for k, v in value.items()]
    else:
        items = value.split(",") if isinstance(value, str) else list(value)
    sizes = {}
    for item in items:
        res, sep, batch = str(item).partition(":")
        if not sep or not res.strip().isdigit() or not batch.strip().isdigit() or int(batch) < 1:
            raise OptionError(f"{name}: {item!r} is not RES:BATCH (e.g. 16:32).")
        sizes[int(res)] = int(batch)
    return sizes


@dataclasses.dataclass
class RunOptions:
    """A run's resolved options: every applicable option's value, and which ones were given."""

    family: str
    values: dict[str, Any]
    given: set[str]  # set by the preset or the caller (not defaults)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, fallback=None) -> Any:
        return self.values.get(key, fallback)


def applicable(family: str) -> list[Option]:
    return [o for o in SCHEMA.values() if family in o.families]


def resolve(family: str, preset_training: Mapping, overrides: Mapping, preset_name: str = "preset") -> RunOptions:
    """Defaults < the preset's training block < overrides, each key checked against the schema.

    An `augment` override other than ADA also drops the preset's ADA settings: they tuned the augmentation
    that the caller replaced (ADA settings that the caller gives without ADA stay an error).
    """
    if family not in FAMILIES:
        raise OptionError(f"{preset_name}: family {family!r} is not one of {', '.join(FAMILIES)}.")
    values = {o.name: default(o, family) for o in applicable(family)}
    given: set[str] = set()
    for source, entries in ((f"{preset_name} training.", preset_training), ("", overrides)):
        for key, value in entries.items():
            option = SCHEMA.get(key)
            if option is None:
                raise OptionError(f"{source}{key}: unknown option" + _did_you_mean(key) + ".")
            if family not in option.families:
                shown = f"--{option.flag_name}" if not source else f"{source}{key}"
                raise OptionError(f"{shown}: does not apply to {family} (it is for "
                                  f"{', '.join(sorted(option.families))}); drop it or choose another --config.")
            if source and not option.in_preset:
                raise OptionError(f"{source}{key}: cannot be set by a preset.")
            values[key] = check_value(option, value, source)
            given.add(key)
    if overrides.get("augment", "ada") != "ada":  # the caller's augmentation replaces the preset's, ADA's tuning too
        for key in ADA_ONLY:
            if key in preset_training and key not in overrides:
                values[key] = default(SCHEMA[key], family)
                given.discard(key)
    for required in ("data", "outdir"):
        if values.get(required) is None:
            raise OptionError(f"--{required} is required.")
    return RunOptions(family, values, given)


def _did_you_mean(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(SCHEMA) + list(BY_FLAG), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def changed_on_resume(recorded: Mapping[str, Any], now: RunOptions) -> tuple[dict, dict]:
    """({key: (then, now)} of options a resume may change, and of those it may not)."""
    safe, unsafe = {}, {}
    for key in sorted(set(recorded) | set(now.values)):
        option = SCHEMA.get(key)
        if option is None or key in ("resume", "init_from"):
            continue
        then, value = recorded.get(key, default(option, now.family)), now.values.get(key)
        if _same(then, value):
            continue
        (safe if option.resume_safe else unsafe)[key] = (then, value)
    return safe, unsafe


def _same(a, b) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return {str(k): v for k, v in a.items()} == {str(k): v for k, v in b.items()}
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b
