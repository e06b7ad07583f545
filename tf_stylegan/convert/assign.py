"""Copies converted arrays into a Keras network, checking names and shapes.

Converters produce {canonical name: (source tensor name, array)}, where the
canonical name is our attribute path ("synthesis.b8.conv0.weight"), which
follows the official module names. Every variable must be covered and every
shape must agree, or the error names the file and the tensor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import keras
import numpy as np

from tf_stylegan.convert.errors import CheckpointError

Tensors = Mapping[str, tuple[str, np.ndarray]]


def canonical_variables(model: keras.Model) -> dict[str, keras.Variable]:
    """{attribute path: variable} for a network's weights (RNG state excluded)."""
    out = {}
    for var in model.variables:
        if not var.dtype.startswith("float"):
            continue
        parts = var.path.split("/")
        out[".".join(parts[1:])] = var
    return out


def assign_weights(model: keras.Model, tensors: Tensors, path: str, network: str) -> None:
    """Assigns `tensors` to `model`; raises CheckpointError on any mismatch."""
    ours = canonical_variables(model)
    missing = sorted(set(ours) - set(tensors))
    if missing:
        raise CheckpointError(
            path,
            f"{network}: the file has no tensor for {missing[:5]} "
            f"({len(missing)} missing). The architecture taken from the file's kwargs "
            "expects them; the file may be damaged or of another network type.",
        )
    extra = sorted(set(tensors) - set(ours))
    if extra:
        sources = [tensors[name][0] for name in extra[:5]]
        raise CheckpointError(
            path,
            f"{network}: tensors {sources} have no place in the architecture taken from "
            "the file's kwargs; the kwargs and weights disagree.",
        )
    for name, var in ours.items():
        source, value = tensors[name]
        value = np.asarray(value, dtype=np.float32)
        if tuple(value.shape) != tuple(var.shape):
            raise CheckpointError(
                path,
                f"{network}: tensor `{source}` has shape {tuple(value.shape)}, but the "
                f"architecture from the file's kwargs needs {tuple(var.shape)} for `{name}`.",
            )
        if not np.all(np.isfinite(value)):
            raise CheckpointError(path, f"{network}: tensor `{source}` contains NaN or Inf.")
        var.assign(value)


def dense_chw_to_hwc(weight: np.ndarray, channels: int, resolution: int) -> np.ndarray:
    """Reorders a [C*H*W, out] dense weight (NCHW flatten) to [H*W*C, out] (NHWC)."""
    out = weight.shape[-1]
    if weight.shape[0] != channels * resolution * resolution:
        return weight  # let the shape check report it
    w = weight.reshape(channels, resolution, resolution, out).transpose(1, 2, 0, 3)
    return w.reshape(-1, out)


def gather_tensors(
    table: Sequence[tuple], names, source: Mapping[str, np.ndarray], path: str, network: str
) -> dict[str, tuple[str, np.ndarray]]:
    """{our name: (source name, array)} by the first row of `table` that matches.

    A row is (regex on our name, source-name template or callable(match),
    transform(array, match)); the template is filled with the regex groups.
    """
    out = {}
    for name in names:
        for pattern, template, transform in table:
            m = re.fullmatch(pattern, name)
            if m is None:
                continue
            src = template(m) if callable(template) else template.format(*m.groups())
            if src not in source:
                raise CheckpointError(path, f"{network}: tensor `{src}` (for `{name}`) is missing.")
            out[name] = (src, transform(np.asarray(source[src]), m))
            break
    return out
