"""Property-based fuzzing of the unpickler and the torch readers: whatever the bytes, only CheckpointError.

A fixed list of crafted files only catches the attacks someone thought of
(FUZZ_EXAMPLES=5000 runs a longer campaign than the suite's 150 per test).
Here hypothesis writes random pickles and mutates the official fixtures at
their opcodes; a reader may accept the result or refuse it with a
CheckpointError, and nothing else (another exception type, a hang or a
crash of this process) is allowed.
"""

import os
import pickletools

import pytest
from conftest import data_path
from hostile import Storage, dumps, legacy_pt, tensor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tf_stylegan.convert import CheckpointError
from tf_stylegan.convert.limits import ReadLimits
from tf_stylegan.convert.loader import read_parts
from tf_stylegan.convert.safe_pickle import safe_load
from tf_stylegan.convert.torch_tensors import torch_globals

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
OPCODES = sorted({op.code.encode("latin1") for op in pickletools.opcodes})


def only_checkpoint_errors(read) -> None:
    try:
        read()
    except CheckpointError:
        pass


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(OPCODES), st.binary(max_size=9)), max_size=60), st.integers(2, 5))
def test_random_opcode_streams(parts, protocol):
    data = bytes([0x80, protocol]) + b"".join(parts) + b"."
    limits = ReadLimits("fuzz.pkl", 1 << 24)
    only_checkpoint_errors(lambda: safe_load(data, "fuzz.pkl", torch_globals("fuzz.pkl", limits), limits=limits))


def _opcode_positions(data: bytes) -> list[int]:
    positions = []
    try:
        for _, _, pos in pickletools.genops(data):
            positions.append(pos)
    except ValueError:
        pass
    return positions


def small_legacy_pt(folder) -> str:
    s = Storage("0", bytes(range(64)), 16)
    legacy_pt(folder, "small_legacy.pt", {"g_ema": {"w": tensor(s, 2, [2, 3], [4, 1]), "again": [s, s]}}, [s])
    return os.path.join(folder, "small_legacy.pt")


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("fuzz"))
    files = {name: open(data_path(name), "rb").read() for name in ("tf1_small.pkl", "ada_small.pkl")}
    files["small_legacy.pt"] = open(small_legacy_pt(folder), "rb").read()
    return {name: (data, _opcode_positions(data) or [0]) for name, data in files.items()}


@FUZZ
@given(st.sampled_from(["tf1_small.pkl", "ada_small.pkl", "small_legacy.pt"]),
       st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=6),
       st.one_of(st.none(), st.integers(0, 10**9)))
def test_mutated_pickles_at_their_opcodes(tmp_path, originals, name, edits, cut):
    data, positions = originals[name]
    data = bytearray(data)
    for where, value in edits:
        pos = positions[where % len(positions)] + (where // len(positions)) % 3
        if pos < len(data):
            data[pos] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path / name
    path.write_bytes(bytes(data))
    only_checkpoint_errors(lambda: read_parts(str(path), ReadLimits(path)))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=6),
       st.one_of(st.none(), st.integers(0, 10**9)))
def test_mutated_torch_zip(tmp_path, edits, cut):
    data = bytearray(open(data_path("rosinality_small.pt"), "rb").read())
    for where, value in edits:  # data.pkl is stored first, the central directory last
        data[where % 20_000 if where % 2 else len(data) - 1 - where % 14_000] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path / "mutated.pt"
    path.write_bytes(bytes(data))
    only_checkpoint_errors(lambda: read_parts(str(path), ReadLimits(path)))


def test_the_unmutated_files_are_read(originals, tmp_path):
    for name, (data, _) in originals.items():
        path = tmp_path / name
        path.write_bytes(data)
        if name.endswith(".pkl"):
            assert set(read_parts(str(path), ReadLimits(path))) == {"G", "D", "G_ema"}
    assert dumps(1)  # the helper pickler works
