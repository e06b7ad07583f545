"""FID, KID and precision/recall against direct numpy/scipy computations and closed forms."""

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import cdist

from tf_stylegan.metrics import stats


def _random_cov(rng, d):
    a = rng.standard_normal([d, d])
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_closed_form_for_gaussians():
    # Commuting covariances (same eigenvectors): FID = |mu1-mu2|^2 + sum (sqrt(l1) - sqrt(l2))^2.
    rng = np.random.RandomState(0)
    d = 64
    q, _ = np.linalg.qr(rng.standard_normal([d, d]))
    l1, l2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    c1, c2 = (q * l1) @ q.T, (q * l2) @ q.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(l1) - np.sqrt(l2)) ** 2)
    assert stats.frechet_distance(mu1, c1, mu2, c2) == pytest.approx(expected, rel=1e-6)
    assert stats.frechet_distance(mu1, c1, mu1, c1) == pytest.approx(0, abs=1e-9)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.RandomState(1)
    d = 48
    c1, c2 = _random_cov(rng, d), _random_cov(rng, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    root = scipy.linalg.sqrtm(c1 @ c2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * root)
    assert stats.frechet_distance(mu1, c1, mu2, c2) == pytest.approx(expected, rel=1e-6)


def test_fid_of_samples_uses_biased_covariance():
    rng = np.random.RandomState(2)
    a, b = rng.standard_normal([500, 16]), rng.standard_normal([400, 16]) * 1.5 + 0.3
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False, bias=True), np.cov(b, rowvar=False, bias=True)
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
    assert stats.fid(a, b) == pytest.approx(expected, rel=1e-6)


def _kid_direct(real, gen, num_subsets, m, seed):
    """Unbiased MMD^2 written out with explicit kernel matrices and off-diagonal means."""
    rng = np.random.RandomState(seed)
    d = real.shape[1]

    def k(x, y):
        return (x @ y.T / d + 1) ** 3

    values = []
    for _ in range(num_subsets):
        x = gen[rng.choice(len(gen), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        off = ~np.eye(m, dtype=bool)
        values.append(k(x, x)[off].mean() + k(y, y)[off].mean() - 2 * k(x, y).mean())
    return np.mean(values)


def test_kid_matches_direct_mmd():
    rng = np.random.RandomState(3)
    real, gen = rng.standard_normal([300, 32]), rng.standard_normal([250, 32]) + 0.6
    got = stats.kid(real, gen, num_subsets=7, max_subset_size=100, seed=5)
    assert got == pytest.approx(_kid_direct(real, gen, 7, 100, 5), rel=1e-6)
    assert got > 0
    same = stats.kid(real, real, num_subsets=7, max_subset_size=100, seed=5)
    assert abs(same) < got / 10


def test_precision_recall_matches_brute_force():
    rng = np.random.RandomState(4)
    real, gen = rng.standard_normal([200, 8]), rng.standard_normal([150, 8]) * 1.3 + 0.4
    got = stats.precision_recall(real, gen, k=3, row_batch=64)

    def brute(manifold, probes):
        radii = np.sort(cdist(manifold, manifold), axis=1)[:, 3].astype(np.float16).astype(np.float64)
        return float(np.mean((cdist(probes, manifold) <= radii[None]).any(axis=1)))

    assert got["precision"] == pytest.approx(brute(real, gen), abs=1e-12)
    assert got["recall"] == pytest.approx(brute(gen, real), abs=1e-12)
    assert 0 < got["precision"] < 1 and 0 < got["recall"] < 1
    assert stats.precision_recall(real, real, k=3) == {"precision": 1.0, "recall": 1.0}


def test_nan_features_are_an_error():
    a = np.zeros([10, 4])
    b = np.ones([10, 4])
    b[7, 2] = np.nan
    with pytest.raises(stats.MetricError, match=r"generated features: 1 of 10 .*row 7"):
        stats.fid(a, b)


def test_too_few_samples():
    with pytest.raises(stats.MetricError, match="FID needs at least 2 real"):
        stats.fid(np.zeros([1, 4]), np.zeros([5, 4]))
    with pytest.raises(stats.MetricError, match="KID needs at least 2"):
        stats.kid(np.zeros([1, 4]), np.zeros([5, 4]))
    with pytest.raises(stats.MetricError, match="more than 3 samples"):
        stats.precision_recall(np.zeros([3, 4]), np.zeros([50, 4]))
    with pytest.raises(stats.MetricError, match=r"shape \[N, D\]"):
        stats.fid(np.zeros([0, 4]), np.zeros([5, 4]))
