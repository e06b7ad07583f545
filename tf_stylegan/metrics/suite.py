"""Named metrics (fid50k_full, kid50k_full, pr50k3_full, ppl_wend, ...) and their evaluation.

Names follow stylegan2-ada-pytorch; the sample count is part of the name and
may be any number (`fid2k_full`, `fid500_full`, `pr500_3_full`), so CPU users
can ask for less.
Results are JSON records in the official layout:
  {"results": {...}, "metric": ..., "total_time": ..., "total_time_str": ...,
   "num_gpus": ..., "snapshot_pkl": ..., "timestamp": ...}
plus "feature_network", which says which features were used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import time

import numpy as np
import tensorflow as tf

from tf_stylegan.metrics import inception, stats
from tf_stylegan.metrics.features import (
    FeatureExtractor,
    cached_real_features,
    file_digest,
    generator_features,
)
from tf_stylegan.metrics.stats import MetricError

_NAME = re.compile(r"^(fid|kid|pr)(\d+)(k?)(?:_?(\d+))?_full$")
_PPL = re.compile(r"^ppl(2?)_([zw])(full|end)$")
KNOWN = "fid50k_full, kid50k_full, pr50k3_full, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend, ppl2_wend"


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # fid | kid | pr | ppl
    num_gen: int
    k: int = 3  # precision/recall neighbourhood
    space: str = "w"  # ppl
    sampling: str = "end"  # ppl
    crop: bool = True  # ppl


def parse_metric(name: str) -> MetricSpec:
    """'fid50k_full' -> MetricSpec(kind='fid', num_gen=50000); unknown names raise with the list."""
    name = name.strip()
    m = _NAME.match(name)
    if m:
        kind, count, thousands, k = m.groups()
        num = int(count) * (1000 if thousands else 1)
        if kind == "pr":
            if not k:
                raise MetricError(f"metric {name!r}: precision/recall is named pr<N>k<K>_full or pr<N>_<K>_full, "
                                  "e.g. pr50k3_full, pr500_3_full.")
            return MetricSpec(name, kind, num, k=int(k))
        if k:
            raise MetricError(f"metric {name!r}: unknown; known metrics: {KNOWN}.")
        if num < 2:
            raise MetricError(f"metric {name!r}: needs at least 2 generated images.")
        return MetricSpec(name, kind, num)
    m = _PPL.match(name)
    if m:
        return MetricSpec(name, "ppl", 50000, space=m.group(2), sampling=m.group(3), crop=not m.group(1))
    raise MetricError(f"unknown metric {name!r}; known metrics: {KNOWN} (the count may vary: fid2k_full).")


def _time_str(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {(seconds // 60) % 60:02d}m {seconds % 60:02d}s"


class Evaluator:
    """Computes named metrics of generators against one dataset.

    Args:
      data: dataset directory or "bundled:NAME".
      inception_path: the FID Inception weights (see `inception.load`).
      cache_dir: where dataset features are cached (None: no cache).
      strategy: optional tf.distribute strategy for the feature network.
      dtype: "float32" or "mixed_bfloat16" for the feature network.
      max_real: cap on real images (None: all, the "_full" protocol).
      labels: label kind of bundled data used for conditional sampling.
    """

    def __init__(self, data: str, inception_path: str, cache_dir: str | None = None,
                 strategy: tf.distribute.Strategy | None = None, dtype: str = "float32",
                 batch_size: int = 64, max_real: int | None = None, labels: str = "tags",
                 seed: int = 0, progress: bool = True):
        self.data, self.cache_dir, self.batch_size = data, cache_dir, batch_size
        self.max_real, self.labels, self.seed, self.progress = max_real, labels, seed, progress
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            self.extractor = FeatureExtractor(inception.load(inception_path, dtype=dtype), strategy)
        self.network_id = file_digest(os.fspath(inception_path))
        self._real: tuple[np.ndarray, np.ndarray] | None = None

    def real(self) -> tuple[np.ndarray, np.ndarray]:
        if self._real is None:
            self._real = cached_real_features(self.data, self.extractor, self.network_id, self.cache_dir,
                                              self.max_real, self.batch_size, self.labels, self.progress)
        return self._real

    def evaluate(self, G, metrics: list[str], snapshot: str | None = None,
                 truncation_psi: float = 1.0) -> list[dict]:
        """One JSON-ready record per metric. Generated features are shared between metrics."""
        specs = [parse_metric(m) for m in metrics]
        for spec in specs:
            if spec.kind == "ppl":
                raise MetricError(
                    f"{spec.name}: PPL needs the LPIPS-VGG16 distance, and no LPIPS weights are supported "
                    "by this package yet. No other distance is substituted: the number would not be PPL.")
        records, all_gen = [], None
        for spec in specs:
            start = time.time()
            real_feats, real_labels = self.real()
            if all_gen is None:  # the same seeds make every smaller count a prefix of the largest
                all_gen = generator_features(
                    G, self.extractor, max(s.num_gen for s in specs), self.batch_size, truncation_psi,
                    real_labels, self.seed, progress=self.progress)
            gen = all_gen[:spec.num_gen]
            if spec.kind == "fid":
                results = {spec.name: stats.fid(real_feats, gen)}
            elif spec.kind == "kid":
                results = {spec.name: stats.kid(real_feats, gen, seed=self.seed)}
            else:
                pr = stats.precision_recall(real_feats, gen, k=spec.k)
                results = {f"{spec.name}_precision": pr["precision"], f"{spec.name}_recall": pr["recall"]}
            elapsed = time.time() - start
            records.append(dict(
                results=results, metric=spec.name, total_time=elapsed, total_time_str=_time_str(elapsed),
                num_gpus=len(tf.config.list_logical_devices("GPU")), snapshot_pkl=snapshot,
                timestamp=time.time(), num_real=len(real_feats), num_gen=len(gen),
                feature_network="inception-v3 pool3" + (" (official PR uses VGG16 features)"
                                                        if spec.kind == "pr" else "")))
        return records

