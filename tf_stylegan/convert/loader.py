"""`load(path)`: any supported checkpoint -> {"G", "D", "G_ema"} Keras models, read as hostile input."""

from __future__ import annotations

import json
import os
from typing import Any

import keras
import numpy as np

from tf_stylegan.convert import ada, rosinality, tf1
from tf_stylegan.convert.assign import assign_weights, canonical_variables, gather_tensors
from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.limits import ReadLimits, shown
from tf_stylegan.convert.pretrained import PREFIX, load_pretrained
from tf_stylegan.convert.safe_pickle import TF1Network, safe_load
from tf_stylegan.convert.torch_tensors import (
    LEGACY_MAGIC,
    ZipReader,
    load_legacy_bytes,
    load_torch_zip,
    read_file,
    torch_globals,
)
from tf_stylegan.networks import spec

_PICKLE_PROTOCOL_MARK = b"\x80"
MAX_CONFIG_BYTES = 16 << 20
WEIGHT_SLACK = 1 << 20
_CHECKS = {"G": (spec.check_generator_kwargs, spec.generator_weight_count),
           "D": (spec.check_discriminator_kwargs, spec.discriminator_weight_count)}


def check_architecture(kind: str, kwargs: dict, present: int | None, path: str, what: str) -> None:
    """Refuses kwargs out of range, or implying far more weights than the `present` ones, before building.

    A small excess is left to the tensor-by-tensor check after building,
    which names the missing or misshapen tensor; building at most twice the
    file's weights (plus 1M) keeps memory bounded by the file either way.
    """
    check, count = _CHECKS["D" if kind == "D" else "G"]
    try:
        check(kwargs)
    except ValueError as exc:
        raise CheckpointError(path, f"{what}: architecture kwargs: {exc}") from None
    needed = count(kwargs)
    if present is not None and needed > 2 * present + WEIGHT_SLACK:
        raise CheckpointError(
            path, f"{what}: the architecture kwargs imply {needed:,} weights, but the file holds only "
                  f"{present:,}; the kwargs and the weights disagree.")


def _build(kind: str, kwargs: dict, tensors: dict, table, path: str, what: str) -> keras.Model:
    from tf_stylegan.networks import Discriminator, Generator

    present = sum(int(np.size(v)) for v in tensors.values())
    check_architecture(kind, kwargs, present, path, what)
    cls = Discriminator if kind == "D" else Generator
    try:
        model = cls(**kwargs, name="discriminator" if kind == "D" else "generator")
    except (ValueError, TypeError) as exc:
        raise CheckpointError(path, f"{what}: its kwargs do not describe a valid network ({exc}).") from None
    names = list(canonical_variables(model))
    assign_weights(model, gather_tensors(table, names, tensors, path, what), path, what)
    return model


def read_parts(path: str, limits: ReadLimits) -> dict:
    """The file's networks as {key: (kwargs, tensors, table, what)}; any malformed input -> CheckpointError."""
    try:
        if ZipReader.is_zip(path):
            with ZipReader(path, limits) as archive:
                names = archive.names()
            if not any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
                raise CheckpointError(path, "a zip archive that is neither a .keras model nor a torch checkpoint.")
            data = load_torch_zip(path, limits=limits)
        else:
            raw = read_file(path, limits)
            if not raw.startswith(_PICKLE_PROTOCOL_MARK):
                raise CheckpointError(
                    path, "not a checkpoint: neither a pickle (NVlabs TF1, stylegan2-ada-pytorch) nor a .keras file.")
            data = safe_load(raw, path, torch_globals(path, limits), limits=limits)
            if type(data) is int and data == LEGACY_MAGIC:  # torch's legacy (pre-1.6) .pt format
                data = load_legacy_bytes(raw, path, limits)
        if isinstance(data, tuple) and data and isinstance(data[0], TF1Network):
            return tf1.read(data, path, limits)
        if rosinality.is_rosinality(data):
            return rosinality.read(data, path)
        if isinstance(data, dict) and "G_ema" in data:
            return ada.read(data, path, limits)
        raise CheckpointError(
            path, f"unrecognised checkpoint contents ({type(data).__name__}); expected a TF1 (G, D, Gs) tuple, a "
                  "stylegan2-ada-pytorch dict or a rosinality .pt.")
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(path, "the checkpoint's structure nests too deeply.") from None
    except Exception as exc:  # malformed input must never escape as another exception type
        raise CheckpointError(path, f"malformed checkpoint ({type(exc).__name__}: {shown(str(exc))}).") from None


def load(path: str | os.PathLike, max_bytes: int | None = None) -> dict[str, keras.Model]:
    """Loads a checkpoint into our networks, executing nothing from the file.

    Accepts NVlabs TF1 pickles ((G, D, Gs); Gs is returned as "G_ema"),
    stylegan2-ada-pytorch pickles, rosinality/stylegan2-pytorch .pt files
    (g, d, g_ema; torch zip or legacy format), our own `.keras` generator
    files (returned as {"G_ema": model}) and our training runs: a run
    directory (its latest checkpoint) or a checkpoint prefix such as
    run/checkpoints/ckpt-3000. The architecture comes from the file's
    own kwargs, checked before anything is built. "bundled:NAME" loads a
    network that ships with the package (`bundled:emoji32`).

    The file is treated as hostile: reading it may allocate at most
    `max_bytes` (default: 8x the file's size + 64 MiB; raise it for a huge
    official network). Any problem raises `CheckpointError` naming the file
    and the place inside it.
    """
    path = os.fspath(path)
    if path.startswith(PREFIX):
        return load_pretrained(path[len(PREFIX):], max_bytes)
    run_dir = _run_dir(path)
    if run_dir is not None:
        return _load_run(run_dir, path)
    if not os.path.isfile(path):
        raise CheckpointError(path, "no such file.")
    limits = ReadLimits(path, max_bytes)
    if ZipReader.is_zip(path):
        with ZipReader(path, limits) as archive:
            if "config.json" in archive.names():
                return _load_keras(path, archive)
    parts = read_parts(path, limits)
    nets = {
        key: _build(key, kwargs, tensors, table, path, what)
        for key, (kwargs, tensors, table, what) in parts.items()
    }
    for key, (_, tensors, _, _) in parts.items():
        if rosinality.ESTIMATED_W_AVG in tensors:
            _estimate_w_avg(nets[key])
    return nets


_OWN_MODELS = {"Generator": "G", "Discriminator": "D"}
_OTHER_MODELS = ("DCGANGenerator", "DCGANDiscriminator", "ProGANGenerator", "ProGANDiscriminator")


def check_own_config(config: Any, path: str, weight_bytes: int | None) -> str:
    """Checks the top-level config of one of our saved models; returns its class name."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise CheckpointError(path, "config.json: not a Keras model config.")
    name, inner = config.get("class_name"), config["config"]
    if name not in _OWN_MODELS and name not in _OTHER_MODELS:
        raise CheckpointError(path, f"config.json: class {shown(name)} is not one of this package's networks.")
    if name in _OWN_MODELS:
        present = None if weight_bytes is None else weight_bytes // 2  # fp16 at the smallest
        check_architecture(_OWN_MODELS[name], inner, present, path, f"config.json ({name})")
    else:
        for key, value in inner.items():  # the baselines: bounded widths and resolutions
            if type(value) is int and not 0 <= value <= spec.MAX_WIDTH * (1 if "base" not in key else 64):
                raise CheckpointError(path, f"config.json ({name}): `{key}` = {value} is out of range.")
    return name


def _load_keras(path: str, archive: ZipReader) -> dict[str, keras.Model]:
    """One of our `.keras` files, after every member was read within the budget and the config checked."""
    archive.check_all()
    if archive.infos["config.json"].file_size > MAX_CONFIG_BYTES:
        raise CheckpointError(path, "config.json: larger than any network config.")
    try:
        config = json.loads(archive.read("config.json"))
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(path, f"config.json: not JSON ({shown(str(exc))}).") from None
    weights = archive.infos.get("model.weights.h5")
    name = check_own_config(config, path, None if weights is None else weights.file_size)
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as exc:
        raise CheckpointError(path, f"not a loadable model of this package ({type(exc).__name__}: "
                                    f"{shown(str(exc))}).") from None
    return {"D" if name.endswith("Discriminator") else "G_ema": model}


def _estimate_w_avg(G, samples: int = 10000, seed: int = 0) -> None:
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


def _networks_of_run(record: Any, options: str) -> tuple:
    """(G, D, G_ema) rebuilt from a run's options.json: Keras configs of our classes, checked first
    (runs recorded before the one driver hold plain StyleGAN2 configs)."""
    from tf_stylegan.networks import Discriminator, Generator

    try:
        specs = {"G": record["G"], "D": record["D"]}
        if not all(isinstance(v, dict) for v in specs.values()):
            raise TypeError("G and D are not configs")
    except (KeyError, TypeError) as exc:
        raise CheckpointError(options, f"does not describe the networks ({shown(str(exc))}).") from None
    nets = []
    for key, config, name in (("G", specs["G"], "generator"), ("D", specs["D"], "discriminator"),
                              ("G", specs["G"], "generator_ema")):
        try:
            if "class_name" in config:  # a Keras config: {"module", "class_name", "config", "registered_name"}
                check_own_config(config, options, None)
                config = {**config, "config": {**config["config"], "name": name}}
                net = keras.saving.deserialize_keras_object(config)
            else:
                check_architecture(key, config, None, options, key)
                net = (Generator if key == "G" else Discriminator).from_config({**config, "name": name})
            if not net.built:
                net.build()
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(options, f"does not describe the networks ({shown(str(exc))}).") from None
        nets.append(net)
    return tuple(nets)


def _load_run(run_dir: str, path: str) -> dict[str, keras.Model]:
    """G, D and G_ema of a training run of any family, rebuilt from options.json and restored from a checkpoint."""
    import tensorflow as tf

    from tf_stylegan.files import checkpoint_steps

    options = os.path.join(run_dir, "options.json")
    if os.path.getsize(options) > MAX_CONFIG_BYTES:
        raise CheckpointError(options, "larger than any run's options.")
    try:
        with open(options) as f:
            record = json.load(f)
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(options, f"not readable JSON ({shown(str(exc))}).") from None
    if not isinstance(record, dict):
        raise CheckpointError(options, "not a run's options.")
    G, D, G_ema = _networks_of_run(record, options)
    if os.path.isfile(path + ".index"):
        prefix = path
    else:
        steps = checkpoint_steps(os.path.join(run_dir, "checkpoints"))
        if not steps:
            raise CheckpointError(run_dir, "the run has no checkpoint yet.")
        prefix = os.path.join(run_dir, "checkpoints", f"ckpt-{steps[-1]}")
    try:
        tf.train.Checkpoint(G=G, D=D, G_ema=G_ema).restore(prefix).expect_partial().assert_existing_objects_matched()
    except (tf.errors.OpError, AssertionError, ValueError) as exc:
        raise CheckpointError(prefix, f"the checkpoint does not fit the run's networks ({exc}).") from None
    return {"G": G, "D": D, "G_ema": G_ema}
