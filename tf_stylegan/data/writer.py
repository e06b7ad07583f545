"""The dataset builder: a folder or zip of images (+ labels) -> sharded TFRecords.

Output directory:
  dataset.json   metadata: resolution, channels, count, label kind/dim/names, source hash
  report.json    every file left out (and why), duplicates, unlabelled images, unknown tags
  shard-*.tfrecord  tf.train.Examples: raw uint8 HWC pixels ("image"), float labels ("label")

The build is idempotent (an up-to-date destination is left alone) and atomic
(it is assembled in a temporary directory and renamed into place).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import posixpath
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator

import numpy as np

from tf_stylegan.data.images import EXTENSIONS, TRANSFORMS, BadImage, load_image
from tf_stylegan.data.labels import Labels, normalise, read_labels

FORMAT = "tf_stylegan-dataset"
VERSION = 1
SHARD_SIZE = 2048
AUTO_LABEL_FILE = "dataset.json"


class DatasetError(ValueError):
    """The dataset cannot be built; the message says what to fix."""


@dataclasses.dataclass
class Report:
    kept: int = 0
    bad: list = dataclasses.field(default_factory=list)  # [path, reason]
    duplicates: list = dataclasses.field(default_factory=list)  # [path, duplicate of]
    unlabelled: list = dataclasses.field(default_factory=list)
    unknown_tags: dict = dataclasses.field(default_factory=dict)
    mirrored: list = dataclasses.field(default_factory=list)  # [path, mirror of]

    def summary(self) -> str:
        lines = [f"kept {self.kept} images; left out {len(self.bad)} bad and {len(self.duplicates)} duplicate files"]
        lines += [f"  bad: {p}: {r}" for p, r in self.bad[:20]]
        lines += [f"  duplicate: {p} (same bytes as {q})" for p, q in self.duplicates[:20]]
        if self.unlabelled:
            lines.append(f"  {len(self.unlabelled)} images have no labels, e.g. {self.unlabelled[:3]}")
        if self.unknown_tags:
            lines.append(f"  tags not in the vocabulary: {dict(list(self.unknown_tags.items())[:10])}")
        if self.mirrored:
            lines.append(f"  {len(self.mirrored)} images are mirror images of others, e.g. {self.mirrored[:3]}")
        return "\n".join(lines)


class Source:
    """A folder or a zip of images, listed in a stable (sorted) order."""

    def __init__(self, path: str):
        self.path = path
        if not os.path.exists(path):
            raise DatasetError(f"{path}: the source does not exist; give a folder or a .zip of images.")
        self.is_zip = os.path.isfile(path) and zipfile.is_zipfile(path)
        if os.path.isfile(path) and not self.is_zip:
            raise DatasetError(f"{path}: not a folder or a zip archive.")
        self.members = self._list()
        if not self.members:
            raise DatasetError(f"{path}: no images found (looked for {', '.join(sorted(EXTENSIONS))}).")

    def _list(self) -> list[str]:
        if self.is_zip:
            with zipfile.ZipFile(self.path) as z:
                names = [n for n in z.namelist() if not n.endswith("/")]
        else:
            names = []
            for root, dirs, files in os.walk(self.path):
                dirs.sort()
                names += [os.path.relpath(os.path.join(root, f), self.path) for f in files]
        return sorted(normalise(n) for n in names if os.path.splitext(n)[1].lower() in EXTENSIONS)

    def read_all(self) -> Iterator[tuple[str, bytes]]:
        if self.is_zip:
            with zipfile.ZipFile(self.path) as z:
                for name in self.members:
                    yield name, z.read(name)
        else:
            for name in self.members:
                with open(os.path.join(self.path, name), "rb") as f:
                    yield name, f.read()

    def auto_labels(self) -> str | None:
        """A stylegan2-ada style dataset.json at the source's root, extracted if zipped."""
        if not self.is_zip:
            candidate = os.path.join(self.path, AUTO_LABEL_FILE)
            return candidate if os.path.isfile(candidate) else None
        with zipfile.ZipFile(self.path) as z:
            if AUTO_LABEL_FILE not in z.namelist():
                return None
            fd, tmp = tempfile.mkstemp(suffix=".json")
            with os.fdopen(fd, "wb") as f:
                f.write(z.read(AUTO_LABEL_FILE))
            return tmp


def _work(job):
    name, data, resolution, transform, channels, min_size = job
    digest = hashlib.sha256(data).hexdigest()
    try:
        arr, own = load_image(data, resolution, transform, channels, min_size)
        return name, digest, arr, own, None
    except BadImage as exc:
        return name, digest, None, 0, str(exc)


def _fingerprint(source: Source, settings: dict, labels_path: str | None) -> str:
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name, data in source.read_all():
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    if labels_path:
        h.update(open(labels_path, "rb").read())
    return h.hexdigest()


def _example(image: np.ndarray, label: np.ndarray | None) -> bytes:
    import tensorflow as tf

    feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()]))}
    if label is not None:
        feature["label"] = tf.train.Feature(float_list=tf.train.FloatList(value=label.tolist()))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


class _ShardWriter:
    def __init__(self, directory: str):
        self.directory, self.shards, self._writer, self._count = directory, [], None, 0

    def write(self, record: bytes) -> None:
        import tensorflow as tf

        if self._writer is None or self._count == SHARD_SIZE:
            self.close()
            name = f"shard-{len(self.shards):05d}.tfrecord"
            self._writer = tf.io.TFRecordWriter(os.path.join(self.directory, name))
            self.shards.append({"file": name, "count": 0})
            self._count = 0
        self._writer.write(record)
        self._count += 1
        self.shards[-1]["count"] += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _results(jobs: Iterator, total: int, workers: int, progress: bool) -> Iterator:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="images", unit="img", disable=not progress)
    try:
        if workers <= 1 or total < 64:
            for job in jobs:
                yield _work(job)
                bar.update()
            return
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for result in pool.imap(_work, jobs, chunksize=16):
                yield result
                bar.update()
    finally:
        bar.close()


def build_dataset(
    source: str,
    dest: str,
    resolution: int,
    transform: str = "center-crop",
    labels: str | None = None,
    tag_vocab: str | None = None,
    channels: int | None = 3,
    strict: bool = False,
    mirror_check: bool = False,
    min_size: int | None = None,
    workers: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> tuple[dict, Report]:
    """Builds (or confirms up to date) the dataset at `dest`; returns (info, report).

    Args:
      source: folder or .zip of images (searched recursively).
      dest: output directory (replaced atomically).
      resolution: output resolution, a power of two >= 4.
      transform: "center-crop", "center-crop-wide" or "pad" (white borders).
      labels: a class-label .json or a tag file; default: the source's dataset.json if any.
      tag_vocab: tag vocabulary file (one tag per line) for a tag file.
      channels: 3 (everything to RGB), 1 (grayscale), or None (keep the sources' own
        count, which must then be the same for all images).
      strict: fail on the first bad or duplicate file instead of leaving it out.
      mirror_check: report images that are horizontal mirrors of others.
      min_size: smallest accepted source side (default resolution // 4).
      workers: decoding processes (default: the CPU count).
    """
    if resolution < 4 or resolution & (resolution - 1):
        raise DatasetError(f"--resolution={resolution} is not a power of two >= 4 (e.g. 64, 128, 256).")
    if transform not in TRANSFORMS:
        raise DatasetError(f"--transform={transform!r}: choose one of {', '.join(TRANSFORMS)}.")
    if channels not in (1, 3, None):
        raise DatasetError(f"channels={channels!r}: use 1, 3 or None (keep the sources').")
    src = Source(source)
    labels_path = labels or src.auto_labels()
    label_set: Labels | None = None
    if labels_path:
        label_set = read_labels(labels_path, tag_vocab)
        stray = sorted(set(label_set.vectors) - set(src.members))
        if stray:
            raise DatasetError(
                f"{labels_path}: label count mismatch: {len(stray)} of its {len(label_set.vectors)} entries "
                f"name no image in {source} (e.g. {stray[:3]}); fix the paths or remove those lines."
            )
    settings = dict(resolution=resolution, transform=transform, channels=channels, min_size=min_size,
                    tag_vocab=open(tag_vocab).read() if tag_vocab else None, mirror_check=mirror_check)
    fingerprint = _fingerprint(src, settings, labels_path)
    existing = os.path.join(dest, "dataset.json")
    if os.path.isfile(existing):
        info = json.load(open(existing))
        if info.get("source", {}).get("hash") == fingerprint:
            log(f"{dest} is up to date ({info['num_images']} images).")
            report = Report(**json.load(open(os.path.join(dest, "report.json"))))
            return info, report

    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.", dir=parent)
    try:
        info, report = _write(src, tmp, label_set, resolution, transform, channels, strict, mirror_check,
                              min_size, workers or os.cpu_count() or 1, progress)
        info["source"] = {"path": os.path.abspath(source), "hash": fingerprint, "files": len(src.members),
                          "labels": os.path.abspath(labels_path) if labels_path else None}
        info["transform"] = transform
        _write_json(os.path.join(tmp, "dataset.json"), info)
        _write_json(os.path.join(tmp, "report.json"), dataclasses.asdict(report))
        _swap_into_place(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(report.summary())
    return info, report


def _write(src, out, label_set, resolution, transform, channels, strict, mirror_check, min_size, workers,
           progress):
    report = Report()
    writer = _ShardWriter(out)
    seen: dict[str, str] = {}
    pixels_seen: dict[str, str] = {}
    channel_counts: dict[int, str] = {}
    jobs = ((name, data, resolution, transform, channels, min_size) for name, data in src.read_all())
    try:
        for name, digest, arr, own, error in _results(jobs, len(src.members), workers, progress):
            if error is not None:
                if strict:
                    where = posixpath.join(src.path, name)
                    raise DatasetError(f"{where}: {error} (--strict stops at the first bad file).")
                report.bad.append([name, error])
                continue
            if digest in seen:
                if strict:
                    raise DatasetError(f"{posixpath.join(src.path, name)}: duplicate of {seen[digest]} (--strict).")
                report.duplicates.append([name, seen[digest]])
                continue
            seen[digest] = name
            channel_counts.setdefault(own, name)
            label = None
            if label_set is not None:
                label = label_set.vectors.get(name)
                if label is None:
                    report.unlabelled.append(name)
                    if label_set.kind == "class":
                        continue  # a class-conditional image needs its class
                    label = np.zeros(label_set.dim, np.float32)
            if mirror_check:
                key = hashlib.sha256(arr.tobytes()).hexdigest()
                flipped = hashlib.sha256(np.ascontiguousarray(arr[:, ::-1]).tobytes()).hexdigest()
                if flipped in pixels_seen and flipped != key:
                    report.mirrored.append([name, pixels_seen[flipped]])
                pixels_seen.setdefault(key, name)
            writer.write(_example(arr, label))
            report.kept += 1
    finally:
        writer.close()
    if channels is None and len(channel_counts) > 1:
        raise DatasetError(
            f"{src.path}: mixed channel count: {channel_counts.get(1)} is grayscale but "
            f"{channel_counts.get(3)} is colour; pass --channels=3 (all RGB) or --channels=1 (all gray)."
        )
    if report.kept == 0:
        raise DatasetError(f"{src.path}: none of the {len(src.members)} files is a usable image.\n{report.summary()}")
    if label_set is not None:
        report.unknown_tags = label_set.unknown_tags
    info = dict(
        format=FORMAT, version=VERSION, resolution=resolution,
        channels=channels or next(iter(channel_counts)), num_images=report.kept,
        label_kind=label_set.kind if label_set else "none", label_dim=label_set.dim if label_set else 0,
        label_names=label_set.names if label_set else [], shards=writer.shards,
    )
    return info, report


def _write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def _swap_into_place(tmp: str, dest: str) -> None:
    """Renames the finished directory over `dest`, so readers never see a partial one."""
    if os.path.exists(dest):
        if not os.path.isfile(os.path.join(dest, "dataset.json")) and os.listdir(dest):
            raise DatasetError(f"{dest}: exists and is not a dataset; choose an empty or new --dest.")
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.old.", dir=os.path.dirname(os.path.abspath(dest)))
        os.rename(dest, os.path.join(old, "d"))
        os.rename(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, dest)
