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

from tf_stylegan.metrics import conditional, inception, lpips, ppl, stats
from tf_stylegan.metrics.features import (
    FeatureExtractor,
    cached_real_features,
    dataset_labels,
    file_digest,
    generator_features,
)
from tf_stylegan.metrics.stats import MetricError

_NAME = re.compile(r"^(fid|kid|pr)(\d+)(k?)(?:_?(\d+))?_full$")
_CACC = re.compile(r"^cacc(\d+)(k?)$")
_PPL = re.compile(r"^ppl(2?)_([zw])(full|end)(?:_(\d+)(k?))?$")
KNOWN = ("fid50k_full, kid50k_full, pr50k3_full, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend, ppl2_wend "
         "(PPL counts as a suffix: ppl2_wend_2k), cacc1k (conditional accuracy)")


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # fid | kid | pr | ppl | cacc
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
    m = _CACC.match(name)
    if m:
        return MetricSpec(name, "cacc", int(m.group(1)) * (1000 if m.group(2) else 1))
    m = _PPL.match(name)
    if m:
        num = int(m.group(4)) * (1000 if m.group(5) else 1) if m.group(4) else 50000
        if num < 1:
            raise MetricError(f"metric {name!r}: needs at least one path.")
        return MetricSpec(name, "ppl", num, space=m.group(2), sampling=m.group(3), crop=not m.group(1))
    raise MetricError(f"unknown metric {name!r}; known metrics: {KNOWN} (the count may vary: fid2k_full).")


def needs_inception(metrics) -> bool:
    """Whether any of these metrics uses Inception features (FID, KID, precision/recall)."""
    return any(parse_metric(m).kind in ("fid", "kid", "pr") for m in metrics)


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
      lpips_paths: LPIPS-VGG16 weight files for PPL (see `metrics.lpips`).
    """

    def __init__(self, data: str, inception_path: str | None, cache_dir: str | None = None,
                 strategy: tf.distribute.Strategy | None = None, dtype: str = "float32",
                 batch_size: int = 64, max_real: int | None = None, labels: str = "tags",
                 seed: int = 0, progress: bool = True, lpips_paths: tuple[str, ...] | None = None):
        self.data, self.cache_dir, self.batch_size = data, cache_dir, batch_size
        self.lpips_paths = tuple(lpips_paths or ())
        self._lpips = None
        self.max_real, self.labels, self.seed, self.progress = max_real, labels, seed, progress
        self.inception_path, self.strategy, self.dtype = inception_path, strategy, dtype
        self._extractor: FeatureExtractor | None = None
        self._real: dict[int | None, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def extractor(self) -> FeatureExtractor:
        """The Inception feature extractor, loaded on first use (PPL alone does not need it)."""
        if self._extractor is None:
            if not self.inception_path:
                raise MetricError(
                    f"FID, KID and precision/recall need the Inception weights.\n{inception.WHERE_TO_GET}")
            scope = self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()
            with scope:
                self._extractor = FeatureExtractor(inception.load(self.inception_path, dtype=self.dtype),
                                                   self.strategy)
            self.network_id = file_digest(os.fspath(self.inception_path))
        return self._extractor

    def real(self, resolution: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Features and labels of the real images at `resolution` (None: the data's own)."""
        if resolution not in self._real:
            extractor = self.extractor
            self._real[resolution] = cached_real_features(
                self.data, extractor, self.network_id, self.cache_dir, self.max_real, self.batch_size, self.labels,
                self.progress, resolution)
        return self._real[resolution]

    def evaluate(self, G, metrics: list[str], snapshot: str | None = None,
                 truncation_psi: float = 1.0) -> list[dict]:
        """One JSON-ready record per metric. Generated features are shared between metrics."""
        specs = [parse_metric(m) for m in metrics]
        if any(spec.kind == "ppl" for spec in specs) and not self.lpips_paths:
            raise MetricError(
                "PPL needs the LPIPS-VGG16 distance; give its weights (--lpips=VGG16.pth,LIN.pth). No other "
                f"distance is substituted: the number would not be PPL.\n{lpips.WHERE_TO_GET}")
        records, all_gen = [], None
        gen_specs = [spec for spec in specs if spec.kind not in ("ppl", "cacc")]
        for spec in specs:
            start = time.time()
            real_resolution = None  # the resolution the reals were compared at, for the metrics that use them
            if spec.kind == "ppl":
                results, num_real, num_gen = {spec.name: self._ppl(G, spec)}, 0, spec.num_gen
            elif spec.kind == "cacc":
                results, num_real, num_gen = self._cacc(G, spec, truncation_psi), 0, spec.num_gen
            else:
                real_resolution = int(G.img_resolution)
                real_feats, real_labels = self.real(G.img_resolution)
                if all_gen is None:  # the same seeds make every smaller count a prefix of the largest
                    all_gen = generator_features(
                        G, self.extractor, max(s.num_gen for s in gen_specs), self.batch_size, truncation_psi,
                        real_labels, self.seed, progress=self.progress)
                gen = all_gen[:spec.num_gen]
                num_real, num_gen = len(real_feats), len(gen)
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
                timestamp=time.time(), num_real=num_real, num_gen=num_gen, real_resolution=real_resolution,
                feature_network=_FEATURES[spec.kind]))
        return records

    def _cacc(self, G, spec: MetricSpec, truncation_psi: float) -> dict[str, float]:
        from tf_stylegan.data.pipeline import load

        if getattr(self, "_classifier", None) is None:
            ds = load(self.data, 4096, mirror=False, shuffle=False, repeat=False, labels=self.labels,
                      drop_remainder=False)
            images, labels = zip(*[(((x.numpy() + 1) * 127.5).round(), y.numpy()) for x, y in ds])
            self._classifier = conditional.train_classifier(np.concatenate(images), np.concatenate(labels),
                                                            G.img_resolution, seed=self.seed)
        classifier, real_accuracy = self._classifier
        out = conditional.conditional_accuracy(G, classifier, dataset_labels(self.data, self.labels), spec.num_gen,
                                               truncation_psi=truncation_psi, seed=self.seed)
        return {f"{spec.name}": out["accuracy"], f"{spec.name}_chance": out["chance"],
                f"{spec.name}_real": real_accuracy}

    def _ppl(self, G, spec: MetricSpec) -> float:
        if self._lpips is None:
            self._lpips = lpips.load(*self.lpips_paths)
        labels = dataset_labels(self.data, self.labels) if G.c_dim else None
        distances = ppl.path_length_samples(
            G, self._lpips, spec.num_gen, spec.space, spec.sampling, spec.crop, batch_size=max(1, self.batch_size // 8),
            label_pool=labels, seed=self.seed, progress=self.progress)
        return ppl.filtered_mean(distances)


_FEATURES = {"cacc": "label classifier trained on the real labelled images",
             "fid": "inception-v3 pool3", "kid": "inception-v3 pool3",
             "pr": "inception-v3 pool3 (official PR uses VGG16 features)", "ppl": "lpips-vgg16"}

