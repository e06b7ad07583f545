"""LPIPS-VGG16 (Zhang et al. 2018, v0.1 linear weights) as a Keras embedding.

`load(vgg_path, lin_path)` returns a model mapping float images [N, H, W, 3]
in [0, 255] to a flat embedding e with LPIPS(x, y) = |e(x) - e(y)|^2, the
form the official PPL uses. Per tapped VGG layer l (relu1_2, relu2_2,
relu3_3, relu4_3, relu5_3), the features are unit-normalised over channels,
scaled by sqrt(w_l / (H_l W_l)) with the learned non-negative channel
weights w_l, and flattened; the squared distance then is the LPIPS sum over
layers of the spatial mean of the weighted channel distances.

Weight files (read with numpy; nothing is downloaded or executed):
  * VGG16: torchvision's ImageNet state dict (vgg16-397923af.pth, legacy or
    zip torch format), keys features.{0,2,5,...,28}.{weight,bias};
  * linear layers: the lpips package's weights/v0.1/vgg.pth, keys
    lin{0..4}.model.1.weight [1, C, 1, 1];
  * or our own .npz with both (`save_weights`).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.convert.errors import CheckpointError

# (torchvision index, out channels) of VGG16's convs; "M" is a 2x2 max pool.
VGG16 = [(0, 64), (2, 64), "M", (5, 128), (7, 128), "M", (10, 256), (12, 256), (14, 256), "M",
         (17, 512), (19, 512), (21, 512), "M", (24, 512), (26, 512), (28, 512)]
TAPS = (2, 7, 14, 21, 28)  # the conv whose ReLU output each LPIPS layer reads
TAP_CHANNELS = (64, 128, 256, 512, 512)
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10
WHERE_TO_GET = (
    "LPIPS-VGG16 needs two files: torchvision's VGG16 ImageNet weights "
    "(https://download.pytorch.org/models/vgg16-397923af.pth) and the lpips package's linear weights "
    "(lpips/weights/v0.1/vgg.pth inside the PyPI wheel lpips==0.1.4: pip download --no-deps lpips==0.1.4). "
    "Pass them as --lpips=VGG16.pth,LIN.pth."
)


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    shapes, cin = {}, 3
    for item in VGG16:
        if item == "M":
            continue
        index, cout = item
        shapes[f"features.{index}.weight"] = (cout, cin, 3, 3)
        shapes[f"features.{index}.bias"] = (cout,)
        cin = cout
    for i, c in enumerate(TAP_CHANNELS):
        shapes[f"lin{i}.model.1.weight"] = (1, c, 1, 1)
    return shapes


def _read(path: str) -> dict[str, np.ndarray]:
    from tf_stylegan.convert.torch_tensors import load_torch_file

    if not os.path.isfile(path):
        raise CheckpointError(path, f"no such LPIPS weight file.\n{WHERE_TO_GET}")
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    state = load_torch_file(path)
    if not isinstance(state, dict):
        raise CheckpointError(path, f"expected a state dict, found {type(state).__name__}.\n{WHERE_TO_GET}")
    return {k: np.asarray(v, np.float32) for k, v in state.items() if isinstance(v, np.ndarray)}


def read_params(*paths: str) -> dict[str, np.ndarray]:
    """The VGG16 and linear tensors of the given files, checked for shape and finiteness."""
    params: dict[str, np.ndarray] = {}
    for path in paths:
        params.update(_read(os.fspath(path)))
    shown = ",".join(os.fspath(p) for p in paths)
    for key, shape in _expected_shapes().items():
        if key not in params:
            raise CheckpointError(shown, f"tensor `{key}` is missing.\n{WHERE_TO_GET}")
        if tuple(params[key].shape) != shape:
            raise CheckpointError(shown, f"tensor `{key}` has shape {tuple(params[key].shape)}, expected {shape}.")
        if not np.all(np.isfinite(params[key])):
            raise CheckpointError(shown, f"tensor `{key}` holds NaN or Inf: the file is corrupted.")
        if key.startswith("lin") and np.any(params[key] < 0):
            raise CheckpointError(shown, f"tensor `{key}` has negative weights; LPIPS weights are non-negative.")
    return {k: params[k].astype(np.float32) for k in _expected_shapes()}


def save_weights(params: dict[str, np.ndarray], path: str) -> None:
    from tf_stylegan.files import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **params)


@keras.saving.register_keras_serializable(package="tf_stylegan")
class LPIPSEmbedding(keras.layers.Layer):
    """[0, 255] images -> the flat LPIPS-VGG16 embedding (see the module docstring)."""

    def build(self, input_shape):
        self.convs = []
        cin = 3
        for item in VGG16:
            if item == "M":
                continue
            index, cout = item
            self.convs.append((
                index,
                self.add_weight(name=f"conv{index}_kernel", shape=(3, 3, cin, cout), trainable=False),
                self.add_weight(name=f"conv{index}_bias", shape=(cout,), trainable=False),
            ))
            cin = cout
        self.lins = [self.add_weight(name=f"lin{i}", shape=(c,), trainable=False) for i, c in enumerate(TAP_CHANNELS)]
        self.built = True

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        for index, kernel, bias in self.convs:
            kernel.assign(np.transpose(params[f"features.{index}.weight"], (2, 3, 1, 0)))
            bias.assign(params[f"features.{index}.bias"])
        for i, lin in enumerate(self.lins):
            lin.assign(params[f"lin{i}.model.1.weight"].reshape(-1))

    def call(self, images):
        x = tf.cast(images, tf.float32) / 127.5 - 1.0
        x = (x - tf.constant(SHIFT)) / tf.constant(SCALE)
        convs = iter(self.convs)
        parts, tap = [], 0
        for item in VGG16:
            if item == "M":
                x = tf.nn.max_pool2d(x, 2, 2, "VALID")
                continue
            index, kernel, bias = next(convs)
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME") + bias)
            if index == TAPS[tap]:
                unit = x / (tf.sqrt(tf.reduce_sum(tf.square(x), axis=-1, keepdims=True)) + EPS)
                area = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
                scaled = unit * tf.sqrt(self.lins[tap]) / tf.sqrt(area)
                parts.append(tf.reshape(scaled, [tf.shape(x)[0], -1]))
                tap += 1
        return tf.concat(parts, axis=1)


def load(*paths: str) -> LPIPSEmbedding:
    """The embedding with weights from torchvision's VGG16 + lpips' vgg.pth, or our .npz."""
    layer = LPIPSEmbedding()
    layer.build(None)
    layer.set_params(read_params(*paths))
    return layer


def distance(embed: LPIPSEmbedding, x, y) -> np.ndarray:
    """LPIPS between two batches of [0, 255] images."""
    return tf.reduce_sum(tf.square(embed(x) - embed(y)), axis=1).numpy()
