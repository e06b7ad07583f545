"""Atomic file writes: a crash or kill never leaves a half-written file."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import socket
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path beside `path`; renames it over `path` on success.

    The temporary name keeps the extension, since some writers (Keras, PIL)
    choose the format from it.
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.", suffix=os.path.splitext(path)[1])
    os.close(fd)
    umask = os.umask(0)  # mkstemp makes 0600 files; give the result the permissions open() would
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_model_atomic(model, path: str) -> None:
    """`model.save(path)` (a .keras file), atomically."""
    if not path.endswith(".keras"):
        raise ValueError(f"{path}: Keras model files must end in .keras.")
    with atomic_path(path) as tmp:
        model.save(tmp)


# ----------------------------------------------------------------------------- places we may write

MARKER = ".tf_stylegan.json"  # inside every folder a tool creates: {"kind": ..., "pid": ...}


class PlaceError(ValueError):
    """A tool was asked to write where it could destroy something it did not create."""


def read_marker(folder: str) -> dict | None:
    """The marker of a folder we created, or None (absent, unreadable or not ours)."""
    import json

    try:
        with open(os.path.join(folder, MARKER)) as f:
            marker = json.load(f)
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("kind"), str) else None


def write_marker(folder: str, kind: str, **extra) -> None:
    """Marks `folder` as created by this package, for a tool of `kind` ("dataset", "saved_model", ...)."""
    import json

    with open(os.path.join(folder, MARKER), "w") as f:
        json.dump({"kind": kind, "pid": os.getpid(), **extra}, f)


def is_ours(folder: str, kind: str) -> bool:
    marker = read_marker(folder)
    return marker is not None and marker["kind"] == kind


def within(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies inside it (symlinks resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output_folder(path: str, kind: str, overwrite: bool = False) -> bool:
    """Checks that a tool may write the folder `path`; returns whether an earlier one of ours is replaced.

    Allowed: a new or empty folder, or (with `overwrite`) a folder that carries
    our marker of the same `kind`. Anything else is refused, so a tool can
    never delete a user's data: `--out=.` or a folder of other files fails.
    """
    if not os.path.lexists(path):
        return False
    if not os.path.isdir(path) or os.path.islink(path):
        raise PlaceError(f"{path}: exists and is not a folder; choose a new or empty folder.")
    if not os.listdir(path):
        return False
    if is_ours(path, kind):
        if overwrite:
            return True
        raise PlaceError(f"{path}: holds an earlier {kind.replace('_', ' ')} of this package; "
                         "allow overwriting it (--overwrite), or choose a new folder.")
    raise PlaceError(f"{path}: exists and holds files this tool did not write, so it will not replace them. "
                     "Choose a new or empty folder.")


def replace_folder(tmp: str, path: str) -> None:
    """Moves the finished folder `tmp` to `path`, replacing an empty folder or one `check_output_folder`
    allowed. The old one is renamed aside first, so `path` is never half-written."""
    if os.path.isdir(path) and not os.listdir(path):
        os.rmdir(path)
    if not os.path.lexists(path):
        os.rename(tmp, path)
        return
    aside = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old.", dir=os.path.dirname(os.path.abspath(path)))
    os.rename(path, os.path.join(aside, "old"))
    os.rename(tmp, path)
    import shutil

    shutil.rmtree(aside, ignore_errors=True)


def partial_folder(path: str, kind: str) -> str:
    """A new hidden folder beside `path` to build into, marked as ours; stale ones of killed builds are removed.

    A partial folder whose marker names a process that no longer exists was
    left by a build that was killed: it is ours, and nobody will finish it.
    """
    parent = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(parent, exist_ok=True)
    prefix = f".{os.path.basename(path)}.partial."
    for name in os.listdir(parent):
        stale = os.path.join(parent, name)
        marker = read_marker(stale) if name.startswith(prefix) else None
        if (marker and marker["kind"] == f"{kind}-partial" and marker.get("host") == socket.gethostname()
                and not _alive(marker.get("pid"))):
            import shutil

            shutil.rmtree(stale, ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700 would outlive the rename: give the folder os.makedirs' mode
    write_marker(tmp, f"{kind}-partial", host=socket.gethostname())
    return tmp


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _alive(pid) -> bool:
    if type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_CKPT = re.compile(r"ckpt-(\d+)\.index")


def checkpoint_steps(directory: str) -> list[int]:
    """The numbers N of the ckpt-N checkpoints in `directory`, ascending (by their index files)."""
    steps = []
    for path in glob.glob(os.path.join(glob.escape(directory), "ckpt-*.index")):
        m = _CKPT.fullmatch(os.path.basename(path))
        if m:
            steps.append(int(m.group(1)))
    return sorted(steps)
