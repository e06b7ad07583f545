import numpy as np
import pytest
import tensorflow as tf
from crafted import pattern
from PIL import Image

from tf_stylegan.data import DatasetError, build_dataset, load


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipe")
    src = root / "src"
    src.mkdir()
    for i in range(24):
        Image.fromarray(pattern((16, 16), seed=i)).save(src / f"{i:02d}.png")
    build_dataset(str(src), str(root / "ds"), 16, progress=False, log=lambda s: None)
    return str(root / "ds")


def take(ds, n):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n)]


def test_batches_are_float_nhwc_in_range(dataset):
    x, y = next(iter(load(dataset, batch_size=8)))
    assert x.shape == (8, 16, 16, 3) and x.dtype == tf.float32 and y.shape == (8, 0)
    assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0


def test_deterministic_for_a_seed(dataset):
    a = take(load(dataset, batch_size=8, seed=3), 5)
    b = take(load(dataset, batch_size=8, seed=3), 5)
    c = take(load(dataset, batch_size=8, seed=4), 5)
    for (xa, _), (xb, _) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
    assert not all(np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))


def test_mirror_flips_about_half(dataset):
    plain = np.concatenate([x for x, _ in take(load(dataset, 8, mirror=False, shuffle=False), 3)])
    flipped = np.concatenate([x for x, _ in take(load(dataset, 8, mirror=True, shuffle=False), 3)])
    same = [np.array_equal(p, f) for p, f in zip(plain, flipped)]
    mirrored = [np.array_equal(p[:, ::-1], f) for p, f in zip(plain, flipped)]
    assert all(s or m for s, m in zip(same, mirrored)) and 4 <= sum(mirrored) <= 20


def test_shards_per_replica(dataset):
    seen = []
    for pipeline in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline, num_replicas_in_sync=2)
        batches = take(load(dataset, batch_size=8, shuffle=False, repeat=False, mirror=False, input_context=ctx), 10)
        assert all(x.shape[0] == 4 for x, _ in batches)
        seen.append({x.tobytes() for b, _ in batches for x in b})
    assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == 24


def test_bundled_emoji(tmp_path):
    x, y = next(iter(load("bundled:emoji64", batch_size=16)))
    assert x.shape == (16, 64, 64, 3) and y.shape == (16, 14)
    assert np.all(y.numpy().sum(axis=1) == 3)  # a category, a skin tone and a gender each
    _, cat = next(iter(load("bundled:emoji64", batch_size=4, labels="category")))
    assert cat.shape == (4, 5)


def test_the_second_bundled_set_holds_the_same_emoji_by_another_artist():
    from tf_stylegan.data.bundled import bundled_names, load_arrays

    assert bundled_names() == ["emoji64", "fluent64"]
    noto, noto_tags, vocab = load_arrays("emoji64")
    fluent, fluent_tags, fluent_vocab = load_arrays("fluent64")
    assert fluent.shape == noto.shape == (1112, 64, 64, 3) and fluent.dtype == np.uint8
    np.testing.assert_array_equal(fluent_tags, noto_tags)
    assert fluent_vocab == vocab
    # On white, and not the same pictures: the mean absolute difference is large.
    assert np.all(fluent[:, 0, 0] == 255) and np.abs(fluent.astype(int) - noto).mean() > 20
    x, _ = next(iter(load("bundled:fluent64", batch_size=8)))
    assert x.shape == (8, 64, 64, 3) and -1 <= float(np.min(x)) and float(np.max(x)) <= 1


def test_missing_dataset_is_explained(tmp_path):
    with pytest.raises(DatasetError, match="no dataset.json"):
        load(str(tmp_path), batch_size=4)
