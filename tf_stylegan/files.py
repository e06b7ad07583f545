"""Atomic file writes: a crash or kill never leaves a half-written file."""

from __future__ import annotations

import contextlib
import os
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
