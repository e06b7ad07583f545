"""bench/fid_floor.py: the finite-sample floor compares disjoint subsets in the harness's ratio and
extrapolates a + b / m to all the reals."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import fid_floor  # noqa: E402


def test_finite_floor_fits_a_plus_b_over_m_on_disjoint_subsets(monkeypatch):
    n, num_gen = 120, 200
    features = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 3))  # row i is unique
    seen = []

    def fake_fid(real, gen):
        seen.append((len(real), len(gen)))
        if len(real) < n:  # a subset pair: no image on both sides
            assert not set(real[:, 0]) & set(gen[:, 0])
        return 3.0 + 100.0 / len(real)

    monkeypatch.setattr(fid_floor.stats, "fid", fake_fid)
    out = fid_floor.finite_sample_floor(features, num_gen, [10, 20, 40], splits=2)
    assert out["fit"] == {"a": 3.0, "b": 100.0}
    assert out["generalising_floor"] == round(3 + 100 / n, 1)
    assert out["subsets"]["40"]["others"] == round(40 * num_gen / n) == 67
    assert (40, 67) in seen and (n, num_gen) in seen  # the replaying generator: num_gen draws against all


def test_finite_floor_refuses_subsets_that_do_not_fit():
    with pytest.raises(ValueError, match="do not fit in 120 images"):
        fid_floor.finite_sample_floor(np.zeros((120, 3)), 200, [50], splits=1)
