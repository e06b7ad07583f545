"""Chooses between the reference (pure TF) ops and the compiled custom ops.

`impl="ref"` always uses pure TF. `impl="custom"` requires the compiled library
(`make ops`) and fails loudly without it. `impl="auto"` uses the compiled op
where it is measured to be faster (every GPU op; on CPU see `AUTO_ON_CPU`) and
usable for the input, and otherwise the reference; a fallback for a reason
other than the measured preference is logged once per op and reason.

`override_impl(impl)` makes every op traced inside it use `impl`, whatever
its call says: exports trace under `override_impl("ref")`, so SavedModels and
TFLite files never contain the custom ops, and benchmarks and tests compare a
whole network under "ref" and "custom".
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os

import tensorflow as tf

_LOG = logging.getLogger("tf_stylegan.ops")
_LIBRARY_NAME = "_tf_stylegan_ops.so"
IMPLS = ("auto", "ref", "custom")
FLOAT_DTYPES = (tf.float16, tf.bfloat16, tf.float32, tf.float64)

# Which ops `auto` runs compiled on CPU, from whole-network timings in
# bench/ops.py (docs/bench_ops.json). In isolation both compiled ops beat the
# reference (1.15-1.7x); inside G and D only upfirdn2d still does (about 4-6% on a
# bfloat16 step), while the compiled bias_act makes bfloat16 steps 2-6% slower,
# probably because TF's graph optimiser fuses the reference's add + activation
# with the neighbouring ops and a custom op breaks that fusion. A call can
# refine its op's entry (see `use_custom`): upfirdn2d keeps the compiled op for
# resampling, where the reference filters every pixel before it drops 3 in 4
# (2.5-5x slower), but not for a plain filter, where oneDNN's depthwise
# convolution is 1.5x faster forward and backward (bench/profile.py, cpu32).
AUTO_ON_CPU = {"bias_act": False, "upfirdn2d": True}

_override = contextvars.ContextVar("tf_stylegan_ops_impl", default=None)


@contextlib.contextmanager
def override_impl(impl: str):
    """Within this block every op call uses `impl` ("ref", "custom" or "auto")."""
    if impl not in IMPLS:
        raise ValueError(f"override_impl: impl must be one of {IMPLS}, got {impl!r}.")
    token = _override.set(impl)
    try:
        yield
    finally:
        _override.reset(token)


def library_path() -> str | None:
    """Where a built custom-op library is, or None when none is built."""
    candidates = [
        os.environ.get("TF_STYLEGAN_OPS_LIB", ""),
        os.path.join(os.path.dirname(__file__), _LIBRARY_NAME),
    ]
    return next((p for p in candidates if p and os.path.isfile(p)), None)


@functools.cache
def load_library() -> tuple[object | None, str]:
    """Loads the compiled ops once; returns (module or None, reason if None)."""
    path = library_path()
    if path is None:
        return None, "the custom ops are not built (run `make ops`)"
    try:
        return tf.load_op_library(path), ""
    except (tf.errors.NotFoundError, OSError) as exc:
        return None, f"{path} failed to load ({exc}); rebuild it with `make ops`"


@functools.cache
def library_has_cuda() -> bool:
    module, _ = load_library()
    return module is not None and "cuda" in module.tf_stylegan_ops_info().numpy().decode()


@functools.cache
def _note_fallback(op: str, reason: str) -> None:
    _LOG.warning("%s: using the reference implementation because %s.", op, reason)


def _in_xla_context() -> bool:
    graph = tf.compat.v1.get_default_graph()
    ctx = getattr(graph, "_get_control_flow_context", lambda: None)()
    while ctx is not None:
        if ctx.IsXLAContext():
            return True
        ctx = ctx.outer_context
    return False


def check_dtype(op: str, x: tf.Tensor) -> None:
    """The dtypes both implementations support, with the same error for both."""
    if x.dtype not in FLOAT_DTYPES:
        names = ", ".join(d.name for d in FLOAT_DTYPES)
        raise TypeError(f"{op}: unsupported dtype {x.dtype.name}; use one of {names}.")


def _why_not_custom(op: str, unsupported: str | None) -> str | None:
    module, reason = load_library()
    if module is None:
        return reason
    if not hasattr(module, f"tf_stylegan_{op}"):
        return f"the built library has no {op} kernel; rebuild it with `make ops`"
    if _in_xla_context():
        return "XLA cannot compile custom ops (jit_compile)"
    if tf.config.list_logical_devices("GPU") and not library_has_cuda():
        return "the library was built without CUDA kernels"
    return unsupported


def use_custom(op: str, impl: str, unsupported: str | None = None, cpu_auto: bool | None = None) -> bool:
    """True when `op` should run through the compiled library.

    `unsupported` is the caller's reason why this input cannot use the
    compiled op (None when it can). `cpu_auto` says for this call whether
    `auto` takes the compiled op on CPU (None: `AUTO_ON_CPU`'s entry).
    """
    if impl not in IMPLS:
        raise ValueError(f"{op}: impl must be one of {IMPLS}, got {impl!r}.")
    impl = _override.get() or impl
    if impl == "ref":
        return False
    on_gpu = bool(tf.config.list_logical_devices("GPU"))
    preferred = AUTO_ON_CPU.get(op, False) if cpu_auto is None else cpu_auto
    if impl == "auto" and not on_gpu and not preferred:
        return False  # measured: the reference is as fast here
    reason = _why_not_custom(op, unsupported)
    if reason is not None:
        if impl == "custom":
            raise RuntimeError(f"{op}(impl='custom') is unavailable: {reason}.")
        _note_fallback(op, reason)
        return False
    return True


def custom_module():
    """The loaded custom-op module (call only after `use_custom` said True)."""
    return load_library()[0]
