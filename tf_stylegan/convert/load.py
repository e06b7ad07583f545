"""`load(path)`: any supported checkpoint -> {"G", "D", "G_ema"} Keras models."""

from __future__ import annotations

import os
import zipfile
from typing import Any

import keras

from tf_stylegan.convert import ada, tf1
from tf_stylegan.convert.assign import assign_weights, canonical_variables, gather_tensors
from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.safe_pickle import TF1Network, safe_load
from tf_stylegan.convert.torch_tensors import torch_globals
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
    stylegan2-ada-pytorch pickles, and our own `.keras` generator files
    (returned as {"G_ema": model}). The architecture comes from the file's
    own kwargs. Raises `CheckpointError` naming the file and the tensor on
    anything unexpected.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(path, "no such file.")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            is_keras = "config.json" in z.namelist()
        if not is_keras:
            raise CheckpointError(path, "a zip archive that is not a .keras model file.")
        model = keras.models.load_model(path)
        key = "D" if isinstance(model, Discriminator) else "G_ema"
        return {key: model}
    data = _read_pickle(path)
    if isinstance(data, tuple) and data and isinstance(data[0], TF1Network):
        parts = tf1.read(data, path)
    elif isinstance(data, dict) and "G_ema" in data:
        parts = ada.read(data, path)
    else:
        raise CheckpointError(
            path, f"unrecognised checkpoint contents ({type(data).__name__}); expected a TF1 "
            "(G, D, Gs) tuple or a stylegan2-ada-pytorch dict."
        )
    return {
        key: _build(key, kwargs, tensors, table, path, what)
        for key, (kwargs, tensors, table, what) in parts.items()
    }
