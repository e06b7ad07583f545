"""ONNX export, checked by onnxruntime against the Keras generator."""

import sys

import numpy as np
import pytest

from tf_stylegan.export.onnx import INSTALL, export_onnx, run_onnx
from tf_stylegan.images import to_uint8
from tf_stylegan.networks import DCGANGenerator, Generator


@pytest.fixture(scope="module", params=[0, 3], ids=["unconditional", "conditional"])
def exported(request, tmp_path_factory):
    G = Generator(z_dim=16, w_dim=16, c_dim=request.param, img_resolution=16, mapping_layers=2, channel_base=256,
                  channel_max=32, noise_seed=0)
    path = str(tmp_path_factory.mktemp("onnx") / "g.onnx")
    return G, export_onnx(G, path)


@pytest.mark.parametrize("batch", [1, 5])
def test_onnxruntime_matches_keras_with_a_dynamic_batch(exported, batch):
    G, (main, mapping, synthesis) = exported
    z = np.random.RandomState(batch).standard_normal([batch, 16]).astype(np.float32)
    c = {"c": np.eye(3, dtype=np.float32)[np.arange(batch) % 3]} if G.c_dim else {}
    images = run_onnx(main, z=z, truncation_psi=np.float32(0.7), **c)
    expected = to_uint8(G(z, c.get("c"), truncation_psi=0.7, noise_mode="const")).numpy()
    assert images.dtype == np.uint8 and images.shape == (batch, 16, 16, 3)
    assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1
    ws = run_onnx(mapping, z=z, truncation_psi=np.float32(0.7), **c)
    np.testing.assert_allclose(ws, G.mapping(z, c.get("c"), truncation_psi=0.7).numpy(), atol=1e-5)
    np.testing.assert_array_equal(run_onnx(synthesis, ws=ws), images)


def test_onnx_has_only_standard_operators(exported):
    import onnx

    _, (main, *_) = exported
    ops = {node.op_type for node in onnx.load(main).graph.node}
    assert "Conv" in ops and not any(op.startswith("TfStylegan") for op in ops)


def test_other_families_and_errors(tmp_path, monkeypatch):
    G = DCGANGenerator(z_dim=8, c_dim=0, img_resolution=8, base_channels=4)
    G.build()
    (path,) = export_onnx(G, str(tmp_path / "dcgan.onnx"))
    z = np.random.RandomState(0).standard_normal([2, 8]).astype(np.float32)
    np.testing.assert_array_less(np.abs(run_onnx(path, z=z).astype(int) - to_uint8(G(z)).numpy().astype(int)), 2)
    with pytest.raises(ValueError, match="dcgan.onnx: exists"):
        export_onnx(G, path)
    with pytest.raises(ValueError, match="ends in .onnx"):
        export_onnx(G, str(tmp_path / "g.bin"))
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # as if not installed
    with pytest.raises(ValueError, match=f"needs tf2onnx, which is not installed: {INSTALL}"):
        export_onnx(G, str(tmp_path / "again.onnx"))


def test_an_unsupported_layer_is_named():
    import keras

    from tf_stylegan.export.saved_model import check_exportable

    class Sparkle(keras.layers.Layer):
        def call(self, x):
            return x

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8), Sparkle(name="sparkle")])
    with pytest.raises(ValueError, match="layer 'sparkle' .*Sparkle.* cannot be exported"):
        check_exportable(model)
