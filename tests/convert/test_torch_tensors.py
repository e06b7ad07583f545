"""The numpy-only reader of torch's zip checkpoint format (as rosinality .pt files use)."""

import collections
import io
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from tf_stylegan.convert import CheckpointError
from tf_stylegan.convert.torch_tensors import load_torch_zip


class _Storage:
    def __init__(self, key, array):
        self.key, self.array = key, array


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (sys.modules["torch._utils"]._rebuild_tensor_v2, self.args)


@pytest.fixture
def fake_torch(monkeypatch):
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def write_torch_zip(path, obj, storages, fake_torch):
    buf = io.BytesIO()

    class Pickler(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, _Storage):
                return ("storage", fake_torch.FloatStorage, o.key, "cpu", o.array.size)
            return None

    Pickler(buf, protocol=2).dump(obj)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.array.astype("<f4").tobytes())


def test_reads_tensors_with_offsets_and_strides(tmp_path, fake_torch):
    data = np.arange(12, dtype=np.float32)
    storage = _Storage("0", data)
    obj = {"g_ema": {"w": _Tensor(storage, 0, (3, 4), (4, 1)), "wt": _Tensor(storage, 2, (2, 2), (1, 4))}}
    path = tmp_path / "model.pt"
    write_torch_zip(path, obj, [storage], fake_torch)
    state = load_torch_zip(str(path))["g_ema"]
    np.testing.assert_array_equal(state["w"], data.reshape(3, 4))
    np.testing.assert_array_equal(state["wt"], [[2, 6], [3, 7]])


def test_refuses_other_globals_and_non_archives(tmp_path, fake_torch):
    import os

    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"x": _Evil(os.system, "true")}, protocol=2))
    with pytest.raises(CheckpointError, match=r"evil.pt: archive/data.pkl, near byte \d+: refusing to load"):
        load_torch_zip(str(path))
    (tmp_path / "plain.pt").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="plain.pt: not a readable zip archive"):
        load_torch_zip(str(tmp_path / "plain.pt"))


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))
