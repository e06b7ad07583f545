"""`load(path)`: any supported checkpoint -> {"G", "D", "G_ema"} Keras models."""

from __future__ import annotations

import os
import zipfile
from typing import Any

import keras
import numpy as np

from tf_stylegan.convert import ada, rosinality, tf1
from tf_stylegan.convert.assign import assign_weights, canonical_variables, gather_tensors
from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.safe_pickle import TF1Network, safe_load
from tf_stylegan.convert.torch_tensors import LEGACY_MAGIC, load_torch_file, load_torch_zip, torch_globals
from tf_stylegan.networks import Discriminator, Generator

_PICKLE_PROTOCOL_MARK = b"\x80"


def _read_pickle(path: str) -> Any:
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(_PICKLE_PROTOCOL_MARK):
        raise CheckpointError(
            path, "not a checkpoint: neither a pickle (NVlabs TF1, stylegan2-ada-pytorch) "
            "nor a .keras file."
        )
    return safe_load(data, path, torch_globals(path))


def _build(kind: str, kwargs: dict, tensors: dict, table, path: str, what: str) -> keras.Model:
    cls = Discriminator if kind == "D" else Generator
    try:
        model = cls(**kwargs, name="discriminator" if kind == "D" else "generator")
    except (ValueError, TypeError) as exc:
        raise CheckpointError(path, f"{what}: its kwargs do not describe a valid network ({exc}).") from None
    names = list(canonical_variables(model))
    assign_weights(model, gather_tensors(table, names, tensors, path, what), path, what)
    return model


def load(path: str | os.PathLike) -> dict[str, keras.Model]:
    """Loads a checkpoint into our networks, executing nothing from the file.

    Accepts NVlabs TF1 pickles ((G, D, Gs); Gs is returned as "G_ema"),
    stylegan2-ada-pytorch pickles, rosinality/stylegan2-pytorch .pt files
    (g, d, g_ema; torch zip or legacy format), and our own `.keras`
    generator files (returned as {"G_ema": model}). The architecture comes from the file's
    own kwargs. Raises `CheckpointError` naming the file and the tensor on
    anything unexpected.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(path, "no such file.")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        if "config.json" in names:
            model = keras.models.load_model(path)
            key = "D" if isinstance(model, Discriminator) else "G_ema"
            return {key: model}
        if not any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            raise CheckpointError(path, "a zip archive that is neither a .keras model nor a torch checkpoint.")
        data = load_torch_zip(path)
    else:
        data = _read_pickle(path)
        if isinstance(data, int) and data == LEGACY_MAGIC:  # torch's legacy (pre-1.6) .pt format
            data = load_torch_file(path)
    if isinstance(data, tuple) and data and isinstance(data[0], TF1Network):
        parts = tf1.read(data, path)
    elif rosinality.is_rosinality(data):
        parts = rosinality.read(data, path)
    elif isinstance(data, dict) and "G_ema" in data:
        parts = ada.read(data, path)
    else:
        raise CheckpointError(
            path, f"unrecognised checkpoint contents ({type(data).__name__}); expected a TF1 "
            "(G, D, Gs) tuple, a stylegan2-ada-pytorch dict or a rosinality .pt."
        )
    nets = {
        key: _build(key, kwargs, tensors, table, path, what)
        for key, (kwargs, tensors, table, what) in parts.items()
    }
    for key, (_, tensors, _, _) in parts.items():
        if rosinality.ESTIMATED_W_AVG in tensors:
            _estimate_w_avg(nets[key])
    return nets


def _estimate_w_avg(G: Generator, samples: int = 10000, seed: int = 0) -> None:
    """w_avg for files that do not store it: the mean of w over seeded z."""
    z = np.random.RandomState(seed).standard_normal([samples, G.z_dim]).astype(np.float32)
    ws = G.mapping(z, None, truncation_psi=1.0)
    G.mapping.w_avg.assign(np.mean(ws[:, 0].numpy(), axis=0))
