"""Networks that ship inside the package, by name: `load("bundled:emoji32")`.

Each lives in tf_stylegan/pretrained/<name>/: G_ema.keras and D.keras, and
record.json (how it was trained: the command, kimg, hours and FID curve).
They are read through the same checks as any `.keras` file. Their weights
are stored in float16 (half the size; the record gives the FID after
packaging) and load into float32 networks, so generation runs in float32
unless asked otherwise.
"""

from __future__ import annotations

import os

import keras

from tf_stylegan.convert.errors import CheckpointError

PREFIX = "bundled:"
PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained")
PARTS = ("G_ema", "D")


def pretrained_names() -> list[str]:
    """The bundled networks' names."""
    if not os.path.isdir(PRETRAINED_DIR):
        return []
    return sorted(name for name in os.listdir(PRETRAINED_DIR)
                  if os.path.isfile(os.path.join(PRETRAINED_DIR, name, "G_ema.keras")))


def pretrained_folder(name: str) -> str:
    if name not in pretrained_names():
        known = ", ".join(PREFIX + n for n in pretrained_names()) or "none in this installation"
        raise CheckpointError(PREFIX + name, f"no such bundled network (the bundled networks: {known}).")
    return os.path.join(PRETRAINED_DIR, name)


def load_pretrained(name: str, max_bytes: int | None = None) -> dict[str, keras.Model]:
    """{"G_ema", "D"} of a bundled network."""
    from tf_stylegan.convert.loader import load

    folder = pretrained_folder(name)
    nets = {}
    for part in PARTS:
        path = os.path.join(folder, f"{part}.keras")
        if os.path.isfile(path):
            (model,) = load(path, max_bytes=max_bytes).values()
            nets[part] = model
    return nets
