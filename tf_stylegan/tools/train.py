"""Train any family (StyleGAN2 configs A-F, ProGAN, DCGAN/CGAN) from a preset, with checkpoints that survive crashes.

    python -m tf_stylegan.tools.train --config=cpu32 --data=bundled:emoji64 --outdir=runs/emoji --kimg=36
    python -m tf_stylegan.tools.train --config=paper256 --data=data/faces256 --outdir=runs/faces --gamma=1
    python -m tf_stylegan.tools.train --outdir=runs/faces --resume=latest     # after a crash or kill -9
    python -m tf_stylegan.tools.train ... --init-from=ffhq.pkl                 # transfer learning
    python -m tf_stylegan.tools.train --config=progan|dcgan|cgan ...           # the ancestors

Every flag is an option of tf_stylegan.run.options (the flags are made from
its schema): a flag overrides the preset's value, and a flag that does not
apply to the preset's family is an error. A number option whose preset value
may be null takes 'none' (--ema_rampup=none, --kimg=none). A resume reads the run's recorded
options; only kimg, minutes, snapshots, checkpoints, metrics, export, the LR
schedules and the divergence guard may change (recorded in history.jsonl).
The run folder is described in tf_stylegan/run/driver.py. SIGTERM or Ctrl-C
stops a run after its current step with a checkpoint (exit status 128 + the
signal); a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import sys
import time

from absl import flags

from tf_stylegan.tools._cli import run

_DEFINE = {"bool": flags.DEFINE_boolean, "int": flags.DEFINE_integer, "float": flags.DEFINE_float,
           "str": flags.DEFINE_string, "floats": flags.DEFINE_list, "strs": flags.DEFINE_list,
           "res_batches": flags.DEFINE_list}


class _OrNone(flags.ArgumentParser):
    """A number flag that also takes 'none': the value a preset writes as null (e.g. --ema_rampup=none)."""

    def __init__(self, numbers: flags.ArgumentParser):
        self.numbers = numbers

    def parse(self, argument):
        if isinstance(argument, str) and argument.strip().lower() == "none":
            return None
        return self.numbers.parse(argument)

    def flag_type(self) -> str:
        return f"{self.numbers.flag_type()} or none"


def _define_flags() -> None:
    """One flag per option; unset flags leave the preset's (or the recorded run's) value."""
    from tf_stylegan.run.options import COMPILE, MODEL, SCHEDULE, SCHEMA

    for option in SCHEMA.values():
        families = "" if len(option.families) == 3 else f"[{', '.join(sorted(option.families))}] "
        known = option.default not in (MODEL, COMPILE, SCHEDULE, None, ())
        default = f" (default: the preset's, else {option.default})" if known else " (default: the preset's)"
        if not option.in_preset:
            default = f" (default: {option.default})" if known else ""
        text = families + option.help + default
        if option.optional and option.kind in ("int", "float"):
            numbers = flags.IntegerParser() if option.kind == "int" else flags.FloatParser()
            flags.DEFINE(_OrNone(numbers), option.flag_name, None, text + "; 'none' unsets it",
                         serializer=flags.ArgumentSerializer())
        else:
            _DEFINE[option.kind](option.flag_name, None, text)


_define_flags()
FLAGS = flags.FLAGS


def overrides_from_flags() -> dict:
    """{option name: value} of the flags given on the command line."""
    from tf_stylegan.run.options import SCHEMA

    return {o.name: FLAGS[o.flag_name].value for o in SCHEMA.values() if FLAGS[o.flag_name].present}


def main(argv):
    from tf_stylegan.run import Stopped, TrainingError
    from tf_stylegan.run.driver import Run
    from tf_stylegan.tools._cli import max_read_bytes

    overrides = overrides_from_flags()
    if FLAGS["max_read_gb"].present and not overrides.get("init_from"):
        raise ValueError("--max_read_gb: applies to the checkpoint of --init_from only.")
    try:
        runner = Run(overrides, max_read_bytes=max_read_bytes())
        began = time.time()
        runner.train()
    except Stopped as exc:
        print(exc, file=sys.stderr)
        sys.exit(128 + exc.signum)  # the shell's status of a process ended by that signal
    except TrainingError as exc:
        raise ValueError(str(exc)) from None
    out, nimg = runner.outdir, int(runner.model.nimg.numpy())
    print(f"done: {nimg / 1000:.1f} kimg in {(time.time() - began) / 60:.1f} min; wrote")
    print(f"  grid         {out}/grid.png (snapshots in {out}/snapshots)")
    print(f"  G_ema        {out}/G_ema.keras")
    print(f"  checkpoints  {out}/checkpoints (continue with --outdir={out} --resume=latest)")
    print(f"  TensorBoard  tensorboard --logdir {out}/logs")
    if runner.opts["export"]:
        print(f"  SavedModel   {runner.opts['export']}")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
