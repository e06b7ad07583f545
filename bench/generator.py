"""Generator inference throughput (img/s) across resolution, batch, dtype and modulation.

Each setting runs twice: "variables" (a tf.function that reads the Keras
variables, as in training) and "frozen" (`frozen_generator`, the weights
folded into the graph, as for generation and export). Prints a JSON line per
setting and one JSON summary: img/s, ms/batch, and the error of the image
against the float32 non-fused output of the same weights (max-abs and
relative RMS and PSNR over the image's range; bf16 keeps about 3 significant
digits). A mode counts as correct when its PSNR against float32 is >= 40 dB.
Comparisons with the official implementation are measured in the same run by
bench/peer.py.

    .venv/bin/python bench/generator.py [--seconds 3] [--res 32,64] [--batch 1,8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_stylegan.networks import Generator  # noqa: E402
from tf_stylegan.networks.inference import frozen_generator  # noqa: E402

BASE = dict(z_dim=512, w_dim=512, channel_base=16384, channel_max=512, mapping_layers=8)


def make_generator(res: int, dtype: str, fused: bool, weights=None) -> Generator:
    lowp = dict(lowp_dtype="mixed_bfloat16", num_fp16_res=int(np.log2(res))) if dtype == "bfloat16" else {}
    G = Generator(img_resolution=res, fused_modconv=fused, **BASE, **lowp)
    if weights is not None:
        G.set_weights(weights)
    return G


def throughput(G: Generator, batch: int, seconds: float, frozen: bool = False) -> tuple[float, np.ndarray]:
    z = tf.constant(np.random.RandomState(0).randn(batch, G.z_dim).astype(np.float32))
    if frozen:
        run = frozen_generator(G, batch_size=batch, noise_mode="const")
    else:
        run = tf.function(lambda z: G(z, None, noise_mode="const"))
    out = run(z).numpy()  # trace + warm up
    run(z)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run(z).numpy()
        n += 1
    elapsed = time.perf_counter() - start
    return n * batch / elapsed, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--res", default="32,64")
    parser.add_argument("--batch", default="1,8")
    args = parser.parse_args()
    rows = []
    for res in [int(r) for r in args.res.split(",")]:
        reference = make_generator(res, "float32", fused=False)
        weights = reference.get_weights()
        for batch in [int(b) for b in args.batch.split(",")]:
            _, ref_img = throughput(reference, batch, 0.0)
            for dtype in ("float32", "bfloat16"):
                for fused in (False, True):
                    G = make_generator(res, dtype, fused, weights)
                    for graph in ("variables", "frozen"):
                        ips, img = throughput(G, batch, args.seconds, frozen=graph == "frozen")
                        diff = img - ref_img
                        rel = np.sqrt(np.mean(diff**2) / np.mean(ref_img**2))
                        peak = ref_img.max() - ref_img.min()
                        psnr = 20 * np.log10(peak / max(np.sqrt(np.mean(diff**2)), 1e-12))
                        rows.append(dict(
                            res=res, batch=batch, dtype=dtype, graph=graph,
                            modulation="fused" if fused else "non-fused",
                            img_per_s=round(ips, 2), ms_per_batch=round(1000 * batch / ips, 1),
                            max_abs_err_vs_fp32=float(f"{np.abs(diff).max():.3g}"),
                            rel_rms_err_vs_fp32=float(f"{rel:.3g}"),
                            psnr_db_vs_fp32=round(float(min(psnr, 240.0)), 1),
                        ))
                        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps(dict(
        benchmark="generator_inference", config=BASE, cpu_count=os.cpu_count(),
        machine=platform.machine(), tensorflow=tf.__version__, rows=rows,
    )))


if __name__ == "__main__":
    main()
