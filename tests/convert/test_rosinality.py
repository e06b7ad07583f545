"""rosinality .pt checkpoints against the official outputs of the same weights.

tests/data/rosinality_small.pt holds tf1_small.pkl's weights in rosinality's
layout (scripts/make_rosinality_fixture.py applies rosinality's own TF1 rules),
so tf1_small_ref.npz is its official output.
"""

import numpy as np
import pytest
from conftest import data_path

from tf_stylegan.convert import load


@pytest.fixture(scope="module")
def nets():
    return load(data_path("rosinality_small.pt"))


@pytest.fixture(scope="module")
def ref():
    return np.load(data_path("tf1_small_ref.npz"))


def _nhwc(x):
    return x.transpose(0, 2, 3, 1)


def test_matches_official_outputs(nets, ref):
    G, D = nets["G_ema"], nets["D"]
    assert (G.img_resolution, G.z_dim, G.synthesis.b4.conv1.weight.shape[-1]) == (32, 64, 64)
    for key, kwargs in (("img", {}), ("img_psi05", {"truncation_psi": 0.5})):
        img = G(ref["z"], noise_mode="const", **kwargs).numpy()
        assert np.abs(img - _nhwc(ref[key])).max() < 1e-4, key
    assert np.abs(nets["G"](ref["z"], noise_mode="const").numpy() - _nhwc(ref["img_G"])).max() < 1e-4
    assert np.abs(D(_nhwc(ref["img"])).numpy() - ref["d_img"]).max() < 1e-4
    assert np.abs(D(_nhwc(ref["x_real"])).numpy() - ref["d_real"]).max() < 1e-4


def test_w_avg_stored_or_estimated(nets):
    G = nets["G"]  # "g" has no latent_avg: estimated from 10,000 seeded samples
    z = np.random.RandomState(7).standard_normal([10000, G.z_dim]).astype(np.float32)
    mean = G.mapping(z, None).numpy()[:, 0].mean(0)
    spread = G.mapping(z, None).numpy()[:, 0].std(0)
    assert np.all(np.abs(G.mapping.w_avg.numpy() - mean) < 0.05 * spread + 1e-6)
    assert not np.allclose(nets["G_ema"].mapping.w_avg.numpy(), G.mapping.w_avg.numpy())
