"""The dataset tool against hostile sources and destinations: it reports, skips, and never destroys."""

import json
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest
from crafted import pattern
from PIL import Image

from tf_stylegan.data import DatasetError, build_dataset, load
from tf_stylegan.data.labels import LabelError
from tf_stylegan.files import MARKER, write_marker


def build(source, dest, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("log", lambda s: None)
    kw.setdefault("workers", 1)
    return build_dataset(str(source), str(dest), **kw)


def images(folder, n=3, size=16):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(pattern((size, size), seed=i)).save(folder / f"{i}.png")
    return folder


def test_dest_equal_to_or_inside_the_source_is_refused_and_nothing_is_touched(tmp_path):
    src = images(tmp_path / "ada_folder")
    (src / "dataset.json").write_text(json.dumps({"labels": [[f"{i}.png", i] for i in range(3)]}))
    before = sorted(os.listdir(src))
    for dest in (src, src / "out", src / "sub" / "deeper"):
        with pytest.raises(DatasetError, match="overlap"):
            build(src, dest, resolution=16)
    assert sorted(os.listdir(src)) == before
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


def test_only_our_own_builds_are_replaced(tmp_path):
    src = images(tmp_path / "src")
    other = images(tmp_path / "stylegan2_ada_set")  # someone else's dataset.json folder
    (other / "dataset.json").write_text(json.dumps({"labels": None}))
    with pytest.raises(DatasetError, match="not a dataset this tool built"):
        build(src, other, resolution=16)
    assert sorted(os.listdir(other)) == ["0.png", "1.png", "2.png", "dataset.json"]
    info, _ = build(src, tmp_path / "ds", resolution=16)
    assert json.load(open(tmp_path / "ds" / MARKER))["kind"] == "dataset"
    (src / "3.png").write_bytes((src / "0.png").read_bytes()[:-1] + b"x")  # a change: rebuilt in place
    build(src, tmp_path / "ds", resolution=16)
    # A build from before the marker existed (exactly our files, our format) is ours too.
    os.remove(tmp_path / "ds" / MARKER)
    (src / "4.png").write_bytes(b"junk")
    info, _ = build(src, tmp_path / "ds", resolution=16)
    assert os.path.isfile(tmp_path / "ds" / MARKER)


def test_stale_partial_folders_of_killed_builds_are_removed(tmp_path):
    src = images(tmp_path / "src")
    stale = tmp_path / ".ds.partial.x1"
    stale.mkdir()
    write_marker(str(stale), "dataset-partial", host=os.uname().nodename)
    text = json.loads((stale / MARKER).read_text())
    (stale / MARKER).write_text(json.dumps({**text, "pid": 2**22 + 12345}))  # a process that is gone
    alive = tmp_path / ".ds.partial.x2"  # a build still running (this process): kept
    alive.mkdir()
    write_marker(str(alive), "dataset-partial", host=os.uname().nodename)
    build(src, tmp_path / "ds", resolution=16)
    assert not stale.exists() and alive.exists()


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims width x height (a decompression bomb's shape)."""
    import io

    buf = io.BytesIO()
    Image.fromarray(pattern((8, 8))).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4: ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17: ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr: ihdr + 17])))
    return bytes(data)


def test_hostile_files_are_listed_and_the_build_goes_on(tmp_path):
    src = images(tmp_path / "src")
    (src / "bomb.png").write_bytes(_png_claiming(20000, 20000))
    (src / "big.png").write_bytes(_png_claiming(9000, 9000))
    os.symlink("/dev/zero", src / "zero.png")
    os.mkfifo(src / "fifo.png")
    (tmp_path / "outside.png").write_bytes((src / "0.png").read_bytes())
    os.symlink(tmp_path / "outside.png", src / "link_out.png")
    os.symlink(src / "1.png", src / "link_in.png")  # inside the source: read
    bad_name = os.fsencode(str(src)) + b"/bad\xffname.png"
    with open(bad_name, "wb") as f:
        f.write((src / "2.png").read_bytes())
    info, report = build(src, tmp_path / "ds", resolution=16)
    reasons = dict(report.bad)
    assert "decompression bomb" in reasons["bomb.png"]
    assert "too large to decode safely (9000x9000 pixels" in reasons["big.png"]
    assert "symlink to outside the source" in reasons["zero.png"]
    assert "not a regular file" in reasons["fifo.png"]
    assert "symlink to outside the source" in reasons["link_out.png"]
    assert "not valid UTF-8" in reasons["bad\\xffname.png"]
    assert info["num_images"] == 3 and [d[0] for d in report.duplicates] == ["link_in.png"]
    info, report = build(src, tmp_path / "ds2", resolution=16, follow_symlinks=True)
    assert "not a regular file" in dict(report.bad)["zero.png"]
    assert "link_out.png" in dict(report.duplicates)  # read now: a copy of 0.png


def test_zip_names_are_normalised(tmp_path):
    zpath = tmp_path / "faces.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for i, name in enumerate(["./a.png", "dir//b.png", "dir/../c.png", "../evil.png"]):
            png = tmp_path / f"{i}.png"
            Image.fromarray(pattern((16, 16), seed=i)).save(png)
            z.write(png, name)
    info, report = build(zpath, tmp_path / "ds", resolution=16)
    assert info["num_images"] == 3
    assert report.bad == [["../evil.png", "a path outside the archive's root"]]


def test_label_files_are_checked(tmp_path):
    src = images(tmp_path / "src")
    (tmp_path / "tags.txt").write_text("0.png: a, b\n1.png: c\n./0.png: d\n")
    with pytest.raises(LabelError, match=r"tags.txt: lines 1 and 3 both give the tags of '0.png'"):
        build(src, tmp_path / "ds", resolution=16, labels=str(tmp_path / "tags.txt"))
    (tmp_path / "dup.json").write_text(json.dumps({"labels": [["0.png", 1], ["1.png", 0], ["0.png", 2]]}))
    with pytest.raises(LabelError, match=r"labels\[0\] and labels\[2\] both label '0.png'"):
        build(src, tmp_path / "ds", resolution=16, labels=str(tmp_path / "dup.json"))
    (tmp_path / "big.json").write_text(json.dumps({"labels": [["0.png", 10**9]]}))
    with pytest.raises(LabelError, match=r"class 1000000000 is out of range"):
        build(src, tmp_path / "ds", resolution=16, labels=str(tmp_path / "big.json"))


def test_load_checks_the_shards_against_dataset_json(tmp_path):
    build(images(tmp_path / "src", n=4), tmp_path / "ds", resolution=16)
    meta = tmp_path / "ds" / "dataset.json"
    info = json.loads(meta.read_text())
    assert next(iter(load(str(tmp_path / "ds"), batch_size=2)))[0].shape == (2, 16, 16, 3)
    meta.write_text(json.dumps({**info, "resolution": 32}))  # says 32 px over 16 px shards
    with pytest.raises(DatasetError, match=r"records hold 768 bytes of pixels, but dataset.json says 32x32x3"):
        load(str(tmp_path / "ds"), batch_size=8)
    shards = [{**info["shards"][0], "count": 5}]
    meta.write_text(json.dumps({**info, "num_images": 5, "shards": shards}))
    with pytest.raises(DatasetError, match="5 records of this dataset take"):
        load(str(tmp_path / "ds"), batch_size=2)
    meta.write_text(json.dumps({**info, "shards": [{**info["shards"][0], "file": "../../etc/passwd"}]}))
    with pytest.raises(DatasetError, match="shard files are missing"):
        load(str(tmp_path / "ds"), batch_size=2)
    np.testing.assert_equal(info["num_images"], 4)
