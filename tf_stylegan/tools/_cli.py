"""Shared plumbing of the absl-flag programs: quiet consoles, hyphenated flags, readable errors.

Framework output is hidden unless --verbose is given: TensorFlow's C++ log
level is set here, before TensorFlow loads (every tool imports this module
first, and `import tf_stylegan` loads no TensorFlow). Level 3 also hides
TensorFlow's C++ ERROR lines, on purpose: its graph optimizer logs a
harmless "remapper failed ... LeakyReluGrad" at error level whenever a
bias + LeakyReLU has a gradient (it then simply does not fuse that pair), and
a real failure still reaches Python as an exception. --verbose shows it all.

oneDNN is turned on here too (unless TF_ENABLE_ONEDNN_OPTS is set): TensorFlow
turns it on by itself only on CPUs with AVX512-VNNI, AVX512-BF16 or AMX. On
others, an AVX2 EPYC say, its default Eigen kernels trained cpu32 at 21.7 img/s
against oneDNN's 29.4, and cannot take the gradient of a grouped convolution
(fused_modconv) at all.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings
from collections.abc import Callable

VERBOSE = any(arg in ("--verbose", "--verbose=true", "--verbose=True") for arg in sys.argv)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if VERBOSE else "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

flags.DEFINE_boolean("verbose", False, "Show TensorFlow's and absl's log output and Python warnings.")
flags.DEFINE_float("max_read_gb", None, "Memory a checkpoint may take while it is read (default: 8x the file's size "
                   "+ 64 MiB, which every official network fits; raise it only for a file you trust).",
                   lower_bound=0.001, upper_bound=4096)


def max_read_bytes() -> int | None:
    """--max_read_gb in bytes (None: the loader's default)."""
    gb = flags.FLAGS.max_read_gb
    return None if gb is None else int(gb * (1 << 30))


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


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with file descriptor 2 pointed at /dev/null: TF 2.21 writes an info line
    about oneDNN (twice) to stderr before its log level applies. Import errors still raise."""
    if "tensorflow" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_logs(verbose: bool) -> None:
    """Our messages as plain lines on stderr; the frameworks' only with `verbose`."""
    ours = logging.getLogger("tf_stylegan")
    ours.setLevel(logging.INFO)
    if not ours.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        ours.addHandler(handler)
        ours.propagate = False
    if not verbose:
        absl_logging.set_verbosity(absl_logging.ERROR)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore")


def run(main: Callable[[list[str]], None]) -> None:
    """Runs an absl main with hyphenated flags accepted, quiet logs and errors made readable."""
    argv = _normalise_argv(sys.argv)

    def wrapped(args):
        quiet_logs(flags.FLAGS.verbose)
        if not flags.FLAGS.verbose:
            import_tensorflow_quietly()
        try:
            main(args)
        except (ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)

    app.run(wrapped, argv=argv)


NETWORK_HELP = ("Generator: a .keras file, run folder or checkpoint of ours, an official .pkl, a rosinality .pt, or a "
                "bundled network (bundled:emoji32); its G_ema is used.")
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

    nets = load(path, max_bytes=max_read_bytes())
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
