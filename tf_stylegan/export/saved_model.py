"""Generator -> SavedModel with serving signatures (TF Serving layout NAME/VERSION).

Signatures (uint8 NHWC images out, the edge convention):
  serving_default: z [N, z_dim] (+ c [N, c_dim]) + truncation_psi (scalar or [N]) -> images
  mapping:         z (+ c) + truncation_psi -> ws [N, num_ws, w_dim]
  synthesis:       ws -> images
Inputs are checked at the door: a wrong rank or width, an empty batch, NaN or
Inf, or a psi that is neither a scalar nor one value per sample is answered
with INVALID_ARGUMENT and a message naming the input.
Noise is the stored constant noise, so a request is deterministic. Exports use
the reference ops only, so the SavedModel needs no compiled custom op.
"""

from __future__ import annotations

import os
import shutil

import keras
import tensorflow as tf

from tf_stylegan.files import PlaceError, check_output_folder, partial_folder, replace_folder, write_marker
from tf_stylegan.images import to_uint8
from tf_stylegan.networks.generator import Generator
from tf_stylegan.ops import override_impl

KIND = "saved_model"


def _checked(x: tf.Tensor, shape: list, name: str) -> tf.Tensor:
    """x, after run-time checks of its shape (None = any), a non-empty batch and finite values.

    A server answers INVALID_ARGUMENT with these messages, instead of a shape
    error from deep inside the network or, for NaN, a black image.
    """
    wanted = "[" + ", ".join("N" if d is None else str(d) for d in shape) + "]"
    checks = [tf.debugging.assert_equal(tf.rank(x), len(shape), message=f"{name} must have shape {wanted}")]
    for axis, dim in enumerate(shape):
        if dim is not None:
            checks.append(tf.debugging.assert_equal(tf.shape(x)[axis], dim, message=f"{name} must have shape {wanted}"))
    with tf.control_dependencies(checks):
        checks = [tf.debugging.assert_positive(tf.shape(x)[0], message=f"{name}: the batch is empty (N = 0)"),
                  tf.debugging.assert_all_finite(x, message=f"{name} holds NaN or Inf")]
    with tf.control_dependencies(checks):
        return tf.identity(x)


def _checked_psi(psi: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
    """truncation_psi as [N, 1, 1] (to scale ws): a scalar, or one value per sample."""
    ok_rank = tf.logical_or(tf.equal(tf.rank(psi), 0),
                            tf.logical_and(tf.equal(tf.rank(psi), 1), tf.equal(tf.size(psi), batch)))
    checks = [tf.debugging.Assert(ok_rank, ["truncation_psi must be a scalar or have shape [N] (one per sample)"]),
              tf.debugging.assert_all_finite(psi, message="truncation_psi holds NaN or Inf")]
    with tf.control_dependencies(checks):
        return tf.reshape(tf.broadcast_to(psi, [batch]), [-1, 1, 1])


def check_exportable(G: keras.Model) -> None:
    """Refuses a generator with a layer whose code an export cannot be sure to carry: anything that is
    neither one of this package's layers nor a Keras built-in, named in the error."""
    for layer in [G, *G._flatten_layers(include_self=False)]:
        module = type(layer).__module__
        if not module.startswith(("tf_stylegan.", "keras.")):
            raise ValueError(f"layer {layer.name!r} ({module}.{type(layer).__name__}) is not one of this package's "
                             "or Keras' layers, so it cannot be exported; export the generator without it.")


def endpoints(G: keras.Model, checks: bool = True) -> dict[str, tuple]:
    """{signature name: (function, input signature)}: serving_default, mapping and synthesis for a
    StyleGAN2 generator (with truncation), serving_default only for ProGAN and DCGAN ones.

    `checks`: validate the inputs at run time (SavedModel); without them (ONNX, whose converters drop
    assertions) truncation_psi is a scalar.
    """
    z_spec = tf.TensorSpec([None, G.z_dim], tf.float32, name="z")
    c_specs = [tf.TensorSpec([None, G.c_dim], tf.float32, name="c")] if G.c_dim else []

    def inputs(z, c):
        return _checked_inputs(z, c, G) if checks else (z, c)

    if not isinstance(G, Generator):
        def generate(z, c=None):
            return {"images": to_uint8(G(*inputs(z, c)))}

        return {"serving_default": (generate, [z_spec, *c_specs])}
    psi_spec = tf.TensorSpec(None if checks else [], tf.float32, name="truncation_psi")
    ws_spec = tf.TensorSpec([None, G.num_ws, G.w_dim], tf.float32, name="ws")

    def mapped(z, c, truncation_psi):
        z, c = inputs(z, c)
        if not checks:
            return G.mapping(z, c, truncation_psi=truncation_psi)
        return G.mapping.truncate(G.mapping(z, c), _checked_psi(truncation_psi, tf.shape(z)[0]))

    def images(ws):
        return to_uint8(G.synthesis(ws, noise_mode="const", fused_modconv=False))

    if G.c_dim:
        def generate(z, c, truncation_psi):
            return {"images": images(mapped(z, c, truncation_psi))}

        def mapping(z, c, truncation_psi):
            return {"ws": mapped(z, c, truncation_psi)}
    else:
        def generate(z, truncation_psi):
            return {"images": images(mapped(z, None, truncation_psi))}

        def mapping(z, truncation_psi):
            return {"ws": mapped(z, None, truncation_psi)}

    def synthesis(ws):
        return {"images": images(_checked(ws, [None, G.num_ws, G.w_dim], "ws") if checks else ws)}

    specs = [z_spec, *c_specs, psi_spec]
    return {"serving_default": (generate, specs), "mapping": (mapping, specs), "synthesis": (synthesis, [ws_spec])}


def _write_with_variables(G: keras.Model, folder: str) -> None:
    archive = keras.export.ExportArchive()
    archive.track(G)
    for name, (fn, spec) in endpoints(G).items():
        archive.add_endpoint(name, fn, input_signature=spec)
    archive.write_out(folder, verbose=False)


def _write_frozen(G: keras.Model, folder: str) -> None:
    """Each signature with the weights folded in as constants: the weight-only work of every layer (the
    bf16 casts, the demodulation sums) is done once at export instead of at every request."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    def frozen(fn, spec):
        concrete = tf.function(fn).get_concrete_function(*spec)
        (key,) = concrete.structured_outputs  # freezing flattens the outputs; the name is put back below
        constant = convert_variables_to_constants_v2(concrete)

        @tf.function(input_signature=spec)
        def signature(*args):
            out = constant(*args)
            return {key: out[0] if isinstance(out, (list, tuple)) else out}

        return signature

    module = tf.Module()
    module.endpoints = {name: frozen(fn, spec) for name, (fn, spec) in endpoints(G).items()}  # kept alive, tracked
    tf.saved_model.save(module, folder, signatures=dict(module.endpoints))


def _checked_inputs(z, c, G):
    """z (and c) checked: shapes, a non-empty batch, finite values, one batch size."""
    z = _checked(z, [None, G.z_dim], "z")
    if c is None:
        return z, None
    c = _checked(c, [None, G.c_dim], "c")
    with tf.control_dependencies([tf.debugging.assert_equal(tf.shape(z)[0], tf.shape(c)[0],
                                                            message="z and c must have the same batch")]):
        return tf.identity(z), c


def check_export_folder(path: str, overwrite: bool = False) -> None:
    """`path` may take a SavedModel: new or empty, or (with `overwrite`) an earlier export of ours.

    A TF Serving model folder holds numbered versions; exporting over the
    folder itself would replace them all, so the message names the next version.
    """
    try:
        check_output_folder(path, KIND, overwrite)
    except PlaceError:
        versions = sorted(int(n) for n in os.listdir(path) if n.isdigit()) if os.path.isdir(path) else []
        if versions:
            raise PlaceError(f"{path}: is a folder of model versions ({', '.join(map(str, versions))}); export "
                             f"to a new version, e.g. {os.path.join(path, str(versions[-1] + 1))}.") from None
        raise


def bf16_generator(G: Generator) -> Generator:
    """A copy of a StyleGAN2 generator whose synthesis runs in bfloat16 (the mapping and the 4x4 block stay
    float32, as in training): about 2x faster on CPUs with AVX512-BF16, within 40 dB PSNR of float32."""
    if not isinstance(G, Generator) or G.synthesis.__class__.__name__ != "SynthesisNetwork":
        raise ValueError(f"bf16 export is for StyleGAN2 generators, not {type(G).__name__}.")
    config = {**G.get_config(), "lowp_dtype": "mixed_bfloat16", "num_fp16_res": len(G.synthesis.block_resolutions),
              "name": G.name}
    lowp = Generator.from_config(config)
    lowp.set_weights(G.get_weights())
    return lowp


@override_impl("ref")  # exports never contain the custom ops
def export_saved_model(G: keras.Model, path: str, overwrite: bool = False, precision: str = "fp32") -> str:
    """Writes the SavedModel of a generator to `path` atomically (built beside it, then renamed).

    A StyleGAN2 generator gets the serving_default, mapping and synthesis
    signatures; a ProGAN or DCGAN generator serving_default (z [, c] -> images).
    `precision="bf16"` keeps a StyleGAN2 synthesis in bfloat16 (see `bf16_generator`), with the
    weights frozen into the graph, so that a request costs what the in-process frozen graph does.

    `path` must be new or empty; an earlier export of ours (it carries our
    marker) is replaced only with `overwrite=True`. Nothing else is ever removed.
    """
    check_exportable(G)
    check_export_folder(path, overwrite)
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"export precision must be fp32 or bf16, got {precision!r}.")
    tmp = partial_folder(path, KIND)
    try:
        if precision == "bf16":
            _write_frozen(bf16_generator(G), os.path.join(tmp, "m"))
        else:
            _write_with_variables(G, os.path.join(tmp, "m"))
        write_marker(os.path.join(tmp, "m"), KIND)
        check_export_folder(path, overwrite)  # again: the folder may have changed while the export ran
        replace_folder(os.path.join(tmp, "m"), path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
