"""bundled:emoji32, the network that ships with the package: it loads by name everywhere a network is
taken (convert.load, the tools, --init_from), in float32, with the record of how it was trained."""

import json
import os

import numpy as np
import pytest
from conftest import run_tool

from tf_stylegan.convert import CheckpointError, load
from tf_stylegan.convert.pretrained import PRETRAINED_DIR, pretrained_names


def test_emoji32_loads_by_name_in_float32():
    nets = load("bundled:emoji32")
    G, D = nets["G_ema"], nets["D"]
    assert G.img_resolution == D.img_resolution == 32 and G.c_dim == 0
    assert {w.dtype for w in G.weights + D.weights} == {"float32"}
    images = G(np.random.RandomState(0).standard_normal([4, G.z_dim]).astype(np.float32), noise_mode="const")
    scores = D(images)
    assert images.shape == (4, 32, 32, 3) and np.all(np.isfinite(images)) and np.all(np.isfinite(scores))
    # A trained G: its samples are not the flat grey of an untrained one (pixel spread across samples).
    assert float(np.std(images.numpy(), axis=0).mean()) > 0.2


def test_the_record_says_how_it_was_trained():
    with open(os.path.join(PRETRAINED_DIR, "emoji32", "record.json")) as f:
        record = json.load(f)
    assert record["data"] == "bundled:emoji64" and record["kimg"] > 0 and record["fid_curve"]
    assert record["fid2k_full_packaged"] == pytest.approx(record["fid_curve"][-1]["fid2k_full"], rel=0.05)
    # The curve's kimg rise to the network's; a network that continued another's counts on from it.
    kimgs = [row["kimg"] for row in record["fid_curve"]]
    assert kimgs == sorted(set(kimgs)) and kimgs[-1] == record["kimg"]
    if "earlier" in record:
        assert kimgs[0] > record["earlier"]["kimg"] and record["hours"] > record["earlier"]["hours"]


def test_an_unknown_bundled_network_names_the_known_ones():
    assert "emoji32" in pretrained_names()
    with pytest.raises(CheckpointError, match=r"bundled:emoji99: no such bundled network .*bundled:emoji32"):
        load("bundled:emoji99")


def test_tools_and_init_from_take_the_name(tmp_path):
    out = tmp_path / "faces"
    run_tool("tf_stylegan.tools.generate", "--network=bundled:emoji32", "--seeds=0-3", f"--outdir={out}")
    assert len(list(out.glob("*.png"))) == 4
    from tf_stylegan.run import Run

    run = Run(dict(data="bundled:fluent64", outdir=str(tmp_path / "ft"), config="cpu32", kimg=0.016,
                   progress=False, init_from="bundled:emoji32", freeze_d=2))
    run.restore()
    source = load("bundled:emoji32")["G_ema"]
    np.testing.assert_array_equal(run.model.G.synthesis.b32.conv1.weight.numpy(),
                                  source.synthesis.b32.conv1.weight.numpy())
