"""TFLite exports run by the LiteRT interpreter against the Keras generator, per quantization."""

import os

import keras
import numpy as np
import pytest

from tf_stylegan.export.tflite import export_tflite, run_tflite
from tf_stylegan.images import to_uint8
from tf_stylegan.networks import Generator

# Max and mean absolute error in uint8 levels (random weights, 16 px).
TOLERANCE = {"float32": (1, 0.01), "float16": (2, 0.2), "int8": (48, 4.0)}


@pytest.fixture(scope="module")
def generator():
    keras.utils.set_random_seed(0)  # module fixtures are built before the per-test seeding: seed here
    return Generator(z_dim=16, w_dim=16, c_dim=2, img_resolution=16, mapping_layers=2, channel_base=512,
                     channel_max=32, noise_seed=0)


@pytest.mark.parametrize("quantization", ["float32", "float16", "int8"])
def test_matches_keras(generator, quantization, tmp_path):
    path = export_tflite(generator, str(tmp_path / f"g_{quantization}.tflite"), quantization, truncation_psi=0.8)
    z = np.random.RandomState(1).standard_normal([4, 16]).astype(np.float32)
    c = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    out = run_tflite(path, z, c)
    assert out.dtype == np.uint8 and out.shape == (4, 16, 16, 3)
    ref = to_uint8(generator(z, c, truncation_psi=0.8, noise_mode="const")).numpy()
    err = np.abs(out.astype(int) - ref.astype(int))
    print(f"{quantization}: {os.path.getsize(path)} bytes, max {err.max()} mean {err.mean():.3f} levels")
    max_err, mean_err = TOLERANCE[quantization]
    assert err.max() <= max_err and err.mean() <= mean_err
    assert run_tflite(path, z[:1], c[:1]).shape == (1, 16, 16, 3)  # dynamic batch


def test_unknown_quantization(generator, tmp_path):
    with pytest.raises(ValueError, match="choose one of float32, float16, int8"):
        export_tflite(generator, str(tmp_path / "g.tflite"), "int4")
