"""Training throughput (img/s) and peak memory, with all four phases at their intervals.

    .venv/bin/python bench/train.py [--res 32,64] [--precision fp32,bf16] [--cycles 1]

Each setting runs in its own process (so peak RSS is its own): StyleGAN2 with
channel_base 16384, channel_max 512, 8 mapping layers, batch 8, R1 every 16 and
path length every 4 steps. After compiling every phase combination it times
whole 16-step cycles (Gmain+Dmain each step, Greg 4x, Dreg 1x). Prints a JSON
line per setting and a JSON summary.

The roofline columns say how far a faster implementation could go on this
machine: `gflop_per_img` is TF's count of the floating-point work in one
cycle's step graphs (all four phase combinations, per image), `conv_peak_gflops`
the measured rate of a bare 3x3, 512-channel convolution at this resolution and
precision (the networks' dominant op). Comparisons with the official code are
measured in the same run by bench/peer.py, which also reports `bound_vs_peer`:
the conv peak over the official run's rate (its img/s times the same work),
the speed-up an implementation running every op at the conv peak would reach.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

NETS = dict(z_dim=512, w_dim=512, mapping_layers=8, channel_base=16384, channel_max=512)


def step_gflop_per_img(gan, res: int, batch: int = 8) -> float:
    """TF's float-op count of a 16-step cycle's step graphs, per image."""
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    spec = (tf.TensorSpec([batch, res, res, 3]), tf.TensorSpec([batch, 0]))
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    total = 0
    for step in range(16):
        graph = gan._compiled_step((gan.phases_at(step), None)).get_concrete_function(spec).graph
        total += model_analyzer.profile(graph, options=options).total_float_ops
    return total / (16 * batch) / 1e9


def conv_peak_gflops(res: int, precision: str, batch: int = 8, reps: int = 10) -> float:
    """The measured rate of a 3x3 conv with 512 channels in and out at res x res."""
    import tensorflow as tf

    dtype = tf.bfloat16 if precision == "bf16" else tf.float32
    x = tf.cast(tf.random.normal([batch, res, res, 512]), dtype)
    w = tf.cast(tf.random.normal([3, 3, 512, 512]), dtype)
    conv = tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
    conv(x, w).numpy()
    start = time.perf_counter()
    for _ in range(reps):
        conv(x, w).numpy()
    return 2 * 9 * 512 * 512 * batch * res * res * reps / (time.perf_counter() - start) / 1e9


def child(res: int, precision: str, cycles: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    from tf_stylegan.networks import Discriminator, Generator
    from tf_stylegan.training import StyleGAN2

    lowp = dict(lowp_dtype="mixed_bfloat16", num_fp16_res=int(np.log2(res))) if precision == "bf16" else {}
    G = Generator(img_resolution=res, **NETS, **lowp)
    D = Discriminator(img_resolution=res, channel_base=16384, channel_max=512, **lowp)
    gan = StyleGAN2(G, D, r1_gamma=10.0, g_reg_interval=4, d_reg_interval=16)
    gan.compile(g_lr=0.002, d_lr=0.002)
    images = np.random.RandomState(0).uniform(-1, 1, (64, res, res, 3)).astype(np.float32)
    it = iter(tf.data.Dataset.from_tensor_slices((images, np.zeros([64, 0], np.float32))).repeat().batch(8))
    train = gan.make_train_function()
    start = time.perf_counter()
    for _ in range(16):  # compiles all four phase combinations
        train(it)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(16 * cycles):
        logs = train(it)
    elapsed = time.perf_counter() - start
    assert all(np.isfinite(float(v)) for v in logs.values())
    ips = 16 * cycles * 8 / elapsed
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    work = step_gflop_per_img(gan, res)
    peak = conv_peak_gflops(res, precision)
    return dict(res=res, precision=precision, batch=8, img_per_s=round(ips, 2),
                sec_per_step=round(elapsed / (16 * cycles), 3), first_cycle_s=round(compile_s, 1),
                peak_rss_gb=round(rss_gb, 2),
                gflop_per_img=round(work, 1), achieved_gflops=round(ips * work, 1),
                conv_peak_gflops=round(peak, 1), efficiency_vs_conv_peak=round(ips * work / peak, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--res", default="32,64")
    parser.add_argument("--precision", default="fp32,bf16")
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.cycles)))
        return
    rows = []
    for res in [int(r) for r in args.res.split(",")]:
        for precision in args.precision.split(","):
            cmd = [sys.executable, __file__, "--child", str(res), precision, f"--cycles={args.cycles}"]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            rows.append(json.loads(out))
            print(out, flush=True)
    print(json.dumps(dict(benchmark="train", config=NETS, cpu_count=os.cpu_count(), machine=platform.machine(),
                          rows=rows)))


if __name__ == "__main__":
    main()
