"""Reads tensors that torch pickled, with numpy alone (torch is never imported).

Two storage layouts occur in checkpoints:
  * legacy serialization, used inside pickles: each storage pickles as
    `torch.storage._load_from_bytes(b)` where `b` is an old-style `torch.save`
    stream (magic, protocol, sys info, the storage's persistent id, the key
    list, then per key an int64 element count and the raw little-endian data);
  * the zip format of `torch.save` (data.pkl plus one file per storage).
Tensors come back as numpy arrays. Every tensor is checked before it is
made: a numeric storage, a non-negative offset and strides, its lowest and
highest element inside the storage, and its size charged to the read's
budget (a stride of 0 can make a huge tensor of a tiny storage).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from typing import Any

import numpy as np

from tf_stylegan.convert import safe_pickle
from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.limits import ReadLimits, shown
from tf_stylegan.convert.safe_pickle import Global, Restorable

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_TENSOR_RANK = 32
MAX_ZIP_MEMBERS = 100_000
_CHUNK = 1 << 20
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
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
    """A `torch.*Storage` class: just its element dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]
        self.itemsize = np.dtype(self.dtype or np.uint16).itemsize

    def decode(self, raw: bytes, count: int, limits: ReadLimits, where: str) -> np.ndarray:
        """The first `count` elements of `raw` (which must hold them)."""
        if type(count) is not int or count < 0 or count * self.itemsize > len(raw):
            limits.fail(where, f"a {self.name} of {shown(count)} elements does not fit its {len(raw)} bytes.")
        if self.dtype is None:  # bfloat16 -> float32 by shifting into the high half
            limits.charge(4 * count, where)
            bits = np.frombuffer(raw, dtype="<u2", count=count).astype(np.uint32) << 16
            return bits.view(np.float32)
        return np.frombuffer(raw, dtype=np.dtype(self.dtype).newbyteorder("<"), count=count)


def _sizes(value, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) > MAX_TENSOR_RANK \
            or not all(type(n) is int and n >= 0 for n in value):
        raise pickle.UnpicklingError(f"tensor {what} {shown(value)} is not a tuple of non-negative integers")
    return tuple(value)


def rebuild_tensor(limits: ReadLimits, where: str, storage: np.ndarray, offset, size, stride) -> np.ndarray:
    """A copy of the tensor (offset, size, stride) of a 1-D numeric storage, checked to lie inside it."""
    if not (isinstance(storage, np.ndarray) and storage.ndim == 1):
        raise pickle.UnpicklingError(f"tensor storage {shown(storage)} is not a storage")
    safe_pickle.check_numeric(storage.dtype, "tensor storage")
    size, stride = _sizes(size, "size"), _sizes(stride, "stride")
    if type(offset) is not int or offset < 0 or len(stride) != len(size):
        raise pickle.UnpicklingError(f"tensor offset {shown(offset)} / strides {stride} for size {size} "
                                     "are not valid")
    numel = int(np.prod(size, dtype=object))
    if numel == 0:
        return np.zeros(size, storage.dtype)
    highest = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if highest >= storage.size:
        raise pickle.UnpicklingError(f"tensor of size {size}, stride {stride} at offset {offset} reaches element "
                                     f"{highest}; its storage has {storage.size}")
    limits.charge(numel * storage.itemsize, where)
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=[s * storage.itemsize for s in stride], writeable=False
    )
    return np.array(view)


class _PendingStorage:
    """A legacy-format storage named before its bytes are read (they follow the pickle)."""

    def __init__(self, key: str, storage_type: StorageType):
        self.key, self.type = key, storage_type


class _PendingTensor:
    def __init__(self, storage: _PendingStorage, args: tuple):
        self.storage, self.args = storage, args


def torch_globals(path: str, limits: ReadLimits, nested_storages: bool = True) -> dict[tuple[str, str], Global]:
    """The allow-list for pickles that contain torch tensors.

    `nested_storages`: whether `torch.storage._load_from_bytes` (a legacy
    storage inside a pickle, as stylegan2-ada-pytorch writes them) is allowed;
    never inside such a storage itself.
    """

    def rebuild_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                   metadata=None):
        if isinstance(storage, _PendingStorage):
            _sizes(size, "size"), _sizes(stride, "stride")
            return _PendingTensor(storage, (storage_offset, size, stride))
        return rebuild_tensor(limits, "tensor", storage, storage_offset, size, stride)

    def parameter(data, requires_grad=False, backward_hooks=None, state=None):
        return data

    table = dict(safe_pickle.BASE_GLOBALS)
    for name in _STORAGE_DTYPES:
        table[("torch", name)] = Global(f"torch.{name}", value=StorageType(name))
    table[("torch._utils", "_rebuild_tensor_v2")] = Global("torch._utils._rebuild_tensor_v2", call=rebuild_v2)
    table[("torch._utils", "_rebuild_parameter")] = Global("torch._utils._rebuild_parameter", call=parameter)
    table[("torch._utils", "_rebuild_parameter_with_state")] = Global(
        "torch._utils._rebuild_parameter_with_state", call=parameter)
    if nested_storages:
        table[("torch.storage", "_load_from_bytes")] = Global(
            "torch.storage._load_from_bytes", call=lambda data: load_legacy_storage(data, path, limits))
    table[("torch", "Size")] = Global("torch.Size", call=lambda sizes=(): _sizes(sizes, "size"))
    # training args saved beside the weights
    table[("argparse", "Namespace")] = Global("argparse.Namespace", new=safe_pickle.SavedState)
    return table


def _storage_type(pid, path: str) -> StorageType:
    value = pid[1].value if isinstance(pid[1], Global) else None
    if not isinstance(value, StorageType):
        raise CheckpointError(path, f"persistent id {shown(pid)}: {shown(pid[1])} is not a torch storage type.")
    return value


class _Resolver:
    """Replaces pending storages and tensors in a loaded structure, each object once; refuses cycles."""

    _BUSY = object()

    def __init__(self, arrays: dict[str, np.ndarray], limits: ReadLimits):
        self.arrays, self.limits = arrays, limits
        self.memo: dict[int, Any] = {}
        self.keep: list = []

    def __call__(self, obj, where: str = "<root>", depth: int = 0):
        if not isinstance(obj, (_PendingStorage, _PendingTensor, dict, list, tuple, Restorable)):
            return obj
        done = self.memo.get(id(obj))
        if done is self._BUSY:
            self.limits.fail(where, "a cyclic reference (the structure contains itself).")
        if done is not None:
            return done
        self.limits.check_depth(depth, where)
        self.memo[id(obj)] = self._BUSY
        self.keep.append(obj)
        result = self._resolve(obj, where, depth + 1)
        self.memo[id(obj)] = result
        return result

    def _resolve(self, obj, where: str, depth: int):
        if isinstance(obj, _PendingStorage):
            return self._array(obj, where)
        if isinstance(obj, _PendingTensor):
            try:
                return rebuild_tensor(self.limits, where, self._array(obj.storage, where), *obj.args)
            except pickle.UnpicklingError as exc:
                self.limits.fail(where, str(exc))
        if isinstance(obj, dict):
            for key in list(obj):
                obj[key] = self(obj[key], f"{where}[{shown(key)}]", depth)
            return obj
        if isinstance(obj, Restorable):
            if hasattr(obj, "state"):
                obj.state = self(obj.state, f"{where}.state", depth)
            return obj
        items = [self(v, f"{where}[{i}]", depth) for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else tuple(items)

    def _array(self, storage: _PendingStorage, where: str) -> np.ndarray:
        if storage.key not in self.arrays:
            self.limits.fail(where, f"storage {shown(storage.key)} is named but never written.")
        return self.arrays[storage.key]


def _read_legacy(stream: io.BytesIO, path: str, limits: ReadLimits, nested_storages: bool) -> Any:
    """Reads torch's legacy (non-zip) serialization: magic, protocol, sys info,
    the object pickle, the storage key list, then each storage's count and bytes."""
    allowed = torch_globals(path, limits, nested_storages)
    refs: dict[str, StorageType] = {}

    def persistent_load(pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and type(pid[2]) is str):
            raise CheckpointError(path, f"unknown persistent id {shown(pid)} in a torch file.")
        storage_type, key = _storage_type(pid, path), pid[2]
        if refs.setdefault(key, storage_type) is not storage_type:
            raise CheckpointError(path, f"storage {shown(key)} is named with two different types.")
        return _PendingStorage(key, storage_type)

    def read_pickle(what: str, handler=None):
        return safe_pickle.SafeUnpickler(stream, path, allowed, handler, limits, f"torch file {what}").load()

    if read_pickle("magic number") != LEGACY_MAGIC:
        raise CheckpointError(path, "bad magic number: not a torch file.")
    read_pickle("protocol version")
    read_pickle("system info")
    root = read_pickle("object", persistent_load)
    keys = read_pickle("storage keys")
    if not (isinstance(keys, list) and all(type(k) is str for k in keys)) or len(set(keys)) != len(keys):
        raise CheckpointError(path, "torch file storage keys: not a list of distinct names.")
    arrays = {}
    for key in keys:
        where = f"torch file storage {shown(key)}"
        if key not in refs:
            raise CheckpointError(path, f"{where}: written but never named by the object.")
        head = stream.read(8)
        if len(head) != 8:
            raise CheckpointError(path, f"{where}: the file is truncated.")
        count = int(np.frombuffer(head, dtype="<i8")[0])
        nbytes = count * refs[key].itemsize
        available = len(stream.getbuffer()) - stream.tell()
        if count < 0 or nbytes > available:
            raise CheckpointError(path, f"{where}: {count} elements need {nbytes} bytes, {available} remain: "
                                        "the file is truncated or malformed.")
        limits.charge(nbytes, where)
        arrays[key] = refs[key].decode(stream.read(nbytes), count, limits, where)
    return _Resolver(arrays, limits)(root)


def load_legacy_storage(data: bytes, path: str, limits: ReadLimits) -> np.ndarray:
    """Decodes one storage written by torch's legacy (non-zip) serializer (no nested storages)."""
    if not isinstance(data, bytes):
        raise CheckpointError(path, "a pickled torch storage is not given as bytes.")
    storage = _read_legacy(io.BytesIO(data), path, limits, nested_storages=False)
    if not isinstance(storage, np.ndarray):
        raise CheckpointError(path, "a pickled torch storage holds no storage.")
    return storage


def read_file(path: str, limits: ReadLimits) -> bytes:
    """The bytes of `path`, charged to the budget."""
    import os

    try:
        size = os.path.getsize(path)
        limits.charge(size, "the file")
        with open(path, "rb") as f:
            return f.read(size + 1)[:size]
    except OSError as exc:
        raise CheckpointError(path, f"cannot be read ({exc.strerror or exc}).") from None


def load_legacy_bytes(data: bytes, path: str, limits: ReadLimits) -> Any:
    """A whole legacy-format `torch.save` file, given as its bytes."""
    return _read_legacy(io.BytesIO(data), path, limits, nested_storages=True)


def load_torch_file(path: str, limits: ReadLimits | None = None) -> Any:
    """Any `torch.save` file, zip (torch >= 1.6) or legacy, with tensors as numpy arrays."""
    limits = limits or ReadLimits(path)
    if ZipReader.is_zip(path):
        return load_torch_zip(path, limits=limits)
    return load_legacy_bytes(read_file(path, limits), path, limits)


class ScriptModule(Restorable):
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
        if isinstance(module, str) and isinstance(name, str) and (module == "__torch__"
                                                                   or module.startswith("__torch__.")):
            # NEWOBJ needs a class: one stand-in subclass per TorchScript class.
            cls = type("ScriptModule", (ScriptModule,), {"type_name": f"{module}.{name}"})
            self[key] = Global(f"{module}.{name}", new=cls)
            return self[key]
        raise KeyError(key)


_SCRIPT_LIST_BUILDERS = ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist")


def load_torchscript(path: str, limits: ReadLimits | None = None) -> ScriptModule:
    """Reads a TorchScript archive (`torch.jit.save`) into a `ScriptModule` tree.

    Only data.pkl and the tensor storages are read; the archive's code/ is
    ignored, so nothing in it runs.
    """
    extra = {("torch.jit._pickle", name): Global(name, call=_list) for name in _SCRIPT_LIST_BUILDERS}
    root = load_torch_zip(path, extra, globals_type=_TorchScriptGlobals, limits=limits)
    if not isinstance(root, ScriptModule):
        raise CheckpointError(path, "not a TorchScript archive: data.pkl holds no module.")
    return root


def _list(items=()):
    if not isinstance(items, (list, tuple)):
        raise pickle.UnpicklingError("a TorchScript list takes a list")
    return list(items)


class ZipReader:
    """Members of an untrusted zip archive, each read in bounded chunks and charged to the budget.

    A member's declared size bounds what it may decompress to (zipfile stops
    there); reading in chunks keeps a bomb from inflating in one call.
    """

    def __init__(self, path: str, limits: ReadLimits):
        self.path, self.limits = path, limits
        try:
            self.archive = zipfile.ZipFile(path)
            infos = self.archive.infolist()
        except Exception as exc:
            raise CheckpointError(path, f"not a readable zip archive ({type(exc).__name__}: {shown(str(exc))}).") \
                from None
        if len(infos) > MAX_ZIP_MEMBERS:
            raise CheckpointError(path, f"a zip archive of {len(infos)} members; more than {MAX_ZIP_MEMBERS}.")
        self.infos = {info.filename: info for info in infos}

    @staticmethod
    def is_zip(path: str) -> bool:
        try:
            return zipfile.is_zipfile(path)
        except OSError:
            return False

    def names(self) -> list[str]:
        return list(self.infos)

    def read(self, name: str) -> bytes:
        info = self.infos.get(name)
        if info is None:
            raise CheckpointError(self.path, f"{name}: missing from the archive.")
        if info.compress_type not in _ZIP_METHODS or info.flag_bits & 0x1:
            raise CheckpointError(self.path, f"{name}: an encrypted or unknown compression (method "
                                             f"{info.compress_type}).")
        self.limits.charge(info.file_size, name)
        parts, total = [], 0
        try:
            with self.archive.open(info) as f:
                while chunk := f.read(_CHUNK):
                    total += len(chunk)
                    if total > info.file_size:
                        raise CheckpointError(self.path, f"{name}: inflates beyond its declared size.")
                    parts.append(chunk)
        except CheckpointError:
            raise
        except Exception as exc:
            raise CheckpointError(self.path, f"{name}: cannot be read ({type(exc).__name__}: "
                                             f"{shown(str(exc))}).") from None
        return b"".join(parts)

    def check_all(self) -> None:
        """Reads every member once (bounded), so that a later reader meets no bomb."""
        for name in self.infos:
            self.read(name)

    def close(self) -> None:
        self.archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def load_torch_zip(path: str, allowed_extra: dict | None = None, globals_type: type = dict,
                   limits: ReadLimits | None = None) -> Any:
    """Reads a zip-format `torch.save` file (e.g. rosinality .pt) into numpy."""
    limits = limits or ReadLimits(path)
    with ZipReader(path, limits) as archive:
        pkl = [n for n in archive.names() if n == "data.pkl" or (n.endswith("/data.pkl") and n.count("/") == 1)]
        if len(pkl) != 1:
            raise CheckpointError(path, "the zip archive has no single data.pkl: not a torch checkpoint.")
        prefix = pkl[0][: -len("data.pkl")]
        cache: dict[str, tuple[StorageType, np.ndarray]] = {}

        def persistent_load(pid) -> np.ndarray:
            if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and type(pid[2]) is str):
                raise CheckpointError(path, f"data.pkl: unknown persistent id {shown(pid)}.")
            storage_type, key, numel = _storage_type(pid, path), pid[2], pid[4]
            if key not in cache:
                member = f"{prefix}data/{key}"
                cache[key] = (storage_type, storage_type.decode(archive.read(member), numel, limits, member))
            if cache[key][0] is not storage_type:
                raise CheckpointError(path, f"data.pkl: storage {shown(key)} is named with two different types.")
            return cache[key][1]

        allowed = globals_type({**torch_globals(path, limits), **(allowed_extra or {})})
        return safe_pickle.safe_load(archive.read(pkl[0]), path, allowed, persistent_load, limits, pkl[0])
