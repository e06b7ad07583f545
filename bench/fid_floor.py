"""The FID that a perfect generator below a dataset's resolution gets against the full-size reals.

    .venv/bin/python bench/fid_floor.py --inception=.cache/weights/fid_helper_default_1.pt

A 32 px network trained on a 64 px set learns the box-filtered reals. FID of
those against the 64 px originals (every image of the set, float32 Inception)
is what such a network would score if it were perfect, had the metric
compared it with the full-size reals, as it did before the metric compared at
G's resolution. Prints one JSON object.

--finite adds the floor that the harness's own setting puts under a generator
that samples the data's distribution without copying its images: FID of
--num_gen samples against all N reals (box-filtered to --finite_resolution).
Only N images exist, so it is measured on disjoint random subsets in the same
ratio (m reals against round(m * num_gen / N) others) for several m, and
extrapolated to m = N with FID = a + b / m (the fit's value at each m is printed
beside the measured mean: where the curve falls faster than 1 / m, as on the
bundled sets, the extrapolation is an upper estimate). A generator that replays
the reals (num_gen draws with replacement) is the other end: what copying scores.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from tf_stylegan.tools._cli import import_tensorflow_quietly

import_tensorflow_quietly()

from tf_stylegan.data.pipeline import read_info  # noqa: E402
from tf_stylegan.metrics import inception, stats  # noqa: E402
from tf_stylegan.metrics.features import FeatureExtractor, real_features  # noqa: E402


def finite_sample_floor(features: np.ndarray, num_gen: int, sizes: list[int], splits: int,
                        seed: int = 0) -> dict:
    """FID of `num_gen` samples of the data's distribution against all of `features`, extrapolated from
    disjoint subsets (m reals against m * num_gen / N others, `splits` random splits per m) by a + b / m."""
    n = len(features)
    ratio = num_gen / n
    rng = np.random.default_rng(seed)
    curve = {}
    for m in sizes:
        other = round(m * ratio)
        if m < 2 or other < 2 or m + other > n:
            raise ValueError(f"subset size {m}: {m} reals and {other} others do not fit in {n} images.")
        runs = []
        for _ in range(splits):
            order = rng.permutation(n)
            runs.append(stats.fid(features[order[:m]], features[order[m:m + other]]))
        curve[m] = runs
    inv = np.array([1.0 / m for m in sizes])
    means = np.array([np.mean(curve[m]) for m in sizes])
    b, a = np.polyfit(inv, means, 1)
    copies = [stats.fid(features, features[rng.integers(0, n, num_gen)]) for _ in range(splits)]
    return {
        "num_gen": num_gen, "reals": n, "splits": splits,
        "subsets": {str(m): {"others": round(m * ratio), "mean": round(float(np.mean(curve[m])), 2),
                             "std": round(float(np.std(curve[m], ddof=1)), 2) if splits > 1 else None,
                             "fit": round(float(a + b / m), 2)} for m in sizes},
        "fit": {"a": round(float(a), 2), "b": round(float(b), 1)},
        "generalising_floor": round(float(a + b / n), 1),
        "replaying_reals": round(float(np.mean(copies)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inception", required=True)
    parser.add_argument("--sets", default="fluent64,emoji64")
    parser.add_argument("--resolutions", default="32,16")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--finite", action="store_true", help="add the finite-sample floor of the harness's FID")
    parser.add_argument("--finite_resolution", type=int, default=32)
    parser.add_argument("--num_gen", type=int, default=2000)
    parser.add_argument("--sizes", default="100,150,200,250,300,350,397")
    parser.add_argument("--splits", type=int, default=6)
    args = parser.parse_args()
    extract = FeatureExtractor(inception.load(args.inception))
    out: dict = {"threads": os.cpu_count(), "fid": {}}
    for name in args.sets.split(","):
        data = f"bundled:{name}"
        full = real_features(data, extract, batch_size=args.batch, labels="none", progress=False)[0]
        out["fid"][name] = {"images": len(full), "size": read_info(data)["resolution"]}
        for res in (int(r) for r in args.resolutions.split(",")):
            shrunk = real_features(data, extract, batch_size=args.batch, labels="none", progress=False,
                                   resolution=res)[0]
            out["fid"][name][f"box{res}_vs_full"] = round(stats.fid(full, shrunk), 2)
            if args.finite and res == args.finite_resolution:
                sizes = [int(m) for m in args.sizes.split(",")]
                out["fid"][name][f"finite_box{res}"] = finite_sample_floor(shrunk, args.num_gen, sizes, args.splits)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
