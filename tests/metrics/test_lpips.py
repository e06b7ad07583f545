"""LPIPS-VGG16 against the lpips package (scripts/make_lpips_reference.py), and its loaders."""

import os
import sys

import numpy as np
import pytest
from conftest import data_path

from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.torch_tensors import load_torch_file
from tf_stylegan.metrics import lpips

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from make_lpips_reference import random_vgg16  # noqa: E402

LIN = data_path("lpips_vgg_lin_v0.1.pth")


@pytest.fixture(scope="module")
def weights_npz(tmp_path_factory):
    """Random VGG16 (redrawn as the reference script drew it) + the real lin weights, as our .npz."""
    path = str(tmp_path_factory.mktemp("lpips") / "vgg.npz")
    lpips.save_weights(random_vgg16(0), path)
    return path


def test_legacy_torch_file_is_read():
    state = load_torch_file(LIN)
    assert sorted(state) == [f"lin{i}.model.1.weight" for i in range(5)]
    assert state["lin4.model.1.weight"].shape == (1, 512, 1, 1)
    assert np.all(state["lin0.model.1.weight"] >= 0)


def test_matches_the_lpips_package(weights_npz):
    ref = np.load(data_path("lpips_ref.npz"))
    embed = lpips.load(weights_npz, LIN)
    got = lpips.distance(embed, ref["x"].astype(np.float32), ref["y"].astype(np.float32))
    print("lpips", got, "reference", ref["distance"])
    np.testing.assert_allclose(got, ref["distance"], rtol=1e-4)
    assert ref["distance"][2:].min() > 2 * ref["distance"][:2].max()  # the far pairs are far


def test_missing_and_wrong_files(weights_npz, tmp_path):
    with pytest.raises(CheckpointError, match="vgg16-397923af.pth"):
        lpips.load(str(tmp_path / "none.pth"), LIN)
    with pytest.raises(CheckpointError, match=r"lin0\.model\.1\.weight` is missing"):
        lpips.load(weights_npz)
    params = random_vgg16(0)
    params["features.10.weight"] = params["features.10.weight"][:, :64]
    bad = str(tmp_path / "bad.npz")
    lpips.save_weights(params, bad)
    with pytest.raises(CheckpointError, match=r"features\.10\.weight` has shape \(256, 64, 3, 3\)"):
        lpips.load(bad, LIN)
