"""The dataset builder on a folder of crafted files, labels, and bad input."""

import json
import os
import zipfile

import numpy as np
import pytest
from crafted import BAD, DUPLICATE, GOOD, pattern, write_crafted
from PIL import Image

from tf_stylegan.data import DatasetError, build_dataset, load
from tf_stylegan.data.labels import LabelError


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    write_crafted(str(folder))
    return str(folder)


def build(source, dest, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("log", lambda s: None)
    return build_dataset(str(source), str(dest), **kw)


def images_of(dest, n):
    ds = load(str(dest), batch_size=n, mirror=False, shuffle=False, repeat=False)
    images, labels = next(iter(ds))
    return np.round((images.numpy() + 1) * 127.5).astype(np.uint8), labels.numpy()


def test_every_good_file_kept_and_every_bad_one_reported(crafted, tmp_path):
    info, report = build(crafted, tmp_path / "ds", resolution=32)
    assert report.kept == len(GOOD) == info["num_images"]
    reasons = dict(report.bad)
    assert set(reasons) == set(BAD)
    for name, words in BAD.items():
        assert words in reasons[name], (name, reasons[name])
    assert report.duplicates == [list(DUPLICATE)] or report.duplicates == [list(DUPLICATE[::-1])]
    saved = json.load(open(tmp_path / "ds" / "report.json"))
    assert {b[0] for b in saved["bad"]} == set(BAD)
    assert info["channels"] == 3 and info["resolution"] == 32


def test_conversions_of_modes_and_orientation(crafted, tmp_path):
    build(crafted, tmp_path / "ds", resolution=32)
    images, _ = images_of(tmp_path / "ds", len(GOOD))
    by_name = dict(zip(sorted(GOOD), images))
    gray = by_name["gray16.png"].astype(int)
    assert np.all(gray[..., 0] == gray[..., 1]) and gray.max() > 200  # 16-bit scaled to 8-bit
    rgba = by_name["rgba.png"]
    assert np.all(rgba[4:-4, 2:12] >= 250)  # transparent half composited on white
    upright = by_name["exif_rotated.jpg"].astype(int)
    assert upright[16, 4, 0] > 200 and upright[16, 4, 2] < 60  # left is red again
    assert upright[16, 28, 2] > 200 and upright[16, 28, 0] < 60  # right is blue


def test_strict_stops_at_the_first_bad_file(crafted, tmp_path):
    with pytest.raises(DatasetError, match=r"(duplicate|empty|not an image|too small|truncated).*--strict"):
        build(crafted, tmp_path / "ds", resolution=32, strict=True)
    assert not os.path.exists(tmp_path / "ds")


def test_round_trip_is_bit_identical(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    originals = [pattern((32, 32), seed=s) for s in range(5)]
    for i, arr in enumerate(originals):
        Image.fromarray(arr).save(src / f"{i}.png")
    build(src, tmp_path / "ds", resolution=32)
    images, _ = images_of(tmp_path / "ds", 5)
    np.testing.assert_array_equal(images, np.stack(originals))


def test_zip_source_and_class_labels(tmp_path):
    zpath = tmp_path / "faces.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for i in range(4):
            png = tmp_path / f"{i}.png"
            Image.fromarray(pattern((16, 16), seed=i)).save(png)
            z.write(png, f"img/{i}.png")
        z.writestr("dataset.json", json.dumps({"labels": [[f"img/{i}.png", i % 3] for i in range(3)]}))
    info, report = build(zpath, tmp_path / "ds", resolution=16)
    assert info["label_kind"] == "class" and info["label_dim"] == 3
    assert report.unlabelled == ["img/3.png"] and info["num_images"] == 3  # a class image needs its class
    _, labels = images_of(tmp_path / "ds", 3)
    np.testing.assert_array_equal(labels, np.eye(3))


def test_tags_with_vocabulary(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        Image.fromarray(pattern((16, 16), seed=i)).save(src / f"{i}.png")
    (tmp_path / "vocab.txt").write_text("blonde_hair\nblue_eyes\nlong_hair\n")
    (tmp_path / "tags.txt").write_text("0.png: blonde_hair, blue_eyes\n1.png\tlong_hair sparkles\n")
    info, report = build(src, tmp_path / "ds", resolution=16, labels=str(tmp_path / "tags.txt"),
                         tag_vocab=str(tmp_path / "vocab.txt"))
    assert info["label_kind"] == "tags" and info["label_names"] == ["blonde_hair", "blue_eyes", "long_hair"]
    assert report.unknown_tags == {"sparkles": 1} and report.unlabelled == ["2.png"]
    _, labels = images_of(tmp_path / "ds", 3)
    np.testing.assert_array_equal(labels, [[1, 1, 0], [0, 0, 1], [0, 0, 0]])


def test_idempotent_and_atomic(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(pattern((16, 16))).save(src / "a.png")
    build(src, tmp_path / "ds", resolution=16)
    stamp = os.stat(tmp_path / "ds" / "dataset.json").st_mtime_ns
    messages = []
    build(src, tmp_path / "ds", resolution=16, log=messages.append)
    assert "up to date" in messages[0] and os.stat(tmp_path / "ds" / "dataset.json").st_mtime_ns == stamp
    (src / "b.png").write_bytes(b"")  # a change, but a build that fails...
    (src / "c.png").write_bytes(b"junk")
    with pytest.raises(DatasetError):
        build(src, tmp_path / "ds", resolution=16, strict=True)
    assert json.load(open(tmp_path / "ds" / "dataset.json"))["num_images"] == 1  # ...leaves the old one whole
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # and no temporary directory


def test_bad_input_gets_clear_errors(crafted, tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        build(tmp_path / "nowhere", tmp_path / "ds", resolution=32)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="no images found"):
        build(tmp_path / "empty", tmp_path / "ds", resolution=32)
    with pytest.raises(DatasetError, match="not a power of two"):
        build(crafted, tmp_path / "ds", resolution=48)
    with pytest.raises(LabelError, match="labels file not found"):
        build(crafted, tmp_path / "ds", resolution=32, labels=str(tmp_path / "missing.json"))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(LabelError, match="broken.json: not a JSON object"):
        build(crafted, tmp_path / "ds", resolution=32, labels=str(tmp_path / "broken.json"))
    (tmp_path / "extra.json").write_text(json.dumps({"labels": [["rgb.png", 0], ["ghost.png", 1]]}))
    with pytest.raises(DatasetError, match="label count mismatch: 1 of its 2 entries"):
        build(crafted, tmp_path / "ds", resolution=32, labels=str(tmp_path / "extra.json"))
    with pytest.raises(DatasetError, match="mixed channel count"):
        build(crafted, tmp_path / "ds", resolution=32, channels=None)
    assert not os.path.exists(tmp_path / "ds")


def test_mirror_check_reports_mirrored_pairs(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    arr = pattern((16, 16), seed=5)
    Image.fromarray(arr).save(src / "a.png")
    Image.fromarray(arr[:, ::-1]).save(src / "b.png")
    Image.fromarray(pattern((16, 16), seed=6)).save(src / "c.png")
    _, report = build(src, tmp_path / "ds", resolution=16, mirror_check=True)
    assert report.mirrored == [["b.png", "a.png"]] and report.kept == 3
