"""A pickle reader for files written by strangers: it resolves only an allow-list of inert names.

Official checkpoints are pickles of objects whose classes (and, for
stylegan2-ada-pytorch and NVlabs TF1, whose source code) live in the file's
own project. We never import or execute any of it. Every allowed global is a
`Global`: a stand-in that builds a small, checked object of ours (a saved
state, a numeric array), never a real class or function, so neither REDUCE,
NEWOBJ nor BUILD can reach Python's or numpy's real objects. Any other
global (`os.system`, `builtins.eval`, ...) stops the load with an error.

The virtual machine is the standard library's pure-Python one, with the
opcodes that call, build or allocate replaced: its memo is a dict (the C
one allocates as many slots as a 5-byte opcode asks for), reads past the
end are errors, dict keys and set members must be plain values (hashing a
deeply nested tuple overflows the C stack), arrays are built only from
numeric dtypes with exactly the bytes their shape needs, and everything is
charged to the read's `ReadLimits`.
"""

from __future__ import annotations

import collections
import io
import pickle
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.limits import ReadLimits, shown

MAX_KEY_DEPTH = 4  # tuples as dict keys nest at most this deep (official files: never)
_PLAIN_KEYS = (str, int, float, bytes, bool, type(None))


class Restorable:
    """Base of our stand-ins for pickled objects: the only non-container targets BUILD may update."""

    def __setstate__(self, state):
        raise NotImplementedError


class SavedState(Restorable):
    """Stand-in for a pickled object: holds the state it was saved with."""

    def __init__(self, *args, **kwargs):
        self.state: Any = None

    def __setstate__(self, state):
        self.state = state


class TF1Network(SavedState):
    """Stand-in for `dnnlib.tflib.network.Network` (NVlabs TF1 checkpoints)."""


class EasyDict(dict):
    """Stand-in for `dnnlib.util.EasyDict`: a plain dict."""


class PersistentObject(Restorable):
    """What `torch_utils.persistence` saved: class name, version and state.

    The saved `module_src` is kept as text for inspection and never run.
    """

    def __init__(self, meta: Mapping):
        self.type = meta.get("type")
        self.version = meta.get("version")
        self.class_name = meta.get("class_name")
        self.module_src = meta.get("module_src")
        self.state = meta.get("state")

    def __setstate__(self, state):
        raise pickle.UnpicklingError("a persistent object takes no further state")


class Global:
    """An allow-listed global: what REDUCE (`call`) or NEWOBJ (`new`) may do with it.

    `value` carries data for readers that receive the global itself (a torch
    storage type inside a persistent id). A Global is never a real class or
    function, so the file cannot reach one.
    """

    __slots__ = ("name", "call", "new", "value")

    def __init__(self, name: str, call: Callable | None = None, new: Callable | None = None, value: Any = None):
        self.name, self.call, self.new, self.value = name, call, new, value

    def __repr__(self):
        return f"<global {self.name}>"


# ----------------------------------------------------------------------------- numpy

_NUMERIC_CODE = re.compile(r"[<>=|]?[biufc]\d{1,2}")


def check_numeric(dtype: Any, where: str = "array") -> np.dtype:
    """`dtype` if it is a plain numeric numpy dtype (no objects, records or strings)."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or dtype.fields is not None \
            or dtype.subdtype is not None or dtype.hasobject:
        raise pickle.UnpicklingError(f"{where}: dtype {shown(dtype)} is not numeric")
    return dtype


def _make_dtype(code, align=False, copy=True):
    if not isinstance(code, str) or not _NUMERIC_CODE.fullmatch(code):
        raise pickle.UnpicklingError(f"numpy dtype {shown(code)} is not a numeric type")
    return np.dtype(code, align=False, copy=True)  # a fresh object: its BUILD cannot touch numpy's cache


def _set_dtype_state(dtype: np.dtype, state) -> None:
    # (version, byteorder, subarray, names, fields, elsize, alignment, flags) for plain dtypes.
    if not (isinstance(state, tuple) and len(state) in (8, 9) and state[0] in (3, 4)
            and state[1] in ("<", ">", "|", "=") and state[2:5] == (None, None, None)
            and state[5:7] == (-1, -1) and isinstance(state[7], int)):
        raise pickle.UnpicklingError(f"numpy dtype state {shown(state)} is not that of a plain numeric type")
    dtype.__setstate__(state)
    check_numeric(dtype)


def _reconstruct_array(subtype, shape, tag):
    if not (isinstance(subtype, Global) and subtype.name == "numpy.ndarray" and shape == (0,)):
        raise pickle.UnpicklingError("numpy _reconstruct is only allowed for a plain ndarray")
    return np.ndarray((0,), np.uint8)  # filled in by BUILD


def _scalar(dtype, data):
    check_numeric(dtype, "numpy scalar")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError(f"numpy scalar of {dtype} needs {dtype.itemsize} bytes")
    return np.frombuffer(data, dtype)[0]


def _numpy_globals() -> dict[tuple[str, str], Global]:
    # numpy moved `core` to `_core` in 2.0; files from either era name one of them.
    table = {
        ("numpy", "ndarray"): Global("numpy.ndarray"),
        ("numpy", "dtype"): Global("numpy.dtype", call=_make_dtype),
    }
    for core in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[(core, "_reconstruct")] = Global("numpy._reconstruct", call=_reconstruct_array)
        table[(core, "scalar")] = Global("numpy.scalar", call=_scalar)
    return table


# ----------------------------------------------------------------------------- builtins

def _ordered_dict(items=()):
    if not isinstance(items, (list, tuple)):
        raise pickle.UnpicklingError("OrderedDict takes a list of pairs")
    out = collections.OrderedDict()
    for pair in items:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise pickle.UnpicklingError("OrderedDict takes a list of pairs")
        out[_plain_key(pair[0])] = pair[1]
    return out


def _set(items=(), frozen=False):
    if not isinstance(items, (list, tuple)):
        raise pickle.UnpicklingError("set takes a list")
    members = [_plain_key(v) for v in items]
    return frozenset(members) if frozen else set(members)


def _slice(*args):
    if len(args) > 3 or not all(a is None or type(a) is int for a in args):
        raise pickle.UnpicklingError("slice takes up to three integers")
    return slice(*args)


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, Mapping):
        raise pickle.UnpicklingError("persistent object metadata is not a dict")
    return PersistentObject(meta)


def _plain_key(key, depth: int = 0):
    """`key` if it is a plain value (or a shallow tuple of them): safe to hash."""
    if type(key) in _PLAIN_KEYS:
        return key
    if type(key) is tuple and depth < MAX_KEY_DEPTH:
        for item in key:
            _plain_key(item, depth + 1)
        return key
    raise pickle.UnpicklingError(f"a dict key or set member of type {type(key).__name__} is not a plain value")


BASE_GLOBALS: dict[tuple[str, str], Global] = {
    **_numpy_globals(),
    ("collections", "OrderedDict"): Global("collections.OrderedDict", call=_ordered_dict, new=_ordered_dict),
    ("builtins", "set"): Global("builtins.set", call=_set),
    ("builtins", "frozenset"): Global("builtins.frozenset", call=lambda items=(): _set(items, frozen=True)),
    ("builtins", "slice"): Global("builtins.slice", call=_slice),
    ("dnnlib.tflib.network", "Network"): Global("dnnlib.tflib.network.Network", call=TF1Network, new=TF1Network),
    ("dnnlib.util", "EasyDict"): Global("dnnlib.util.EasyDict", call=EasyDict, new=EasyDict),
    ("torch_utils.persistence", "_reconstruct_persistent_obj"):
        Global("torch_utils.persistence._reconstruct_persistent_obj", call=_reconstruct_persistent_obj),
}


# ----------------------------------------------------------------------------- the machine

class _StrictFile:
    """A bytes reader whose reads never come back short: a short read is a truncated file."""

    def __init__(self, stream: io.BytesIO):
        self.stream = stream

    def remaining(self) -> int:
        buf = self.stream.getbuffer()
        try:
            return len(buf) - self.stream.tell()
        finally:
            buf.release()

    def read(self, n: int) -> bytes:
        data = self.stream.read(n)
        if len(data) < n:
            raise EOFError
        return data

    def readline(self) -> bytes:
        line = self.stream.readline()
        if not line.endswith(b"\n"):
            raise EOFError
        return line

    def readinto(self, buf) -> int:
        n = self.stream.readinto(buf)
        if n < len(buf):
            raise EOFError
        return n


_d = pickle._Unpickler.dispatch  # the opcode table of the pure-Python machine
_OPS = pickle


class SafeUnpickler(pickle._Unpickler):
    """The pure-Python unpickler with the calling, building and allocating opcodes guarded.

    Args:
      stream: a BytesIO positioned at the pickle (several pickles may follow each other).
      path: the file's name, for error messages.
      allowed: {(module, name): Global} the pickle may refer to.
      persistent_load: handler for persistent ids (torch storages), or None.
      limits: the read's budget (a fresh default one if None).
      where: the place inside the file, for error messages ("data.pkl").
    """

    dispatch = dict(_d)

    def __init__(
        self,
        stream: io.BytesIO,
        path: str,
        allowed: Mapping[tuple[str, str], Global],
        persistent_load: Callable[[Any], Any] | None = None,
        limits: ReadLimits | None = None,
        where: str = "pickle",
    ):
        self._strict = _StrictFile(stream)
        super().__init__(self._strict)
        self.path = path
        self.allowed = allowed
        self._persistent = persistent_load
        self.limits = limits or ReadLimits(path)
        self.where = where
        self._stream = stream

    def position(self) -> str:
        return f"{self.where}, near byte {self._stream.tell()}"

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except (KeyError, TypeError):
            raise CheckpointError(
                self.path,
                f"{self.position()}: refusing to load: the pickle names the global `{module}.{name}`, which "
                "is not on the allow-list of checkpoint types. It may not be a checkpoint, or it may try to "
                "run code. Nothing was executed.",
            ) from None

    def persistent_load(self, pid):
        if self._persistent is None:
            raise pickle.UnpicklingError(f"unexpected persistent id {shown(pid)}")
        return self._persistent(pid)

    # --- calls: only Globals, never a real callable
    def _global(self, obj, how: str) -> Callable:
        target = getattr(obj, how, None) if isinstance(obj, Global) else None
        if target is None:
            raise pickle.UnpicklingError(f"{how} of {shown(obj)} is not allowed")
        return target

    def load_reduce(self):
        args = self.stack.pop()
        if type(args) is not tuple:
            raise pickle.UnpicklingError("REDUCE arguments are not a tuple")
        self.stack[-1] = self._global(self.stack[-1], "call")(*args)

    dispatch[_OPS.REDUCE[0]] = load_reduce

    def load_newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        if type(args) is not tuple:
            raise pickle.UnpicklingError("NEWOBJ arguments are not a tuple")
        self.append(self._global(cls, "new")(*args))

    dispatch[_OPS.NEWOBJ[0]] = load_newobj

    def load_newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        if type(args) is not tuple or type(kwargs) is not dict or not all(type(k) is str for k in kwargs):
            raise pickle.UnpicklingError("NEWOBJ_EX arguments are malformed")
        self.append(self._global(cls, "new")(*args, **kwargs))

    dispatch[_OPS.NEWOBJ_EX[0]] = load_newobj_ex

    def _instantiate(self, klass, args):  # INST and OBJ (protocols 0 and 1)
        how = "call" if args or not (isinstance(klass, Global) and klass.new) else "new"
        self.append(self._global(klass, how)(*args))

    # --- BUILD: only our stand-ins, numpy arrays and dtypes we made; a dict's attribute state is dropped
    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, Restorable):
            inst.__setstate__(state)
        elif type(inst) is np.ndarray:
            self._set_array_state(inst, state)
        elif isinstance(inst, np.dtype):
            _set_dtype_state(inst, state)
        elif isinstance(inst, dict) and (not state or isinstance(state, dict)):
            pass  # e.g. torch's state_dict._metadata: not needed, and never set on the object
        else:
            raise pickle.UnpicklingError(f"BUILD of a {type(inst).__name__} is not allowed")

    dispatch[_OPS.BUILD[0]] = load_build

    def _set_array_state(self, array: np.ndarray, state) -> None:
        if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
            raise pickle.UnpicklingError("numpy array state is not (1, shape, dtype, fortran, data)")
        _, shape, dtype, fortran, data = state
        check_numeric(dtype)
        if not (isinstance(shape, tuple) and len(shape) <= 32 and all(type(n) is int and n >= 0 for n in shape)):
            raise pickle.UnpicklingError(f"numpy array shape {shown(shape)} is not a tuple of sizes")
        if type(fortran) is not bool or not isinstance(data, (bytes, bytearray)):
            raise pickle.UnpicklingError("numpy array state is malformed")
        nbytes = dtype.itemsize * int(np.prod(shape, dtype=object))
        if nbytes != len(data):
            raise pickle.UnpicklingError(f"numpy array of shape {shape} and {dtype} needs {nbytes} bytes, "
                                         f"the file gives {len(data)}")
        self.limits.charge(nbytes, self.position())
        array.__setstate__((1, shape, dtype, fortran, bytes(data)))

    # --- containers: keys and members must be plain values
    def load_setitem(self):
        value = self.stack.pop()
        key = self.stack.pop()
        self._setitems(self.stack[-1], [(key, value)])

    dispatch[_OPS.SETITEM[0]] = load_setitem

    def load_setitems(self):
        items = self.pop_mark()
        self._setitems(self.stack[-1], list(zip(items[::2], items[1::2])))

    dispatch[_OPS.SETITEMS[0]] = load_setitems

    def _setitems(self, target, pairs):
        if not isinstance(target, dict):
            raise pickle.UnpicklingError(f"SETITEMS on a {type(target).__name__}")
        for key, value in pairs:
            target[_plain_key(key)] = value

    def load_dict(self):
        items = self.pop_mark()
        self.append({_plain_key(k): v for k, v in zip(items[::2], items[1::2])})

    dispatch[_OPS.DICT[0]] = load_dict

    def load_additems(self):
        items = self.pop_mark()
        target = self.stack[-1]
        if not isinstance(target, set):
            raise pickle.UnpicklingError(f"ADDITEMS on a {type(target).__name__}")
        target.update(_plain_key(v) for v in items)

    dispatch[_OPS.ADDITEMS[0]] = load_additems

    def load_frozenset(self):
        self.append(frozenset(_plain_key(v) for v in self.pop_mark()))

    dispatch[_OPS.FROZENSET[0]] = load_frozenset

    def load_appends(self):
        items = self.pop_mark()
        target = self.stack[-1]
        if type(target) is not list:
            raise pickle.UnpicklingError(f"APPENDS on a {type(target).__name__}")
        target.extend(items)

    dispatch[_OPS.APPENDS[0]] = load_appends

    def load_append(self):
        value = self.stack.pop()
        if type(self.stack[-1]) is not list:
            raise pickle.UnpicklingError(f"APPEND on a {type(self.stack[-1]).__name__}")
        self.stack[-1].append(value)

    dispatch[_OPS.APPEND[0]] = load_append

    # --- allocations: never larger than the bytes that remain
    def load_bytearray8(self):
        (n,) = struct.unpack("<Q", self.read(8))
        if n > self._strict.remaining():
            raise EOFError
        self.append(bytearray(self.read(n)))

    dispatch[_OPS.BYTEARRAY8[0]] = load_bytearray8

    def load_ext1(self):
        raise pickle.UnpicklingError("extension codes are not allowed")

    dispatch[_OPS.EXT1[0]] = dispatch[_OPS.EXT2[0]] = dispatch[_OPS.EXT4[0]] = load_ext1

    def load(self):
        try:
            return super().load()
        except CheckpointError:
            raise
        except EOFError:
            raise CheckpointError(self.path, f"{self.position()}: the pickle ends early: the file is truncated.") \
                from None
        except RecursionError:
            raise CheckpointError(self.path, f"{self.position()}: the pickle nests too deeply.") from None
        except Exception as exc:  # any other malformed input: one error type, naming the place
            raise CheckpointError(
                self.path, f"{self.position()}: not a readable pickle ({type(exc).__name__}: {shown(str(exc))})."
            ) from None


def safe_load(
    data: bytes,
    path: str,
    allowed: Mapping[tuple[str, str], Global] | None = None,
    persistent_load: Callable[[Any], Any] | None = None,
    limits: ReadLimits | None = None,
    where: str = "pickle",
) -> Any:
    """Unpickles `data` with the allow-list; every failure is a CheckpointError naming `path`."""
    allowed = BASE_GLOBALS if allowed is None else allowed
    return SafeUnpickler(io.BytesIO(data), path, allowed, persistent_load, limits, where).load()
