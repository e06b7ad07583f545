"""Export to the stylegan2-ada-pytorch layout: the inverse of the loader's tables."""

import pickle

import numpy as np
from conftest import data_path

from tf_stylegan.convert import ada, load
from tf_stylegan.convert.assign import canonical_variables, gather_tensors
from tf_stylegan.convert.limits import ReadLimits
from tf_stylegan.convert.loader import read_parts
from tf_stylegan.convert.to_ada import ada_layout, save_ada_pickle


def test_export_matches_the_official_file_tensor_for_tensor():
    # Convert the official ada fixture, export it back, and compare with the file's own tensors.
    path = data_path("ada_small.pkl")
    nets = load(path)
    parts = read_parts(path, ReadLimits(path))
    official = {key: parts[key][1] for key in ("G_ema", "D")}
    exported = ada_layout(nets["G_ema"], D=nets["D"])
    for key in ("G_ema", "D"):
        ours = exported[key]["state_dict"]
        assert ours, key
        for name, value in ours.items():
            np.testing.assert_allclose(value, official[key][name], rtol=0, atol=0, err_msg=f"{key} {name}")
        # Only the fixed resample filters are left out.
        assert all(n.endswith("resample_filter") for n in set(official[key]) - set(ours)), key


def test_round_trip_through_the_loader_tables(tmp_path):
    nets = load(data_path("ada_small.pkl"))
    out = save_ada_pickle(str(tmp_path / "g.pkl"), nets["G_ema"], D=nets["D"])
    with open(out, "rb") as f:
        data = pickle.load(f)  # plain dicts and arrays: any Python reads it
    assert data["G_ema"]["init_kwargs"]["synthesis_kwargs"]["architecture"] == nets["G_ema"].get_config()[
        "architecture"]
    for key, table in (("G_ema", ada.G_TABLE), ("D", ada.D_TABLE)):
        model = nets[key]
        back = gather_tensors(table, list(canonical_variables(model)), data[key]["state_dict"], out, key)
        for name, var in canonical_variables(model).items():
            np.testing.assert_array_equal(back[name][1], var.numpy(), err_msg=name)
