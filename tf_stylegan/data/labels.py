"""Label files: integer classes (stylegan2-ada dataset.json) and multi-label tags.

Classes: `{"labels": [["relative/path.png", 3], ...]}` -> one-hot vectors.
Tags: one line per image, `relative/path.png: blonde_hair, blue_eyes, long_hair`
(a tab may replace the colon; tags are separated by commas or spaces), plus an
optional vocabulary file with one tag per line that fixes the multi-hot order.
Without a vocabulary, every tag seen becomes one, sorted.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import posixpath
import re
import reprlib

import numpy as np

MAX_LABEL_DIM = 16384  # classes or tags: a label vector wider than this is a mistake (or an attack)


class LabelError(ValueError):
    """A labels file that cannot be used; the message names the file and line."""


@dataclasses.dataclass
class Labels:
    kind: str  # "class" or "tags"
    dim: int
    vectors: dict[str, np.ndarray]  # normalised relative path -> float32 [dim]
    names: list[str]  # tag vocabulary or class names
    unknown_tags: dict[str, int]


def normalise(path: str) -> str:
    """A relative path as labels files and the dataset tool compare them."""
    return posixpath.normpath(path.strip().replace("\\", "/"))


def read_labels(path: str, vocab_path: str | None = None) -> Labels:
    """Reads a class-label JSON or a tag file (chosen by the extension)."""
    if not os.path.isfile(path):
        raise LabelError(f"{path}: labels file not found.")
    try:
        text = open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read the labels file ({exc}).") from None
    if path.endswith(".json"):
        return _read_classes(path, text)
    return _read_tags(path, text, vocab_path)


def _read_classes(path: str, text: str) -> Labels:
    try:
        entries = json.loads(text).get("labels")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise LabelError(f"{path}: not a JSON object with a 'labels' list ({exc}).") from None
    if not isinstance(entries, list) or not entries:
        raise LabelError(f"{path}: 'labels' must be a non-empty list of [path, class] pairs.")
    classes, where = {}, {}
    for i, entry in enumerate(entries):
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and type(entry[1]) is int
                and entry[1] >= 0 and isinstance(entry[0], str)):
            raise LabelError(f"{path}: labels[{i}] = {reprlib.repr(entry)} is not a [path, non-negative int] pair.")
        if entry[1] >= MAX_LABEL_DIM:
            raise LabelError(f"{path}: labels[{i}]: class {entry[1]} is out of range (at most "
                             f"{MAX_LABEL_DIM - 1}); classes are numbered from 0.")
        name = normalise(entry[0])
        if name in where:
            raise LabelError(f"{path}: labels[{where[name]}] and labels[{i}] both label {name!r}; keep one.")
        classes[name], where[name] = entry[1], i
    dim = max(classes.values()) + 1
    eye = np.eye(dim, dtype=np.float32)
    return Labels("class", dim, {p: eye[c] for p, c in classes.items()}, [str(i) for i in range(dim)], {})


def _read_vocab(vocab_path: str) -> list[str]:
    if not os.path.isfile(vocab_path):
        raise LabelError(f"{vocab_path}: tag vocabulary file not found.")
    vocab = [t.strip() for t in open(vocab_path, encoding="utf-8") if t.strip() and not t.startswith("#")]
    if len(set(vocab)) != len(vocab):
        dup = [t for t, n in collections.Counter(vocab).items() if n > 1]
        raise LabelError(f"{vocab_path}: tags listed twice: {dup[:5]}.")
    if not vocab:
        raise LabelError(f"{vocab_path}: the tag vocabulary is empty.")
    return vocab


def _read_tags(path: str, text: str, vocab_path: str | None) -> Labels:
    raw: dict[str, list[str]] = {}
    where: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^([^\t:]+)[\t:](.*)$", line)
        if m is None:
            raise LabelError(f"{path}:{number}: expected 'path: tag, tag, ...', got {reprlib.repr(line)}.")
        name = normalise(m.group(1).strip())
        if name in where:
            raise LabelError(f"{path}: lines {where[name]} and {number} both give the tags of {name!r}; "
                             "merge them into one line.")
        raw[name], where[name] = [t for t in re.split(r"[,\s]+", m.group(2)) if t], number
    if not raw:
        raise LabelError(f"{path}: no 'path: tags' lines found.")
    vocab = _read_vocab(vocab_path) if vocab_path else sorted({t for ts in raw.values() for t in ts})
    if len(vocab) > MAX_LABEL_DIM:
        raise LabelError(f"{vocab_path or path}: {len(vocab)} distinct tags; at most {MAX_LABEL_DIM} (pass a "
                         "--tag_vocab of the tags to keep).")
    index = {t: i for i, t in enumerate(vocab)}
    unknown: collections.Counter = collections.Counter()
    vectors = {}
    for p, tags in raw.items():
        v = np.zeros(len(vocab), np.float32)
        for t in tags:
            if t in index:
                v[index[t]] = 1
            else:
                unknown[t] += 1
        vectors[p] = v
    return Labels("tags", len(vocab), vectors, vocab, dict(unknown))
