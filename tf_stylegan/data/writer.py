"""The dataset builder: a folder or zip of images (+ labels) -> sharded TFRecords.

Output directory:
  dataset.json   metadata: resolution, channels, count, label kind/dim/names, source hash
  report.json    every file left out (and why), duplicates, unlabelled images, unknown tags
  shard-*.tfrecord  tf.train.Examples: raw uint8 HWC pixels ("image"), float labels ("label")

The build is idempotent (an up-to-date destination is left alone) and atomic
(it is assembled in a hidden folder beside the destination and renamed into
place). It only ever replaces a folder it built itself, which carries its
marker; a build that was killed leaves a hidden partial folder that the next
build removes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import posixpath
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator

import numpy as np

from tf_stylegan.data.images import EXTENSIONS, TRANSFORMS, BadImage, load_image
from tf_stylegan.data.labels import Labels, normalise, read_labels
from tf_stylegan.files import is_ours, partial_folder, replace_folder, within, write_marker

FORMAT = "tf_stylegan-dataset"
VERSION = 1
SHARD_SIZE = 2048
AUTO_LABEL_FILE = "dataset.json"
KIND = "dataset"  # our marker's kind
MAX_FILE_BYTES = 256 << 20  # one source image


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
    """A folder or a zip of images, listed in a stable (sorted) order, read as untrusted input.

    Only regular files are read (a FIFO or a device named .png would block or
    never end), symlinks that leave the source only when asked, and at most
    MAX_FILE_BYTES of each. Entries that cannot be read this way are listed in
    `skipped` with the reason, and the build goes on without them.
    """

    def __init__(self, path: str, follow_symlinks: bool = False):
        self.path = path
        self.follow_symlinks = follow_symlinks
        if not os.path.exists(path):
            raise DatasetError(f"{path}: the source does not exist; give a folder or a .zip of images.")
        self.is_zip = os.path.isfile(path) and zipfile.is_zipfile(path)
        if os.path.isfile(path) and not self.is_zip:
            raise DatasetError(f"{path}: not a folder or a zip archive.")
        self.skipped: list[list[str]] = []
        self._origin: dict[str, str] = {}  # normalised name -> member name or relative path
        self.members = self._list_zip() if self.is_zip else self._list_folder()
        if not self.members:
            raise DatasetError(f"{path}: no images found (looked for {', '.join(sorted(EXTENSIONS))})."
                               + (f" Skipped: {self.skipped[:5]}" if self.skipped else ""))

    def _add(self, name: str, origin: str) -> None:
        if name in self._origin:
            self.skipped.append([origin, f"the same path as {self._origin[name]!r} once normalised"])
        else:
            self._origin[name] = origin

    def _list_zip(self) -> list[str]:
        try:
            with zipfile.ZipFile(self.path) as z:
                infos = [i for i in z.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise DatasetError(f"{self.path}: not a readable zip archive ({exc}).") from None
        for info in infos:
            if os.path.splitext(info.filename)[1].lower() not in EXTENSIONS:
                continue
            name = normalise(info.filename)
            if name.startswith(("/", "../")) or name == "..":
                self.skipped.append([info.filename, "a path outside the archive's root"])
            elif info.file_size > MAX_FILE_BYTES:
                self.skipped.append([name, f"oversized: {info.file_size} bytes (at most {MAX_FILE_BYTES})"])
            elif info.flag_bits & 0x1:
                self.skipped.append([name, "encrypted"])
            else:
                self._add(name, info.filename)
        return sorted(self._origin)

    def _list_folder(self) -> list[str]:
        for root, dirs, files in os.walk(self.path):
            dirs.sort()
            for d in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                rel = os.path.relpath(os.path.join(root, d), self.path)
                self.skipped.append([_printable(rel), "a symlink to a folder: not followed"])
            for f in files:
                full = os.path.join(root, f)
                rel = os.path.relpath(full, self.path)
                if os.path.splitext(f)[1].lower() not in EXTENSIONS:
                    continue
                reason = self._unreadable(full, rel)
                if reason:
                    self.skipped.append([_printable(rel), reason])
                else:
                    self._add(normalise(rel), rel)
        return sorted(self._origin)

    def _unreadable(self, full: str, rel: str) -> str | None:
        """Why a listed file must not be read, or None."""
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            return "the file name is not valid UTF-8; rename it"
        if os.path.islink(full) and not self.follow_symlinks and not within(full, self.path):
            return "a symlink to outside the source (--follow_symlinks reads it)"
        try:
            st = os.stat(full)
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file (a FIFO, device or socket)"
        if st.st_size > MAX_FILE_BYTES:
            return f"oversized: {st.st_size} bytes (at most {MAX_FILE_BYTES})"
        return None

    def read_all(self) -> Iterator[tuple[str, bytes | None, str | None]]:
        """(name, bytes, None), or (name, None, why it could not be read), for every member."""
        if self.is_zip:
            with zipfile.ZipFile(self.path) as z:
                for name in self.members:
                    try:
                        with z.open(self._origin[name]) as f:
                            data = f.read(MAX_FILE_BYTES + 1)
                        yield (name, data, None) if len(data) <= MAX_FILE_BYTES else (name, None, "oversized")
                    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                        yield name, None, f"cannot be read from the zip ({exc})"
        else:
            for name in self.members:
                try:
                    yield name, _read_regular(os.path.join(self.path, self._origin[name])), None
                except (OSError, ValueError) as exc:
                    yield name, None, str(exc)

    def auto_labels(self) -> str | None:
        """A stylegan2-ada style dataset.json at the source's root, extracted if zipped."""
        if not self.is_zip:
            candidate = os.path.join(self.path, AUTO_LABEL_FILE)
            return candidate if os.path.isfile(candidate) else None
        with zipfile.ZipFile(self.path) as z:
            if AUTO_LABEL_FILE not in z.namelist():
                return None
            fd, tmp = tempfile.mkstemp(suffix=".json")
            with os.fdopen(fd, "wb") as f, z.open(AUTO_LABEL_FILE) as member:
                f.write(member.read(MAX_FILE_BYTES))
            return tmp


def _printable(name: str) -> str:
    """A file name as text, with undecodable bytes shown as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _read_regular(path: str) -> bytes:
    """At most MAX_FILE_BYTES of a regular file; opening never blocks (a FIFO swapped in is refused)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file (a FIFO, device or socket)")
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"oversized: more than {MAX_FILE_BYTES} bytes")
    return data


def _work(job):
    name, data, read_error, resolution, transform, channels, min_size = job
    if read_error is not None:
        return name, None, None, 0, read_error
    digest = hashlib.sha256(data).hexdigest()
    try:
        arr, own = load_image(data, resolution, transform, channels, min_size)
        return name, digest, arr, own, None
    except BadImage as exc:
        return name, digest, None, 0, str(exc)
    except Exception as exc:  # a decoder failing in a way we did not foresee: this file only, with the reason
        return name, digest, None, 0, f"cannot be decoded ({type(exc).__name__}: {exc})"


def _fingerprint(source: Source, settings: dict, labels_path: str | None) -> str:
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name, data, error in source.read_all():
        h.update(name.encode() + b"\0" + (hashlib.sha256(data).digest() if data is not None else error.encode()))
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
    follow_symlinks: bool = False,
) -> tuple[dict, Report]:
    """Builds (or confirms up to date) the dataset at `dest`; returns (info, report).

    Args:
      source: folder or .zip of images (searched recursively).
      dest: output directory (built beside it, then renamed into place).
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
      follow_symlinks: also read symlinks that point outside the source.

    `dest` must not be (or lie inside) the source, and must be new, empty or an
    earlier build of this tool (it carries our marker); nothing else is replaced.
    """
    if resolution < 4 or resolution & (resolution - 1):
        raise DatasetError(f"--resolution={resolution} is not a power of two >= 4 (e.g. 64, 128, 256).")
    if transform not in TRANSFORMS:
        raise DatasetError(f"--transform={transform!r}: choose one of {', '.join(TRANSFORMS)}.")
    if channels not in (1, 3, None):
        raise DatasetError(f"channels={channels!r}: use 1, 3 or None (keep the sources').")
    check_places(source, dest)
    src = Source(source, follow_symlinks)
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
    if _is_our_build(dest):
        info = json.load(open(os.path.join(dest, "dataset.json")))
        if info.get("source", {}).get("hash") == fingerprint:
            log(f"{dest} is up to date ({info['num_images']} images).")
            report = Report(**json.load(open(os.path.join(dest, "report.json"))))
            return info, report

    tmp = partial_folder(dest, KIND)
    try:
        out = os.path.join(tmp, "d")
        os.mkdir(out)
        info, report = _write(src, out, label_set, resolution, transform, channels, strict, mirror_check,
                              min_size, workers or os.cpu_count() or 1, progress)
        info["source"] = {"path": os.path.abspath(source), "hash": fingerprint, "files": len(src.members),
                          "labels": os.path.abspath(labels_path) if labels_path else None}
        info["transform"] = transform
        _write_json(os.path.join(out, "dataset.json"), info)
        _write_json(os.path.join(out, "report.json"), dataclasses.asdict(report))
        write_marker(out, KIND)
        check_places(source, dest)  # again: the destination may have changed during the build
        replace_folder(out, dest)
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
    if strict and src.skipped:
        name, reason = src.skipped[0]
        raise DatasetError(f"{posixpath.join(src.path, name)}: {reason} (--strict stops at the first bad file).")
    report.bad.extend(src.skipped)
    jobs = ((name, data, error, resolution, transform, channels, min_size) for name, data, error in src.read_all())
    try:
        for name, digest, arr, own, error in _results(jobs, len(src.members), workers, progress):
            if error is not None:
                if strict:
                    where = posixpath.join(src.path, name)
                    raise DatasetError(f"{where}: {error} (--strict stops at the first bad file).")
                report.bad.append([name, error])
                continue
            if digest in seen and digest is not None:
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


def _is_our_build(dest: str) -> bool:
    """A folder this tool wrote: it carries our marker, or (built before the marker existed) it holds
    exactly our files with our format in dataset.json."""
    if is_ours(dest, KIND):
        return True
    try:
        names = os.listdir(dest)
        info = json.load(open(os.path.join(dest, "dataset.json")))
    except (OSError, ValueError):
        return False
    ours = all(n in ("dataset.json", "report.json") or (n.startswith("shard-") and n.endswith(".tfrecord"))
               for n in names)
    return ours and isinstance(info, dict) and info.get("format") == FORMAT


def check_places(source: str, dest: str) -> None:
    """The destination may be written: not the source or inside it, and new, empty or an earlier build."""
    if within(dest, source) or (os.path.exists(dest) and within(source, dest)):
        raise DatasetError(f"--dest={dest} and --source={source} overlap; the dataset must be written outside "
                           "the source images, which are never modified.")
    if os.path.lexists(dest) and not (os.path.isdir(dest) and (not os.listdir(dest) or _is_our_build(dest))):
        raise DatasetError(f"--dest={dest}: exists and is not a dataset this tool built (nothing in it was "
                           "changed); choose a new or empty folder.")
