"""Named metrics end to end: real Inception features of the bundled data and a tiny generator."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.images import to_uint8
from tf_stylegan.metrics import stats
from tf_stylegan.metrics.features import FeatureExtractor
from tf_stylegan.metrics.suite import Evaluator, parse_metric
from tf_stylegan.networks import Generator


@pytest.mark.parametrize("name, kind, num, k", [
    ("fid50k_full", "fid", 50000, 3), ("kid2k_full", "kid", 2000, 3), ("fid500_full", "fid", 500, 3),
    ("pr50k3_full", "pr", 50000, 3), ("pr500_5_full", "pr", 500, 5),
])
def test_parse_metric(name, kind, num, k):
    spec = parse_metric(name)
    assert (spec.kind, spec.num_gen, spec.k) == (kind, num, k)


def test_parse_conditional_accuracy():
    assert (parse_metric("cacc1k").kind, parse_metric("cacc1k").num_gen) == ("cacc", 1000)
    assert parse_metric("cacc500").num_gen == 500


def test_parse_ppl():
    spec = parse_metric("ppl2_wend")
    assert (spec.kind, spec.space, spec.sampling, spec.crop) == ("ppl", "w", "end", False)
    assert parse_metric("ppl_zfull").crop


@pytest.mark.parametrize("name", ["fid", "fid50k", "is50k", "pr500_full", "fid1_full", "fid50k3_full"])
def test_unknown_metric_names(name):
    with pytest.raises(stats.MetricError, match="metric"):
        parse_metric(name)


def test_fid_ranks_halves_below_shifted_and_blurred(inception_model):
    from tf_stylegan.data.bundled import load_arrays

    images = load_arrays("emoji64", "none")[0][:192]
    extract = FeatureExtractor(inception_model)
    a, b = extract(images[:96]), extract(images[96:])
    shifted = extract(np.clip(images[96:].astype(int) - 96, 0, 255).astype(np.uint8))  # colour shift
    blurred = extract(to_uint8(tf.nn.avg_pool2d(tf.cast(images[96:], tf.float32) / 127.5 - 1, 4, 1, "SAME")))
    halves, shift, blur = stats.fid(a, b), stats.fid(a, shifted), stats.fid(a, blurred)
    print(f"FID halves {halves:.1f}, colour-shifted {shift:.1f}, blurred {blur:.1f}")
    assert halves + 10 < min(shift, blur)  # 96 vs 96 images: FID's small-sample bias is ~150 here


def _tiny_g(c_dim=0):
    return Generator(z_dim=16, w_dim=16, c_dim=c_dim, img_resolution=16, mapping_layers=1,
                     channel_base=256, channel_max=16, noise_seed=0)


def test_evaluator_records_and_cache(inception_weights, tmp_path):
    G = _tiny_g()
    ev = Evaluator("bundled:emoji64", inception_weights, str(tmp_path), max_real=40, batch_size=20,
                   progress=False)
    records = ev.evaluate(G, ["fid40_full", "kid20_full", "pr40_3_full"], snapshot="g.keras")
    assert [r["metric"] for r in records] == ["fid40_full", "kid20_full", "pr40_3_full"]
    fid = records[0]["results"]["fid40_full"]
    assert 50 < fid < 1000  # an untrained G is far from the data
    assert records[1]["num_gen"] == 20 and records[0]["num_real"] == 40
    assert set(records[2]["results"]) == {"pr40_3_full_precision", "pr40_3_full_recall"}
    json.dumps(records)
    cached = os.listdir(tmp_path / "stats")
    assert len(cached) == 1
    again = Evaluator("bundled:emoji64", inception_weights, str(tmp_path), max_real=40, batch_size=20,
                      progress=False)
    np.testing.assert_array_equal(again.real()[0], ev.real()[0])
    assert again.evaluate(G, ["fid40_full"])[0]["results"]["fid40_full"] == fid


class _Replay:
    """A stand-in generator whose images are given ones, in order (to know the FID it must get)."""

    z_dim, c_dim = 8, 0

    def __init__(self, images_m11):
        self.images, self.img_resolution = tf.constant(images_m11), int(images_m11.shape[1])
        self.next = tf.Variable(0)

    def __call__(self, z, c, truncation_psi=1.0, noise_mode="random", training=False):
        n = tf.shape(z)[0]
        out = self.images[self.next:self.next + n]
        self.next.assign_add(n)
        return out


def test_reals_are_compared_at_the_generators_resolution(inception_weights):
    from tf_stylegan.data.bundled import load_arrays
    from tf_stylegan.metrics.features import real_features

    images = tf.cast(load_arrays("emoji64", "none")[0][:32], tf.float32) / 127.5 - 1
    box16 = tf.nn.avg_pool2d(images, 4, 4, "VALID")  # what a 16 px run on this 64 px set trains on
    ev = Evaluator("bundled:emoji64", inception_weights, None, max_real=32, batch_size=32, progress=False)
    np.testing.assert_allclose(ev.real(16)[0], ev.extractor(to_uint8(box16)), rtol=1e-4, atol=1e-4)
    # A generator that reproduces the 16 px reals scores 0; measured against the 64 px ones it would not.
    record = ev.evaluate(_Replay(box16.numpy()), ["fid32_full"])[0]
    fid = record["results"]["fid32_full"]
    assert abs(fid) < 1e-2, fid
    assert record["real_resolution"] == 16  # the record says which reals it was measured against
    assert stats.fid(ev.real()[0], ev.real(16)[0]) > 50
    for bad in (128, 48):
        with pytest.raises(stats.MetricError, match=f"bundled:emoji64: its images are 64 px and the generator's "
                                                    f"{bad} px"):
            real_features("bundled:emoji64", ev.extractor, 4, 4, progress=False, resolution=bad)


def test_conditional_generator_needs_matching_labels(inception_weights, tmp_path):
    ev = Evaluator("bundled:emoji64", inception_weights, None, max_real=8, batch_size=8, labels="category",
                   progress=False)
    with pytest.raises(stats.MetricError, match="c_dim is 3"):
        ev.evaluate(_tiny_g(c_dim=3), ["fid8_full"])


def test_ppl_refuses_without_lpips(inception_weights):
    ev = Evaluator("bundled:emoji64", inception_weights, None, progress=False)
    with pytest.raises(stats.MetricError, match="LPIPS"):
        ev.evaluate(_tiny_g(), ["ppl2_wend"])


def test_features_under_mirrored_strategy(inception_weights, tmp_path):
    out = tmp_path / "feats.npz"
    script = os.path.join(os.path.dirname(__file__), "dist_features.py")
    subprocess.run([sys.executable, script, inception_weights, str(out)], check=True, timeout=300)
    with np.load(out) as f:
        assert int(f["replicas"]) == 2
        np.testing.assert_allclose(f["mirrored"], f["single"], rtol=0, atol=1e-4)
