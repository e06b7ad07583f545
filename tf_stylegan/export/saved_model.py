"""Generator -> SavedModel with serving signatures (TF Serving layout NAME/VERSION).

Signatures (uint8 NHWC images out, the edge convention):
  serving_default: z [N, z_dim] (+ c [N, c_dim]) (+ truncation_psi scalar) -> images
  mapping:         z (+ c) (+ truncation_psi) -> ws [N, num_ws, w_dim]
  synthesis:       ws -> images
Noise is the stored constant noise, so a request is deterministic. Exports use
the reference ops only, so the SavedModel needs no compiled custom op.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from tf_stylegan.images import to_uint8
from tf_stylegan.networks.generator import Generator
from tf_stylegan.ops import override_impl


def _checked(x: tf.Tensor, shape: list, name: str) -> tf.Tensor:
    """x, after a run-time check that it has `shape` (None = any): the server answers INVALID_ARGUMENT
    with this message instead of a shape error from deep inside the network."""
    wanted = "[" + ", ".join("N" if d is None else str(d) for d in shape) + "]"
    checks = [tf.debugging.assert_equal(tf.rank(x), len(shape), message=f"{name} must have shape {wanted}")]
    for axis, dim in enumerate(shape):
        if dim is not None:
            checks.append(tf.debugging.assert_equal(tf.shape(x)[axis], dim, message=f"{name} must have shape {wanted}"))
    with tf.control_dependencies(checks):
        return tf.identity(x)


@override_impl("ref")  # exports never contain the custom ops
def export_saved_model(G: Generator, path: str) -> str:
    """Writes the SavedModel to `path` atomically (built beside it, then renamed)."""
    archive = keras.export.ExportArchive()
    archive.track(G)
    z = tf.TensorSpec([None, G.z_dim], tf.float32, name="z")
    psi = tf.TensorSpec([], tf.float32, name="truncation_psi")
    ws = tf.TensorSpec([None, G.num_ws, G.w_dim], tf.float32, name="ws")
    if G.c_dim > 0:
        c = tf.TensorSpec([None, G.c_dim], tf.float32, name="c")

        def inputs(z, c):
            z = _checked(z, [None, G.z_dim], "z")
            c = _checked(c, [None, G.c_dim], "c")
            with tf.control_dependencies([tf.debugging.assert_equal(tf.shape(z)[0], tf.shape(c)[0],
                                                                    message="z and c must have the same batch")]):
                return tf.identity(z), c

        def generate(z, c, truncation_psi):
            z, c = inputs(z, c)
            return {"images": to_uint8(G(z, c, truncation_psi=truncation_psi, noise_mode="const"))}

        def mapping(z, c, truncation_psi):
            z, c = inputs(z, c)
            return {"ws": G.mapping(z, c, truncation_psi=truncation_psi)}

        specs = [z, c, psi]
    else:

        def generate(z, truncation_psi):
            z = _checked(z, [None, G.z_dim], "z")
            return {"images": to_uint8(G(z, None, truncation_psi=truncation_psi, noise_mode="const"))}

        def mapping(z, truncation_psi):
            z = _checked(z, [None, G.z_dim], "z")
            return {"ws": G.mapping(z, None, truncation_psi=truncation_psi)}

        specs = [z, psi]

    def synthesis(ws):
        ws = _checked(ws, [None, G.num_ws, G.w_dim], "ws")
        return {"images": to_uint8(G.synthesis(ws, noise_mode="const"))}

    archive.add_endpoint("serving_default", generate, input_signature=specs)
    archive.add_endpoint("mapping", mapping, input_signature=specs)
    archive.add_endpoint("synthesis", synthesis, input_signature=[ws])
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export.", dir=parent)
    try:
        archive.write_out(os.path.join(tmp, "m"), verbose=False)
        if os.path.exists(path):
            shutil.rmtree(path)
        os.rename(os.path.join(tmp, "m"), path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
