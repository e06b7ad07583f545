"""Generator -> TFLite (float32, float16 or dynamic-range int8 weights).

The model maps z [N, z_dim] (and c [N, c_dim] when conditional) to uint8 NHWC
images, with the truncation fixed at export and the stored constant noise.
It uses the non-fused modulation (activations are scaled, weights are not
batched), which converts with a dynamic batch, and the reference ops only,
so the file needs no custom op. Run it with the LiteRT interpreter
(`pip install ai-edge-litert`).
"""

from __future__ import annotations

import os

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tf_stylegan.files import atomic_path
from tf_stylegan.images import to_uint8
from tf_stylegan.networks.generator import Generator
from tf_stylegan.ops import override_impl

QUANTIZATIONS = ("float32", "float16", "int8")


@override_impl("ref")  # exports never contain the custom ops
def tflite_bytes(G: Generator, quantization: str = "float32", truncation_psi: float = 1.0) -> bytes:
    """The converted flatbuffer."""
    from tf_stylegan.export.saved_model import check_exportable

    check_exportable(G)
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"TFLite quantization {quantization!r}: choose one of {', '.join(QUANTIZATIONS)}.")
    specs = [tf.TensorSpec([None, G.z_dim], tf.float32, name="z")]
    if G.c_dim:
        specs.append(tf.TensorSpec([None, G.c_dim], tf.float32, name="c"))

    def generate(z, c=None):
        images = G(z, c, truncation_psi=truncation_psi, noise_mode="const", fused_modconv=False)
        return {"images": to_uint8(images)}

    # Weights become constants, so the flatbuffer holds no resource variables.
    frozen = convert_variables_to_constants_v2(tf.function(generate).get_concrete_function(*specs))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic-range int8 unless float16 is asked
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def export_tflite(G: Generator, path: str, quantization: str = "float32", truncation_psi: float = 1.0) -> str:
    """Writes the .tflite file atomically; returns its path."""
    data = tflite_bytes(G, quantization, truncation_psi)
    with atomic_path(os.fspath(path)) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def run_tflite(path: str, z, c=None):
    """Runs an exported file with the LiteRT interpreter (uint8 images out)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path))
    inputs = {d["name"]: d for d in interpreter.get_input_details()}
    feeds = {"z": np.asarray(z, np.float32)}
    if c is not None:
        feeds["c"] = np.asarray(c, np.float32)
    for detail in inputs.values():
        name = next(k for k in feeds if k in detail["name"])
        interpreter.resize_tensor_input(detail["index"], feeds[name].shape)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        name = next(k for k in feeds if k in detail["name"])
        interpreter.set_tensor(detail["index"], feeds[name])
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
