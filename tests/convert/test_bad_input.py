"""Bad checkpoints fail with an error that names the file and the tensor; nothing runs."""

import builtins
import os
import pickle
import sys
import types

import numpy as np
import pytest
from conftest import data_path

from tf_stylegan.convert import CheckpointError, load
from tf_stylegan.convert.limits import ReadLimits
from tf_stylegan.convert.safe_pickle import BASE_GLOBALS, TF1Network, safe_load
from tf_stylegan.convert.torch_tensors import torch_globals


def write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def fake_dnnlib(monkeypatch):
    """Importable stand-ins so that test pickles can name dnnlib's Network class."""

    class Network:
        def __init__(self, state):
            self.state = state

        def __reduce__(self):
            return (Network, (), self.state)

        def __setstate__(self, state):
            self.state = state

    Network.__module__ = "dnnlib.tflib.network"
    Network.__qualname__ = "Network"
    for name in ("dnnlib", "dnnlib.tflib", "dnnlib.tflib.network"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    sys.modules["dnnlib.tflib.network"].Network = Network
    return Network


def tf1_states():
    path = data_path("tf1_small.pkl")
    nets = safe_load(open(path, "rb").read(), path, BASE_GLOBALS)
    return [n.state for n in nets]


def tf1_pickle(network_cls, states):
    def rebuild(state):
        state = dict(state)
        state["components"] = {k: rebuild(v.state) for k, v in state.get("components", {}).items()}
        return network_cls(state)

    return pickle.dumps(tuple(rebuild(s) for s in states), protocol=3)


def test_not_a_checkpoint(tmp_path):
    path = write(tmp_path, "notes.pkl", b"these are not the weights you are looking for")
    with pytest.raises(CheckpointError, match="notes.pkl: not a checkpoint"):
        load(path)
    with pytest.raises(CheckpointError, match="unrecognised checkpoint"):
        load(write(tmp_path, "list.pkl", pickle.dumps([1, 2, 3])))
    with pytest.raises(CheckpointError, match="no such file"):
        load(tmp_path / "missing.pkl")


@pytest.mark.parametrize("name", ["tf1_small.pkl", "ada_small.pkl"])
def test_truncated_pickle(tmp_path, name):
    data = open(data_path(name), "rb").read()
    path = write(tmp_path, name, data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=f"{name}: .*(truncated|ends early)"):
        load(path)


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


@pytest.mark.parametrize("func,arg", [(os.system, "touch {marker}"), (builtins.eval, "open('{marker}', 'w')")])
def test_malicious_globals_are_refused_and_nothing_runs(tmp_path, func, arg):
    marker = tmp_path / "pwned"
    payload = {"G_ema": _Evil(func, arg.format(marker=marker))}
    path = write(tmp_path, "evil.pkl", pickle.dumps(payload))
    refused = r"evil.pkl: pickle, near byte \d+: refusing to load: the pickle names the global `.*(system|eval)`"
    with pytest.raises(CheckpointError, match=refused):
        load(path)
    assert not marker.exists()


def test_malicious_global_inside_a_torch_storage_is_refused(tmp_path):
    inner = pickle.dumps(_Evil(os.system, "true"), protocol=2)
    table = torch_globals("x.pkl", ReadLimits("x.pkl"))
    loader = table[("torch.storage", "_load_from_bytes")]
    with pytest.raises(CheckpointError, match="refusing to load"):
        loader.call(inner)


def test_unknown_tf1_format_version(tmp_path, fake_dnnlib):
    states = tf1_states()
    states[2] = {**states[2], "version": 99}
    path = write(tmp_path, "future.pkl", tf1_pickle(fake_dnnlib, states))
    with pytest.raises(CheckpointError, match=r"future.pkl: Gs: unknown TF1 network format version 99"):
        load(path)


def test_unknown_ada_persistence_version(tmp_path):
    data = open(data_path("ada_small.pkl"), "rb").read()
    # The persistence format version is the small int right after the 'version' key.
    marker = b"\x8c\x07version\x94K\x06"
    assert marker in data
    path = write(tmp_path, "ada_v9.pkl", data.replace(marker, marker[:-1] + b"\x09", 1))
    with pytest.raises(CheckpointError, match=r"ada_v9.pkl: G: unknown persistence format version 9"):
        load(path)


def test_weight_shape_disagrees_with_architecture(tmp_path, fake_dnnlib):
    states = tf1_states()
    synthesis = states[2]["components"]["synthesis"].state
    variables = [
        (name, np.zeros((3, 3, 64, 48), np.float32) if name == "8x8/Conv1/weight" else value)
        for name, value in synthesis["variables"]
    ]
    states[2] = {**states[2], "components": {**states[2]["components"]}}
    states[2]["components"]["synthesis"] = TF1Network()
    states[2]["components"]["synthesis"].state = {**synthesis, "variables": variables}
    path = write(tmp_path, "reshaped.pkl", tf1_pickle(fake_dnnlib, states))
    with pytest.raises(
        CheckpointError,
        match=r"reshaped.pkl: Gs: tensor `synthesis/8x8/Conv1/weight` has shape \(3, 3, 64, 48\)",
    ):
        load(path)


def test_missing_tensor_is_named(tmp_path, fake_dnnlib):
    states = tf1_states()
    states[1] = {**states[1], "variables": [(n, v) for n, v in states[1]["variables"] if n != "Output/bias"]}
    path = write(tmp_path, "partial.pkl", tf1_pickle(fake_dnnlib, states))
    with pytest.raises(CheckpointError, match=r"partial.pkl: D: tensor `Output/bias` .* is missing"):
        load(path)
