"""What reading one untrusted file may cost: bytes, nesting depth, and how errors name places.

A checkpoint is written by a stranger. Every reader charges what it
allocates on the file's behalf (decompressed bytes, decoded storages,
tensors, the weights a network would need) to one `ReadLimits`, whose
budget defaults to a multiple of the file's size. Official files need well
under that multiple: their tensors are stored raw, and the largest expansion
(bfloat16 widened to float32, then copied into a tensor) is 5x. A file that
asks for more is refused before the memory is taken, with an error that says
how to raise the budget for a genuinely huge network.
"""

from __future__ import annotations

import os
import reprlib
from typing import NoReturn

from tf_stylegan.convert.errors import CheckpointError

BUDGET_FACTOR = 8
BUDGET_FLOOR = 64 << 20  # small files (configs, tiny networks) may still expand a little
MAX_DEPTH = 64  # official checkpoints nest about 10 levels deep
_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother, _SHOW.maxlong = 2, 200, 60, 40


def shown(value) -> str:
    """A short, bounded repr for error messages (a hostile value may be huge or deeply nested)."""
    try:
        return _SHOW.repr(value)
    except Exception:  # a stand-in whose repr fails still gets named
        return f"<{type(value).__name__}>"


def default_budget(path: str | os.PathLike) -> int:
    """The byte budget of reading `path`: BUDGET_FACTOR x its size + BUDGET_FLOOR."""
    return BUDGET_FACTOR * os.path.getsize(path) + BUDGET_FLOOR


class ReadLimits:
    """The budget of one read. `charge` before allocating; `fail` raises the one error type.

    Args:
      path: the file being read (named by every error).
      max_bytes: bytes the read may allocate; None = `default_budget(path)`.
    """

    def __init__(self, path: str | os.PathLike, max_bytes: int | None = None):
        self.path = os.fspath(path)
        if max_bytes is None:
            max_bytes = default_budget(self.path) if os.path.exists(self.path) else BUDGET_FLOOR
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
            raise ValueError(f"max_bytes must be a positive integer, got {max_bytes!r}.")
        self.max_bytes = max_bytes
        self.used = 0

    def charge(self, nbytes: int, where: str) -> None:
        """Counts `nbytes` against the budget; refuses the file when it would overflow."""
        nbytes = int(nbytes)
        if nbytes < 0:
            self.fail(where, f"a negative size ({nbytes}).")
        if self.used + nbytes > self.max_bytes:
            self.fail(
                where,
                f"reading the file would take more than {self.max_bytes:,} bytes "
                f"({self.used:,} used, {nbytes:,} more asked); a file this small cannot hold a "
                "network that large, so it is malformed or hostile. For a genuinely huge network, "
                "raise the budget: load(path, max_bytes=...) or the tools' --max_read_gb.",
            )
        self.used += nbytes

    def check_depth(self, depth: int, where: str) -> None:
        if depth > MAX_DEPTH:
            self.fail(where, f"the structure nests deeper than {MAX_DEPTH} levels.")

    def fail(self, where: str, message: str) -> NoReturn:
        raise CheckpointError(self.path, f"{where}: {message}" if where else message)


class TreeWalk:
    """Visits the nodes of a loaded structure as a tree: each node once, no cycles, bounded depth.

    Checkpoints are trees of modules. A node reached a second time (a cycle,
    or a node shared between two places, which would make a flattened name
    list grow exponentially) is refused, naming both places.
    """

    def __init__(self, limits: ReadLimits):
        self.limits = limits
        self._seen: dict[int, str] = {}
        self._keep: list = []  # keeps visited nodes alive, so that ids are not reused

    def enter(self, node, where: str, depth: int) -> None:
        self.limits.check_depth(depth, where)
        first = self._seen.get(id(node))
        if first is not None:
            self.limits.fail(where, f"the same object is also at {first} (a shared or cyclic reference); "
                                    "checkpoints hold a tree of modules.")
        self._seen[id(node)] = where
        self._keep.append(node)
