"""A pickle reader that resolves only an allow-list of globals.

Official checkpoints are pickles of objects whose classes (and, for
stylegan2-ada-pytorch and NVlabs TF1, whose source code) live in the file's
own project. We never import or execute any of it: each allowed global
resolves to a small stand-in here that records the saved state, and any other
global (`os.system`, `builtins.eval`, ...) stops the load with an error.
"""

from __future__ import annotations

import collections
import io
import pickle
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tf_stylegan.convert.errors import CheckpointError


class SavedState:
    """Stand-in for a pickled object: holds the state it was saved with."""

    def __init__(self, *args, **kwargs):
        self.state: Any = None

    def __setstate__(self, state):
        self.state = state


class TF1Network(SavedState):
    """Stand-in for `dnnlib.tflib.network.Network` (NVlabs TF1 checkpoints)."""


class EasyDict(dict):
    """Stand-in for `dnnlib.util.EasyDict`: a plain dict."""


class PersistentObject:
    """What `torch_utils.persistence` saved: class name, version and state.

    The saved `module_src` is kept as text for inspection and never run.
    """

    def __init__(self, meta: Mapping):
        self.type = meta.get("type")
        self.version = meta.get("version")
        self.class_name = meta.get("class_name")
        self.module_src = meta.get("module_src")
        self.state = meta.get("state")


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, Mapping):
        raise pickle.UnpicklingError("persistent object metadata is not a dict")
    return PersistentObject(meta)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    # numpy moved `core` to `_core` in 2.0; files from either era name one of them.
    table = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]
    scalar = np.float32(0).__reduce__()[0]
    for core in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[(core, "_reconstruct")] = reconstruct
        table[(core, "scalar")] = scalar
    return table


BASE_GLOBALS: dict[tuple[str, str], Any] = {
    **_numpy_globals(),
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("dnnlib.tflib.network", "Network"): TF1Network,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickler whose `find_class` only answers from an allow-list.

    Args:
      file: binary file object.
      path: the file's name, for error messages.
      allowed: {(module, name): object} the pickle may refer to.
      persistent_load: handler for persistent ids (torch storages), or None.
    """

    def __init__(
        self,
        file,
        path: str,
        allowed: Mapping[tuple[str, str], Any],
        persistent_load: Callable[[Any], Any] | None = None,
    ):
        super().__init__(file)
        self.path = path
        self.allowed = allowed
        self._persistent = persistent_load

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise CheckpointError(
                self.path,
                f"refusing to load: the pickle names the global `{module}.{name}`, which is "
                "not on the allow-list of checkpoint types. It may not be a checkpoint, or it "
                "may try to run code. Nothing was executed.",
            ) from None

    def persistent_load(self, pid):
        if self._persistent is None:
            raise CheckpointError(self.path, f"unexpected persistent id {pid!r} in the pickle.")
        return self._persistent(pid)


def safe_load(data: bytes, path: str, allowed=None, persistent_load=None) -> Any:
    """Unpickles `data` with the allow-list; every failure names `path`."""
    allowed = BASE_GLOBALS if allowed is None else allowed
    try:
        return SafeUnpickler(io.BytesIO(data), path, allowed, persistent_load).load()
    except CheckpointError:
        raise
    except EOFError:
        raise CheckpointError(path, "the pickle ends early: the file is truncated.") from None
    except (pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise CheckpointError(path, f"not a readable pickle ({type(exc).__name__}: {exc}).") from None
