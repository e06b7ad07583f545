"""Input-pipeline throughput at 64 px (img/s), from a built dataset and from the bundled set.

    .venv/bin/python bench/pipeline.py [--images 4096] [--batch 32] [--seconds 5]

Builds a dataset of random 64x64 PNGs with the dataset tool in a temporary
directory, then times `tf_stylegan.data.load` (cached, shuffled, mirrored,
prefetched) after one warm-up epoch. Prints one JSON object. The target is
>= 5,000 img/s on 2 cores, so that training is never input-bound.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tf_stylegan.data import build_dataset, load  # noqa: E402


def throughput(ds, batch: int, seconds: float, warmup_batches: int) -> float:
    it = iter(ds)
    for _ in range(warmup_batches):
        next(it)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(it)
        n += 1
    return n * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        rng = np.random.RandomState(0)
        for i in range(args.images):
            Image.fromarray(rng.randint(0, 256, (64, 64, 3), dtype=np.uint8)).save(os.path.join(src, f"{i:05d}.png"))
        start = time.perf_counter()
        build_dataset(src, os.path.join(tmp, "ds"), 64, progress=False, log=lambda s: None)
        build_s = time.perf_counter() - start
        warm = args.images // args.batch + 1  # one epoch fills the cache
        ds = load(os.path.join(tmp, "ds"), batch_size=args.batch, seed=0)
        rows["tfrecord_64px_img_per_s"] = round(throughput(ds, args.batch, args.seconds, warm), 1)
        rows["dataset_tool_img_per_s"] = round(args.images / build_s, 1)
    ds = load("bundled:emoji64", batch_size=args.batch, seed=0)
    rows["bundled_emoji64_img_per_s"] = round(throughput(ds, args.batch, args.seconds, 40), 1)
    print(json.dumps(dict(benchmark="input_pipeline", resolution=64, batch=args.batch, images=args.images,
                          cpu_count=os.cpu_count(), target_img_per_s=5000, **rows)))


if __name__ == "__main__":
    main()
