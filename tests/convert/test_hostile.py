"""Hostile checkpoints, each loaded in a child process under a memory limit and a timeout.

Every case must end in one CheckpointError that names the file, within the
limits, with no side effect on the process and without running anything
from the file. The children are forked from a server that has already
imported the package, so a case costs milliseconds rather than an import.
"""

import multiprocessing
import os
import re
import resource

import pytest
from hostile import CASES, MARKER

EXTRA_MEMORY = 1 << 30  # a child may allocate 1 GiB beyond what the imports took
TIMEOUT_S = 30


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def _attempt(path: str, workdir: str, conn) -> None:
    """Runs in the child: load `path` under the memory limit, report the outcome and any side effect."""
    limit = _vm_size() + EXTRA_MEMORY
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.chdir(workdir)
    try:
        from tf_stylegan.convert import load

        load(path)
        outcome = ("no error", "")
    except BaseException as exc:  # noqa: BLE001  (the point is to see what escapes)
        outcome = (type(exc).__name__, str(exc)[:3000])
    import numpy as np

    from tf_stylegan.convert import safe_pickle

    side_effects = [f"EasyDict.{k} was set" for k in vars(safe_pickle.EasyDict) if k.startswith("__len")]
    if np.dtype("f4").byteorder != "=" or np.dtype("f4").isnative is False:
        side_effects.append("numpy's float32 dtype was changed")
    conn.send((outcome, side_effects))
    conn.close()


@pytest.fixture(scope="module")
def forkserver():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["numpy", "tf_stylegan.networks", "tf_stylegan.convert", "tf_stylegan.convert.loader"])
    return ctx


def run_case(ctx, path: str, workdir: str) -> tuple[tuple[str, str], list[str]]:
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_attempt, args=(path, workdir, child))
    proc.start()
    child.close()
    ready = parent.poll(TIMEOUT_S)
    if not ready:
        proc.kill()
        proc.join()
        return ("timeout", f"no answer within {TIMEOUT_S} s"), []
    try:
        result = parent.recv()
    except EOFError:
        proc.join()
        return (f"died with exit code {proc.exitcode}", ""), []
    proc.join()
    return result


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_checkpoint_is_refused_safely(tmp_path, forkserver, name):
    files, workdir = tmp_path / "files", tmp_path / "cwd"
    files.mkdir()
    workdir.mkdir()
    write, expected = CASES[name]
    write(str(files))
    (kind, message), side_effects = run_case(forkserver, str(files / name), str(workdir))
    assert kind == "CheckpointError", f"{name}: {kind}: {message}"
    assert name in message, message
    assert re.search(expected, message), message
    assert not side_effects, side_effects
    assert not (workdir / MARKER).exists() and not (files / MARKER).exists(), "code from the file ran"
