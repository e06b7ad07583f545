"""Shared plumbing of the absl-flag programs."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402


def _normalise_argv(argv: list[str]) -> list[str]:
    """Accepts --some-flag as well as --some_flag, and --no-flag for --noflag."""
    out = []
    for arg in argv:
        if arg.startswith("--") and not arg.startswith("---"):
            name, sep, value = arg[2:].partition("=")
            if name.startswith("no-"):
                name = "no" + name[3:]
            arg = "--" + name.replace("-", "_") + sep + value
        out.append(arg)
    return out


def run(main: Callable[[list[str]], None]) -> None:
    """Runs an absl main with hyphenated flags accepted and errors made readable."""
    argv = _normalise_argv(sys.argv)

    def wrapped(args):
        try:
            main(args)
        except (ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)

    app.run(wrapped, argv=argv)


MAX_SEED = 2**32 - 1  # numpy's RandomState takes seeds below 2**32
MAX_SEEDS = 100_000


def parse_seeds(spec: str, flag: str = "seeds") -> list[int]:
    """'0-3,7,10-11' -> [0, 1, 2, 3, 7, 10, 11]; each in [0, 2**32), at most MAX_SEEDS of them."""
    seeds: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            lo, hi = (int(v) for v in part.split("-", 1)) if "-" in part[1:] else (int(part), int(part))
        except ValueError:
            raise ValueError(f"--{flag}: cannot read {part!r}; use e.g. 0-63 or 1,5,9.") from None
        if not 0 <= lo <= hi <= MAX_SEED:
            raise ValueError(f"--{flag}: {part!r}: seeds are integers from 0 to {MAX_SEED}, ranges low-high.")
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise ValueError(f"--{flag}: more than {MAX_SEEDS:,} seeds; ask for fewer.")
        seeds.extend(range(lo, hi + 1))
    if not seeds:
        raise ValueError(f"--{flag}: give at least one seed, e.g. 0-63.")
    return seeds


def check_finite(name: str, lo: float, hi: float) -> None:
    """Makes absl refuse --name values that are NaN, infinite or outside [lo, hi] (the flag is None-able)."""
    flags.register_validator(
        name, lambda v: v is None or (math.isfinite(v) and lo <= v <= hi),
        message=f"--{name} must be a finite number in [{lo:g}, {hi:g}]")


def check_writable(path: str, flag: str, is_dir: bool = False) -> None:
    """Fails early, naming the flag, when `path` (a file, or a directory) cannot be written."""
    import tempfile

    directory = path if is_dir else (os.path.dirname(os.path.abspath(path)) or ".")
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ValueError(f"--{flag}={path}: cannot write there ({exc.strerror or exc}).") from None


def load_generator(path: str):
    """The generator of a .keras file or checkpoint (G_ema, else G), through convert.load."""
    from tf_stylegan.convert import load

    nets = load(path)
    G = nets.get("G_ema") or nets.get("G")
    if G is None:
        raise ValueError(f"--network={path}: holds no generator (it has {sorted(nets)}).")
    return G


def class_vector(G, class_idx: int | None):
    """The one-hot c [c_dim] for --class (None for unconditional networks), with the errors a user needs."""
    import numpy as np

    if G.c_dim == 0:
        if class_idx is not None:
            raise ValueError("--class: this network is unconditional; leave --class out.")
        return None
    if class_idx is None or not 0 <= class_idx < G.c_dim:
        raise ValueError(f"--class: this network is conditional; give --class=0..{G.c_dim - 1}.")
    return np.eye(G.c_dim, dtype=np.float32)[class_idx]


FLAGS = flags.FLAGS
