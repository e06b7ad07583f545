"""Where a training step of a small preset spends its time (default: cpu32, bf16, on bundled:emoji64).

    .venv/bin/python bench/profile.py [--config cpu32] [--cycles 2] [--json docs/bench_profile.json]

Three views of the same model and data, after a warm-up cycle:
  * phases: the plain Gmain + Dmain step, and the same step with each lazy
    phase (Greg, Dreg) added, each timed alone (median of repeats); a lazy
    phase costs the difference when it runs, and that over its interval per
    step;
  * ops: one cycle traced with TensorFlow's profiler; the op time (summed over
    threads) per op type, and per part of the model (G, D, the augmentation
    pipe, the optimizers, the rest), with the share of the total;
  * convs: the rate of the convolutions (GFLOP/s) against a bare 3x3
    convolution of the same width at the same precision, measured here, to see
    how far the small convolutions sit from the machine's peak.
Prints one JSON object and writes it to --json.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_stylegan.run import Run  # noqa: E402
from tf_stylegan.run.families import data_source  # noqa: E402

# Parts of the model by name scope (the augmentation first: its ops sit inside D's calls).
PARTS = (("ada", re.compile(r"(^|/)ada(_\d+)?/")), ("optimizer", re.compile(r"adam|optimizer", re.I)),
         ("G", re.compile(r"generator|synthesis|mapping")), ("D", re.compile(r"discriminator")))
WRAPPERS = ("Run", "Process", "Execute")  # executor and function events around the ops, not ops


def part_of(name: str) -> str:
    return next((part for part, pattern in PARTS if pattern.search(name)), "other")


def time_keys(model, iterator, keys, repeats: int) -> dict:
    """Median seconds per step of each compiled step key, timed alone (the model's counters move on)."""
    out = {}
    for key in keys:
        step = model._compiled_step(key)
        step(next(iterator))  # trace outside the timing
        times = []
        for _ in range(repeats):
            data = next(iterator)
            start = time.perf_counter()
            float(step(data)["loss/G"])
            times.append(time.perf_counter() - start)
        out[key] = float(np.median(times))
    return out


def trace_ops(train, iterator, steps: int) -> tuple[dict, float]:
    """{(op type, part): summed microseconds} of `steps` steps under the profiler, and their wall seconds."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    logdir = tempfile.mkdtemp(prefix="profile-")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    for _ in range(steps):
        logs = train(iterator)
    float(logs["loss/G"])
    wall = time.perf_counter() - start
    tf.profiler.experimental.stop()
    (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    totals: dict = collections.Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" not in name or "::" in name or name.startswith("__inference"):
                    continue
                op_name, op_type = name.rsplit(":", 1)
                if op_type in WRAPPERS or not (op_type[:1].isupper() or op_type.startswith("_")):
                    continue
                totals[(op_type, part_of(op_name))] += event.duration_ps / 1e6
    return totals, wall


def conv_peak(width: int, res: int, batch: int, dtype) -> float:
    """GFLOP/s of a bare 3x3 conv, width -> width channels, at this resolution and precision."""
    x = tf.random.normal([batch, res, res, width], dtype=tf.float32)
    w = tf.random.normal([3, 3, width, width], dtype=tf.float32)
    x, w = tf.cast(x, dtype), tf.cast(w, dtype)
    conv = tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
    conv(x, w)
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < 1.0:
        out = conv(x, w)
        repeats += 1
    float(tf.reduce_sum(tf.cast(out, tf.float32)))
    return 2 * batch * res * res * 9 * width * width * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="cpu32")
    parser.add_argument("--data", default="bundled:emoji64")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--ada_p", type=float,
                        help="ADA's p during the profile, fixed (default 0.2; the pipe's cost grows with p)")
    parser.add_argument("--json", default=os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs",
                                                       "bench_profile.json"))
    args = parser.parse_args()
    outdir = tempfile.mkdtemp(prefix="profile-run-")
    run = Run(dict(data=args.data, outdir=os.path.join(outdir, "run"), config=args.config, kimg=1e6,
                   progress=False, precision=args.precision))
    model, opts = run.model, run.opts
    if model.ada is None and args.ada_p is not None:
        parser.error(f"--ada_p: config {args.config!r} trains without ADA.")
    if model.ada is not None:
        args.ada_p = 0.2 if args.ada_p is None else args.ada_p
        model.ada.p.assign(args.ada_p)
        model.ada.controller = None  # p stays where it is set
    iterator = data_source(opts, run.info, model, run.strategy, run.preset.resolution)()
    cycle = int(np.lcm.reduce([p.interval for p in model.phases]))
    every_step = [p for p in model.phases if p.interval == 1]
    lazy = [p for p in model.phases if p.interval > 1]
    # The plain step, and the plain step with each lazy phase added: their difference is that phase's cost.
    keys = [(tuple(p.name for p in model.phases if p in every_step or p is extra), None) for extra in [None] + lazy]
    train = model.make_train_function()
    for _ in range(cycle):  # warm-up: every key traced once
        train(iterator)

    start = time.perf_counter()
    for _ in range(cycle * args.cycles):
        logs = train(iterator)
    float(logs["loss/G"])
    step_s = (time.perf_counter() - start) / (cycle * args.cycles)
    batch = int(opts["batch"])

    per_key = time_keys(model, iterator, keys, repeats=max(9, args.cycles * 8))
    base = per_key[keys[0]]
    phases = {"+".join(k[0]): round(v * 1000, 1) for k, v in per_key.items()}
    extra = {}
    for phase, key in zip(lazy, keys[1:]):
        extra[phase.name] = {"ms_when_run": round((per_key[key] - base) * 1000, 1),
                             "ms_per_step": round((per_key[key] - base) * 1000 / phase.interval, 1)}

    totals, wall = trace_ops(train, iterator, cycle)
    total_us = sum(totals.values())
    by_type, by_part = collections.Counter(), collections.Counter()
    for (op_type, part), us in totals.items():
        by_type[op_type] += us
        by_part[part] += us
    conv_us = sum(us for (op_type, _), us in totals.items() if "Conv2D" in op_type)

    widths = sorted({int(v.shape[-1]) for v in model.G.synthesis.trainable_variables if len(v.shape) == 4})
    dtype = tf.bfloat16 if opts["precision"] == "bf16" else tf.float32
    peaks = {f"{w}ch_{r}px": round(conv_peak(w, r, batch, dtype), 1)
             for w in widths[-1:] for r in (8, 16, 32) if r <= run.preset.resolution}
    out = {
        "config": args.config, "precision": opts["precision"], "batch": batch, "threads": os.cpu_count(),
        "ada_p": None if model.ada is None else args.ada_p,
        "cycle_steps": cycle, "ms_per_step": round(step_s * 1000, 1), "img_per_s": round(batch / step_s, 1),
        "phases_ms": phases, "lazy_phases": extra,
        "traced_cycle_wall_s": round(wall, 2), "op_time_s_summed_over_threads": round(total_us / 1e6, 2),
        "by_part": {k: {"s": round(v / 1e6, 2), "share": round(v / total_us, 3)} for k, v in by_part.most_common()},
        "by_op_type": {k: {"s": round(v / 1e6, 3), "share": round(v / total_us, 3)}
                       for k, v in by_type.most_common(15)},
        "conv_share": round(conv_us / total_us, 3),
        "bare_conv_gflops": peaks,
    }
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
