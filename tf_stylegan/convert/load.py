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
from tf_stylegan.networks import DCGANDiscriminator, Discriminator, Generator

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
    (g, d, g_ema; torch zip or legacy format), our own `.keras` generator
    files (returned as {"G_ema": model}) and our training runs: a run
    directory (its latest checkpoint) or a checkpoint prefix such as
    run/checkpoints/ckpt-3000. The architecture comes from the file's
    own kwargs. Raises `CheckpointError` naming the file and the tensor on
    anything unexpected.
    """
    path = os.fspath(path)
    run_dir = _run_dir(path)
    if run_dir is not None:
        return _load_run(run_dir, path)
    if not os.path.isfile(path):
        raise CheckpointError(path, "no such file.")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        if "config.json" in names:
            model = keras.models.load_model(path)
            key = "D" if isinstance(model, (Discriminator, DCGANDiscriminator)) else "G_ema"
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


def _run_dir(path: str) -> str | None:
    """The training-run directory behind `path` (a run dir or one of its checkpoint prefixes), if any."""
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "options.json")):
        return path
    parent = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    if os.path.isfile(path + ".index") and os.path.isfile(os.path.join(parent, "options.json")):
        return parent
    return None


def _load_run(run_dir: str, path: str) -> dict[str, keras.Model]:
    """G, D and G_ema of a training run, rebuilt from options.json and restored from a checkpoint."""
    import json

    import tensorflow as tf

    with open(os.path.join(run_dir, "options.json")) as f:
        record = json.load(f)
    try:
        G = Generator.from_config(record["G"])
        D = Discriminator.from_config(record["D"])
        G_ema = Generator.from_config({**record["G"], "name": "generator_ema"})
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(run_dir, f"options.json does not describe the networks ({exc}).") from None
    prefix = path if os.path.isfile(path + ".index") else tf.train.latest_checkpoint(os.path.join(run_dir,
                                                                                                  "checkpoints"))
    if prefix is None:
        raise CheckpointError(run_dir, "the run has no checkpoint yet.")
    try:
        tf.train.Checkpoint(G=G, D=D, G_ema=G_ema).restore(prefix).expect_partial().assert_existing_objects_matched()
    except (tf.errors.OpError, AssertionError, ValueError) as exc:
        raise CheckpointError(prefix, f"the checkpoint does not fit the run's networks ({exc}).") from None
    return {"G": G, "D": D, "G_ema": G_ema}
