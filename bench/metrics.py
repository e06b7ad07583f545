"""FID Inception throughput (float32 vs bfloat16) and FID sanity figures on the bundled data.

    .venv/bin/python bench/metrics.py --inception=.cache/weights/fid_helper_default_1.pt

Prints one JSON object:
  * img/s of feature extraction at batch 64 (64x64 inputs resized to 299) in
    float32 and mixed_bfloat16, and the speed-up;
  * the FID error of bfloat16 features: FID(first half, second half) and
    FID(data, blurred data) computed from each precision's features;
  * FID between the two halves A and B of bundled:emoji64, and between A and a
    colour-shifted, a translated and a blurred copy of B (float32): the
    degraded copies must score worse than the clean half.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_stylegan.data.bundled import load_arrays  # noqa: E402
from tf_stylegan.images import to_uint8  # noqa: E402
from tf_stylegan.metrics import inception, stats  # noqa: E402
from tf_stylegan.metrics.features import FeatureExtractor  # noqa: E402


def features(extract: FeatureExtractor, images: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([extract(images[i:i + batch]) for i in range(0, len(images), batch)])


def throughput(extract: FeatureExtractor, images: np.ndarray, batch: int, batches: int) -> float:
    extract(images[:batch])  # warm-up (tracing)
    start = time.perf_counter()
    for i in range(batches):
        extract(images[(i * batch) % (len(images) - batch):][:batch])
    return batches * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inception", required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4)
    args = parser.parse_args()

    images = load_arrays("emoji64", "none")[0]
    half = len(images) // 2
    blurred = to_uint8(tf.nn.avg_pool2d(tf.cast(images, tf.float32) / 127.5 - 1, 4, 1, "SAME")).numpy()
    out: dict = {"device": "cpu", "threads": os.cpu_count(), "batch": args.batch, "images": len(images)}
    feats = {}
    for name, dtype in (("float32", "float32"), ("bfloat16", "mixed_bfloat16")):
        extract = FeatureExtractor(inception.load(args.inception, dtype=dtype))
        out[f"img_per_s_{name}"] = round(throughput(extract, images, args.batch, args.batches), 2)
        feats[name] = (features(extract, images, args.batch), features(extract, blurred, args.batch))
    out["bf16_speedup"] = round(out["img_per_s_bfloat16"] / out["img_per_s_float32"], 2)
    for name, (real, blur) in feats.items():
        out[f"fid_halves_{name}"] = round(stats.fid(real[:half], real[half:]), 3)
        out[f"fid_blurred_{name}"] = round(stats.fid(real, blur), 3)
    out["bf16_fid_error_halves"] = round(out["fid_halves_bfloat16"] - out["fid_halves_float32"], 3)
    out["bf16_fid_error_blurred"] = round(out["fid_blurred_bfloat16"] - out["fid_blurred_float32"], 3)
    extract = FeatureExtractor(inception.load(args.inception))
    real = feats["float32"][0]
    a = real[:half]
    copies = {"colour_shift_48": np.clip(images[half:].astype(int) - 48, 0, 255).astype(np.uint8),
              "translate_8px": np.roll(images[half:], 8, axis=2), "blur_4px": blurred[half:]}
    for name, copy in copies.items():
        out[f"fid_half_vs_{name}_half"] = round(stats.fid(a, features(extract, copy, args.batch)), 3)
    out["ordered_as_expected"] = all(out[f"fid_half_vs_{n}_half"] > out["fid_halves_float32"] for n in copies)
    out["fid_real_vs_itself"] = round(stats.fid(real, real), 6)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
