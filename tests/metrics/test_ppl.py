"""Perceptual path length: the mechanics, and known values."""

import numpy as np
import pytest
import tensorflow as tf
from test_lpips import LIN, random_vgg16

from tf_stylegan.metrics import lpips, ppl
from tf_stylegan.metrics.stats import MetricError
from tf_stylegan.metrics.suite import Evaluator
from tf_stylegan.networks import Generator


@pytest.fixture(scope="module")
def embed_paths(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("ppl") / "vgg.npz")
    lpips.save_weights(random_vgg16(0), path)
    return (path, LIN)


def _tiny_g():
    return Generator(z_dim=16, w_dim=16, img_resolution=32, mapping_layers=1, channel_base=512, channel_max=32,
                     noise_seed=0)



def test_crop_is_the_official_face_window():
    img = np.arange(64 * 64, dtype=np.float32).reshape(1, 64, 64, 1)
    out = ppl.crop_and_resize(tf.constant(img), crop=True).numpy()
    np.testing.assert_array_equal(out, img[:, 24:56, 16:48])
    big = tf.ones([1, 512, 512, 3])
    assert ppl.crop_and_resize(big, crop=False).shape == (1, 256, 256, 3)


def test_filtered_mean_drops_the_tails():
    d = np.concatenate([np.full(98, 1.0), [1000.0, -5.0]])
    lo, hi = np.percentile(d, 1, method="lower"), np.percentile(d, 99, method="higher")
    assert ppl.filtered_mean(d) == pytest.approx(d[(d >= lo) & (d <= hi)].mean())
    with pytest.raises(MetricError, match="NaN"):
        ppl.filtered_mean(np.array([1.0, np.nan]))


def test_constant_w_gives_zero_path_length_so_pairs_share_noise(embed_paths):
    G = _tiny_g()
    for v in G.mapping.trainable_variables:  # every z maps to the same w
        if "kernel" in v.path or "weight" in v.path:
            v.assign(tf.zeros_like(v))
    noise = [layer for layer in G.synthesis._flatten_layers() if hasattr(layer, "noise_const")]
    for layer in noise:  # noise that shows: a pair that did not share it would differ
        layer.noise_strength.assign(1.0)
    before = [layer.noise_const.numpy() for layer in noise]
    d = ppl.path_length_samples(G, lpips.load(*embed_paths), 6, space="w", sampling="full", batch_size=3)
    np.testing.assert_array_equal(d, np.zeros(6))
    after = [layer.noise_const.numpy() for layer in noise]
    for x, y in zip(before, after):  # the stored noise maps are restored
        np.testing.assert_array_equal(x, y)


def test_path_lengths_positive_and_reproducible(embed_paths):
    G = _tiny_g()
    embed = lpips.load(*embed_paths)
    for space in ("z", "w"):
        a = ppl.path_length_samples(G, embed, 4, space=space, sampling="full", batch_size=2, seed=3)
        b = ppl.path_length_samples(G, embed, 4, space=space, sampling="full", batch_size=2, seed=3)
        np.testing.assert_array_equal(a, b)
        assert np.all(a > 0) and np.all(np.isfinite(a))


def test_evaluator_ppl_record(embed_paths):
    ev = Evaluator("bundled:emoji64", None, None, batch_size=16, progress=False, lpips_paths=embed_paths)
    record = ev.evaluate(_tiny_g(), ["ppl2_wend_6"])[0]
    assert record["num_gen"] == 6 and record["results"]["ppl2_wend_6"] > 0
    assert record["feature_network"] == "lpips-vgg16"
    with pytest.raises(MetricError, match="Inception"):
        ev.evaluate(_tiny_g(), ["fid10_full"])


