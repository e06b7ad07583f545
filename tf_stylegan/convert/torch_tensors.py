"""Reads tensors that torch pickled, with numpy alone (torch is never imported).

Two storage layouts occur in checkpoints:
  * legacy serialization, used inside pickles: each storage pickles as
    `torch.storage._load_from_bytes(b)` where `b` is an old-style `torch.save`
    stream (magic, protocol, sys info, the storage's persistent id, the key
    list, then per key an int64 element count and the raw little-endian data);
  * the zip format of `torch.save` (data.pkl plus one file per storage).
Tensors come back as numpy arrays (views honour offset and strides).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from typing import Any

import numpy as np

from tf_stylegan.convert import safe_pickle
from tf_stylegan.convert.errors import CheckpointError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": None,  # numpy has no bfloat16: widened on read
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class StorageType:
    """Stand-in for a `torch.*Storage` class: just its element dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]

    def decode(self, raw: bytes, count: int) -> np.ndarray:
        if self.dtype is None:  # bfloat16 -> float32 by shifting into the high half
            bits = np.frombuffer(raw, dtype="<u2", count=count).astype(np.uint32) << 16
            return bits.view(np.float32)
        return np.frombuffer(raw, dtype=np.dtype(self.dtype).newbyteorder("<"), count=count)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if isinstance(storage, _PendingStorage):
        return _PendingTensor(storage, (storage_offset, size, stride))
    if not isinstance(storage, np.ndarray):
        raise pickle.UnpicklingError("tensor storage is not an array")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if not size:
        return np.array(storage[storage_offset])
    needed = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if min(size) > 0 and needed > storage.size:
        raise pickle.UnpicklingError(
            f"tensor of size {size} needs {needed} elements; its storage has {storage.size}"
        )
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[storage_offset:], shape=size, strides=[s * item for s in stride]
    )
    return np.array(view)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return data


def torch_globals(path: str) -> dict[tuple[str, str], Any]:
    """The allow-list for pickles that contain torch tensors."""
    table = dict(safe_pickle.BASE_GLOBALS)
    for name in _STORAGE_DTYPES:
        table[("torch", name)] = StorageType(name)
    table[("torch._utils", "_rebuild_tensor_v2")] = _rebuild_tensor_v2
    table[("torch._utils", "_rebuild_parameter")] = _rebuild_parameter
    table[("torch._utils", "_rebuild_parameter_with_state")] = _rebuild_parameter_with_state
    table[("torch.storage", "_load_from_bytes")] = lambda data: load_legacy_storage(data, path)
    table[("torch", "Size")] = tuple
    table[("argparse", "Namespace")] = safe_pickle.SavedState  # training args saved beside the weights
    return table


class _PendingStorage:
    """A legacy-format storage named before its bytes are read (they follow the pickle)."""

    def __init__(self, key: str):
        self.key = key


class _PendingTensor:
    def __init__(self, storage: _PendingStorage, args: tuple):
        self.storage, self.args = storage, args


def _resolve(obj, arrays: dict[str, np.ndarray]):
    """Replaces pending storages/tensors in a loaded structure by numpy arrays."""
    if isinstance(obj, _PendingStorage):
        return arrays[obj.key]
    if isinstance(obj, _PendingTensor):
        return _rebuild_tensor_v2(arrays[obj.storage.key], *obj.args)
    if isinstance(obj, dict):
        for key in list(obj):
            obj[key] = _resolve(obj[key], arrays)
        return obj
    if isinstance(obj, list):
        return [_resolve(v, arrays) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_resolve(v, arrays) for v in obj)
    return obj


def _read_legacy(stream: io.BytesIO, path: str) -> Any:
    """Reads torch's legacy (non-zip) serialization: magic, protocol, sys info,
    the object pickle, the storage key list, then each storage's count and bytes."""
    allowed = torch_globals(path)
    refs: dict[str, StorageType] = {}

    def persistent_load(pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage" and len(pid) >= 5):
            raise CheckpointError(path, f"unknown persistent id {pid!r} in a torch file.")
        storage_type, key = pid[1], str(pid[2])
        if not isinstance(storage_type, StorageType):
            raise CheckpointError(path, f"unknown storage type {storage_type!r}.")
        refs[key] = storage_type
        return _PendingStorage(key)

    def read_pickle(handler=None):
        return safe_pickle.SafeUnpickler(stream, path, allowed, handler).load()

    try:
        if read_pickle() != LEGACY_MAGIC:
            raise CheckpointError(path, "bad magic number: not a torch file.")
        read_pickle()  # protocol version
        read_pickle()  # sys info
        root = read_pickle(persistent_load)
        arrays = {}
        for key in read_pickle():
            storage_type = refs[str(key)]
            count = int(np.frombuffer(stream.read(8), dtype="<i8")[0])
            nbytes = count * np.dtype(storage_type.dtype or np.uint16).itemsize
            raw = stream.read(nbytes)
            if len(raw) != nbytes:
                raise CheckpointError(path, "a torch storage ends early: the file is truncated.")
            arrays[str(key)] = storage_type.decode(raw, count)
        return _resolve(root, arrays)
    except CheckpointError:
        raise
    except (EOFError, IndexError, KeyError, ValueError, TypeError, pickle.UnpicklingError) as exc:
        raise CheckpointError(path, f"a torch file could not be read ({exc}).") from None


def load_legacy_storage(data: bytes, path: str) -> np.ndarray:
    """Decodes one storage written by torch's legacy (non-zip) serializer."""
    storage = _read_legacy(io.BytesIO(data), path)
    if not isinstance(storage, np.ndarray):
        raise CheckpointError(path, "a pickled torch storage holds no storage.")
    return storage


def load_torch_file(path: str) -> Any:
    """Any `torch.save` file, zip (torch >= 1.6) or legacy, with tensors as numpy arrays."""
    if zipfile.is_zipfile(path):
        return load_torch_zip(path)
    with open(path, "rb") as f:
        return _read_legacy(io.BytesIO(f.read()), path)


class ScriptModule:
    """Stand-in for a TorchScript module object (`__torch__.<module>.<Class>`).

    Keeps the class name and the pickled attribute dict (submodules,
    parameters as numpy arrays, plain settings). Its code is never read.
    """

    type_name = "__torch__.Module"

    def __init__(self, *args):
        self.state: dict = {}

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"{self.type_name}: module state is not a dict")
        self.state = state

    def children(self) -> dict[str, ScriptModule]:
        return {k: v for k, v in self.state.items() if isinstance(v, ScriptModule)}


class _TorchScriptGlobals(dict):
    """Allow-list that also answers every `__torch__.*` class with a stand-in."""

    def __missing__(self, key):
        module, name = key
        if module == "__torch__" or module.startswith("__torch__."):
            # NEWOBJ needs a class: one stand-in subclass per TorchScript class.
            self[key] = type(name, (ScriptModule,), {"type_name": f"{module}.{name}"})
            return self[key]
        raise KeyError(key)


_SCRIPT_LIST_BUILDERS = ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist")


def load_torchscript(path: str) -> ScriptModule:
    """Reads a TorchScript archive (`torch.jit.save`) into a `ScriptModule` tree.

    Only data.pkl and the tensor storages are read; the archive's code/ is
    ignored, so nothing in it runs.
    """
    extra = {("torch.jit._pickle", name): list for name in _SCRIPT_LIST_BUILDERS}
    root = load_torch_zip(path, extra, globals_type=_TorchScriptGlobals)
    if not isinstance(root, ScriptModule):
        raise CheckpointError(path, "not a TorchScript archive: data.pkl holds no module.")
    return root


def load_torch_zip(path: str, allowed_extra: dict | None = None, globals_type: type = dict) -> Any:
    """Reads a zip-format `torch.save` file (e.g. rosinality .pt) into numpy."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(path, f"not a torch zip archive ({exc}).") from None
    with archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise CheckpointError(path, "the zip archive has no data.pkl: not a torch checkpoint.")
        prefix = pkl[: -len("data.pkl")]
        cache: dict[str, np.ndarray] = {}

        def persistent_load(pid: tuple) -> np.ndarray:
            if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
                raise CheckpointError(path, f"unknown persistent id {pid!r}.")
            storage_type, key, _location, numel = pid[1:5]
            if key not in cache:
                try:
                    raw = archive.read(f"{prefix}data/{key}")
                except KeyError:
                    raise CheckpointError(path, f"storage data/{key} is missing from the archive.") from None
                cache[key] = storage_type.decode(raw, int(numel))
            return cache[key]

        allowed = globals_type({**torch_globals(path), **(allowed_extra or {})})
        return safe_pickle.safe_load(archive.read(pkl), path, allowed, persistent_load)


