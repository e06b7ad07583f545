"""The FID that a perfect generator below a dataset's resolution gets against the full-size reals.

    .venv/bin/python bench/fid_floor.py --inception=.cache/weights/fid_helper_default_1.pt

A 32 px network trained on a 64 px set learns the box-filtered reals. FID of
those against the 64 px originals (every image of the set, float32 Inception)
is what such a network would score if it were perfect, had the metric
compared it with the full-size reals, as it did before the metric compared at
G's resolution. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os

from tf_stylegan.tools._cli import import_tensorflow_quietly

import_tensorflow_quietly()

from tf_stylegan.data.pipeline import read_info  # noqa: E402
from tf_stylegan.metrics import inception, stats  # noqa: E402
from tf_stylegan.metrics.features import FeatureExtractor, real_features  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inception", required=True)
    parser.add_argument("--sets", default="fluent64,emoji64")
    parser.add_argument("--resolutions", default="32,16")
    parser.add_argument("--batch", type=int, default=64)
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
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
