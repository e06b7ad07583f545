"""The datasets that ship inside the package: `bundled:emoji64` and `bundled:fluent64`.

The same 1,112 face and person emoji at 64x64 on white, drawn by two artists
(see bundled/NOTICE): emoji64 from Noto Color Emoji (flat), fluent64 from
Microsoft's Fluent Emoji 3D (rendered, shaded). Both are labelled with a
coarse category (smiley, person, gesture, role, fantasy), skin tone and
gender from Unicode's emoji data. fluent64 is the second set on which
training choices are measured (bench/quality.py), and the small target of
transfer learning from emoji64.
"""

from __future__ import annotations

import os

import numpy as np

BUNDLED = {"emoji64": "emoji64.npz", "fluent64": "fluent64.npz"}
LABEL_KINDS = ("tags", "category", "skin_tone", "none")


def bundled_names() -> list[str]:
    return sorted(BUNDLED)


def bundled_path(name: str) -> str:
    if name not in BUNDLED:
        raise ValueError(f"unknown bundled dataset {name!r}; available: {bundled_names()}.")
    return os.path.join(os.path.dirname(__file__), "bundled", BUNDLED[name])


def load_arrays(name: str, labels: str = "tags") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(uint8 images [N, R, R, 3], float32 labels [N, dim], label names) of a bundled set.

    labels: "tags" (multi-hot over category, skin tone and gender), "category"
    or "skin_tone" (one-hot classes), or "none" (an empty [N, 0] array).
    """
    if labels not in LABEL_KINDS:
        raise ValueError(f"labels must be one of {LABEL_KINDS}, got {labels!r}.")
    with np.load(bundled_path(name)) as d:
        images = d["images"]
        if labels == "tags":
            return images, d["tags"].astype(np.float32), [str(t) for t in d["tag_vocab"]]
        if labels == "none":
            return images, np.zeros([len(images), 0], np.float32), []
        names = [str(t) for t in d[f"{labels}_names"]]
        return images, np.eye(len(names), dtype=np.float32)[d[labels]], names
