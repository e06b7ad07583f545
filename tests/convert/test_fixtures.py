"""Converted official checkpoints against the official implementation's outputs."""

import json

import keras
import numpy as np
import pytest
from conftest import data_path

from tf_stylegan.convert import load
from tf_stylegan.networks import Discriminator, Generator

TOLERANCE = 1e-4
FIXTURES = {"tf1_small": ("img_psi05", 0.5), "ada_small": ("img_psi07", 0.7)}


def nhwc(a):
    return a.transpose(0, 2, 3, 1)


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def converted(request):
    name = request.param
    return name, load(data_path(f"{name}.pkl")), np.load(data_path(f"{name}_ref.npz"))


def outputs(nets, ref, psi_key, psi):
    G, Graw, D = nets["G_ema"], nets["G"], nets["D"]
    z = ref["z"]
    c = ref["c"] if "c" in ref and ref["c"].shape[1] else None
    ws = G.mapping(z, c).numpy()
    return {
        "ws": ws,
        "img": G.synthesis(ws, noise_mode="const").numpy(),
        psi_key: G(z, c, truncation_psi=psi, noise_mode="const").numpy(),
        "img_nonoise": G(z, c, noise_mode="none").numpy(),
        "img_G": Graw(z, c, noise_mode="const").numpy(),
        "d_img": D(nhwc(ref["img"]), c).numpy(),
        "d_real": D(nhwc(ref["x_real"]), c).numpy(),
    }


def test_every_reference_array_matches(converted):
    name, nets, ref = converted
    psi_key, psi = FIXTURES[name]
    got = outputs(nets, ref, psi_key, psi)
    checked = {k for k in ref.files if k not in ("z", "c", "x_real", "config_json")}
    assert checked == set(got), "every official array is compared"
    errors = {}
    for key, value in got.items():
        expected = ref[key] if key.startswith(("ws", "d_")) else nhwc(ref[key])
        assert value.shape == expected.shape, key
        errors[key] = float(np.abs(value - expected).max())
    print(f"\n{name} max-abs errors: {json.dumps(errors)}")
    assert max(errors.values()) <= TOLERANCE, errors


def test_architecture_comes_from_the_files_kwargs(converted):
    name, nets, ref = converted
    cfg = json.loads(str(ref["config_json"]))
    G, D = nets["G_ema"], nets["D"]
    assert isinstance(G, Generator) and isinstance(D, Discriminator)
    assert set(nets) == {"G", "D", "G_ema"}
    gk = cfg["G_init_kwargs"]
    assert (G.z_dim, G.w_dim, G.img_resolution) == (gk["z_dim"], gk["w_dim"], gk["img_resolution"])
    assert G.mapping.num_layers == gk["mapping_kwargs"]["num_layers"]
    assert G.get_config()["channel_base"] == gk["synthesis_kwargs"]["channel_base"]
    assert D.get_config()["architecture"] == cfg["D_init_kwargs"].get("architecture", "resnet")


def test_converted_models_round_trip_through_keras_files(converted, tmp_path):
    name, nets, ref = converted
    for key in ("G_ema", "D"):
        nets[key].save(tmp_path / f"{key}.keras")
    G = keras.models.load_model(tmp_path / "G_ema.keras")
    D = load(tmp_path / "D.keras")["D"]
    z = ref["z"]
    np.testing.assert_array_equal(G(z, noise_mode="const"), nets["G_ema"](z, noise_mode="const"))
    np.testing.assert_array_equal(D(nhwc(ref["img"])), nets["D"](nhwc(ref["img"])))
