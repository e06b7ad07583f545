"""FID per training minute on the bundled data: ADA vs DiffAugment vs no augmentation, in one run.

    .venv/bin/python bench/quality.py --minutes=20 --inception=.cache/weights/fid_helper_default_1.pt

Trains the preset (default cpu32, bfloat16) for --minutes of wall time per
variant, one after the other, then computes FID of G_ema (--num-gen samples,
truncation 1) against all real images of bundled:emoji64 with the FID
Inception. Prints one JSON object with FID, kimg and the final ADA p per
variant, and an untrained G's FID for scale; grids and networks stay in
--outdir/<variant>.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tf_stylegan.metrics.suite import Evaluator  # noqa: E402
from tf_stylegan.run import Run  # noqa: E402

VARIANTS = {"ada": "ada", "diffaugment": "color,translation,cutout", "none": ""}


def _late_statistics(stats_path: str, steps: int = 200) -> dict:
    """D's accuracy on reals and fakes over the last `steps` steps (how far D is ahead) and the largest p."""
    rows = [json.loads(line) for line in open(stats_path)]
    rows = [r for r in rows if "D_real_acc" in r]
    late = rows[-steps:]
    return {
        "late_D_real_acc": round(sum(r["D_real_acc"] for r in late) / len(late), 3),
        "late_D_fake_acc": round(sum(r["D_fake_acc"] for r in late) / len(late), 3),
        "ada_p_max": round(max(r.get("ada_p", 0.0) for r in rows), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--inception", required=True)
    parser.add_argument("--config", default="cpu32")
    parser.add_argument("--data", default="bundled:emoji64")
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--num-gen", type=int, default=2000)
    parser.add_argument("--variants", default="ada,diffaugment,none")
    parser.add_argument("--outdir", default="out/quality")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    evaluator = Evaluator(args.data, args.inception, os.path.join(args.outdir, "cache"), progress=False)
    fid_name = f"fid{args.num_gen}_full"
    out = {"config": args.config, "data": args.data, "precision": args.precision, "minutes": args.minutes,
           "num_gen": args.num_gen, "threads": os.cpu_count(), "variants": {}}
    for variant in args.variants.split(","):
        outdir = os.path.join(args.outdir, variant)
        keras.backend.clear_session()
        run = Run(dict(data=args.data, outdir=outdir, config=args.config, kimg=100000, precision=args.precision,
                       augment=VARIANTS[variant], minutes=args.minutes, snap=10000, checkpoint_every=1000,
                       progress=False, seed=args.seed))
        if "untrained_fid" not in out:
            out["untrained_fid"] = round(evaluator.evaluate(run.model.G_ema, [fid_name])[0]["results"][fid_name], 2)
        start = time.time()
        run.train()
        seconds = time.time() - start
        fid = evaluator.evaluate(run.model.G_ema, [fid_name])[0]["results"][fid_name]
        out["variants"][variant] = {
            "augment": VARIANTS[variant] or "none", "fid": round(fid, 2),
            "kimg": round(int(run.model.nimg.numpy()) / 1000, 2), "train_seconds": round(seconds, 1),
            "ada_p": round(float(run.model.ada_p.numpy()), 3), "grid": os.path.join(outdir, "grid.png"),
            **_late_statistics(os.path.join(outdir, "stats.jsonl")),
        }
        print(json.dumps({variant: out["variants"][variant]}), flush=True)
    if "ada" in out["variants"] and "none" in out["variants"]:
        out["fid_ratio_ada_vs_none"] = round(out["variants"]["ada"]["fid"] / out["variants"]["none"]["fid"], 3)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
