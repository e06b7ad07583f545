"""Generator -> ONNX, for onnxruntime, TensorRT and the mobile runtimes that read ONNX.

The graph is traced with the reference ops only (custom ops are the usual
reason StyleGAN2's ONNX exports break) and the non-fused modulation, so it
has a dynamic batch and only standard operators. Files, for a StyleGAN2
generator exported to NAME.onnx (the SavedModel's signatures, one per file,
since an ONNX model has one graph):
  NAME.onnx            z [N, z_dim] (+ c [N, c_dim]) + truncation_psi (scalar) -> images uint8 [N, R, R, C]
  NAME.mapping.onnx    z (+ c) + truncation_psi -> ws [N, num_ws, w_dim]
  NAME.synthesis.onnx  ws -> images
A ProGAN or DCGAN generator gets NAME.onnx only (z [+ c] -> images).
Needs `pip install tf2onnx onnx` (and onnxruntime to run the files).
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from tf_stylegan.export.saved_model import check_exportable, endpoints
from tf_stylegan.files import atomic_path
from tf_stylegan.ops import override_impl

OPSET = 17
INSTALL = "pip install tf2onnx==1.17.0 onnx==1.23.2 onnxruntime==1.32.0"


def require_tf2onnx():
    try:
        import tf2onnx
    except ImportError:
        raise ValueError(f"ONNX export needs tf2onnx, which is not installed: {INSTALL}") from None
    return tf2onnx


SUFFIXES = {"serving_default": "", "mapping": ".mapping", "synthesis": ".synthesis"}


@override_impl("ref")  # exports never contain the custom ops
def export_onnx(G: keras.Model, path: str, overwrite: bool = False, opset: int = OPSET) -> list[str]:
    """Writes the ONNX file(s) of a generator (see the module docstring); returns their paths."""
    tf2onnx = require_tf2onnx()
    check_exportable(G)
    path = os.fspath(path)
    if not path.endswith(".onnx"):
        raise ValueError(f"{path}: an ONNX file name ends in .onnx.")
    written = []
    for name, (fn, spec) in endpoints(G, checks=False).items():
        target = path[: -len(".onnx")] + SUFFIXES[name] + ".onnx"
        if os.path.lexists(target) and not overwrite:
            raise ValueError(f"{target}: exists; allow overwriting it (--overwrite), or choose another name.")
        function = tf.function(fn, input_signature=spec)
        try:
            model, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=opset)
        except Exception as exc:  # the converter's own errors name the op it could not convert
            raise ValueError(f"{target}: the ONNX converter failed ({type(exc).__name__}: {exc}).") from None
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as f:
                f.write(model.SerializeToString())
        written.append(target)
    return written


def run_onnx(path: str, **inputs):
    """Runs an exported file with onnxruntime; returns its first output."""
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    return session.run(None, {k: np.asarray(v, np.float32) for k, v in inputs.items()})[0]
