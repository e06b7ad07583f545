"""FID, KID and precision/recall from feature arrays, computed as the official code does.

Everything here is numpy in float64 on [N, D] features; the feature networks
live in `inception.py` and the sampling in `features.py`.
"""

from __future__ import annotations

import numpy as np


class MetricError(ValueError):
    """A metric cannot be computed from what it was given (and says why)."""


def check_features(features: np.ndarray, what: str) -> np.ndarray:
    """Float64 [N, D] features; NaN/Inf or a wrong rank is an error naming `what`."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] == 0:
        raise MetricError(f"{what}: expected features of shape [N, D] with N > 0, got {features.shape}.")
    bad = ~np.all(np.isfinite(features), axis=1)
    if bad.any():
        raise MetricError(
            f"{what}: {int(bad.sum())} of {len(features)} feature rows hold NaN or Inf (first at row "
            f"{int(np.argmax(bad))}). The images were probably NaN: check the generator's output.")
    return features


def mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (normalised by N, as stylegan2-ada-pytorch's FeatureStats)."""
    features = check_features(features, "mean_cov")
    mu = features.mean(axis=0)
    cov = features.T @ features / len(features) - np.outer(mu, mu)
    return mu, cov


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)).

    tr((C1 C2)^(1/2)) is computed as the sum of square roots of the
    eigenvalues of C1^(1/2) C2 C1^(1/2), which is symmetric: the same value as
    the real part of scipy's sqrtm, without its instability on the
    rank-deficient covariances of small sample counts.
    """
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    root1 = _psd_sqrt(np.asarray(cov1, np.float64))
    inner = root1 @ np.asarray(cov2, np.float64) @ root1
    trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)))
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt)


def fid(real: np.ndarray, gen: np.ndarray) -> float:
    """FID between two feature sets (at least 2 samples each, for a covariance)."""
    real, gen = check_features(real, "real features"), check_features(gen, "generated features")
    if min(len(real), len(gen)) < 2:
        raise MetricError(f"FID needs at least 2 real and 2 generated images, got {len(real)} and {len(gen)}.")
    return frechet_distance(*mean_cov(real), *mean_cov(gen))


def kid(real: np.ndarray, gen: np.ndarray, num_subsets: int = 100, max_subset_size: int = 1000,
        seed: int = 0) -> float:
    """Kernel Inception Distance: the official unbiased MMD^2 with the cubic
    polynomial kernel, averaged over random subsets (seeded here)."""
    real, gen = check_features(real, "real features"), check_features(gen, "generated features")
    n = real.shape[1]
    m = min(len(real), len(gen), max_subset_size)
    if m < 2:
        raise MetricError(f"KID needs at least 2 real and 2 generated samples, got {len(real)} and {len(gen)}.")
    rng = np.random.RandomState(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = gen[rng.choice(len(gen), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        total += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(total / num_subsets / m)


def _distances(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    sq = (rows * rows).sum(1)[:, None] + (cols * cols).sum(1)[None, :] - 2 * rows @ cols.T
    return np.sqrt(np.clip(sq, 0, None))


def precision_recall(real: np.ndarray, gen: np.ndarray, k: int = 3, row_batch: int = 4096) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al.) with k-NN manifolds.

    As the official code: each manifold point's radius is the distance to its
    k-th nearest neighbour (itself excluded), stored at float16 precision; a
    probe is inside when it lies within the radius of some manifold point.
    """
    real, gen = check_features(real, "real features"), check_features(gen, "generated features")
    if min(len(real), len(gen)) <= k:
        raise MetricError(f"precision/recall with k={k} needs more than {k} samples on each side, "
                          f"got {len(real)} real and {len(gen)} generated.")
    out = {}
    for name, manifold, probes in (("precision", real, gen), ("recall", gen, real)):
        radii = np.concatenate([
            np.partition(_distances(manifold[i:i + row_batch], manifold), k, axis=1)[:, k]
            for i in range(0, len(manifold), row_batch)])
        radii = radii.astype(np.float16).astype(np.float64)
        inside = np.concatenate([
            (_distances(probes[i:i + row_batch], manifold) <= radii[None, :]).any(axis=1)
            for i in range(0, len(probes), row_batch)])
        out[name] = float(inside.mean())
    return out
