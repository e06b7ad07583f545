"""Chooses between the reference (pure TF) ops and the compiled custom ops.

`impl="ref"` always uses pure TF. `impl="custom"` requires the compiled library
and fails loudly without it. `impl="auto"` uses the compiled op when it is
loaded and usable for the input, and otherwise the reference, logging the
reason once per op and reason.
"""

from __future__ import annotations

import functools
import logging
import os

import tensorflow as tf

_LOG = logging.getLogger("tf_stylegan.ops")
_LIBRARY_NAME = "_tf_stylegan_ops.so"
_NOT_BUILT = "the custom ops are not built"
IMPLS = ("auto", "ref", "custom")


def _library_path() -> str | None:
    """Where a built custom-op library would be, or None when none is built."""
    candidates = [
        os.environ.get("TF_STYLEGAN_OPS_LIB", ""),
        os.path.join(os.path.dirname(__file__), _LIBRARY_NAME),
    ]
    return next((p for p in candidates if p and os.path.isfile(p)), None)


@functools.cache
def load_library() -> tuple[object | None, str]:
    """Loads the compiled ops once; returns (module or None, reason if None)."""
    path = _library_path()
    if path is None:
        return None, _NOT_BUILT
    try:
        return tf.load_op_library(path), ""
    except (tf.errors.NotFoundError, OSError) as exc:  # pragma: no cover
        return None, f"{path} failed to load: {exc}"


@functools.cache
def _note_fallback(op: str, reason: str) -> None:
    # Not having built the ops is the normal case; anything else deserves a warning.
    log = _LOG.debug if reason == _NOT_BUILT else _LOG.warning
    log("%s: using the reference implementation because %s.", op, reason)


def _in_xla_context() -> bool:
    graph = tf.compat.v1.get_default_graph()
    ctx = getattr(graph, "_get_control_flow_context", lambda: None)()
    while ctx is not None:
        if ctx.IsXLAContext():
            return True
        ctx = ctx.outer_context
    return False


def use_custom(op: str, impl: str, x: tf.Tensor) -> bool:
    """True when `op` should run through the compiled library."""
    if impl not in IMPLS:
        raise ValueError(f"{op}: impl must be one of {IMPLS}, got {impl!r}.")
    if impl == "ref":
        return False
    module, reason = load_library()
    if module is not None and not hasattr(module, op):
        module, reason = None, f"the built library has no {op} kernel"
    if module is not None and _in_xla_context():
        module, reason = None, "XLA cannot compile custom ops"
    if module is None:
        if impl == "custom":
            raise RuntimeError(f"{op}(impl='custom') is unavailable: {reason}.")
        _note_fallback(op, reason)
        return False
    return True


def custom_module():
    """The loaded custom-op module (call only after `use_custom` said True)."""
    return load_library()[0]
