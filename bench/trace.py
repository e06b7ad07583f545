"""What tracing a preset's compiled train steps costs, with AutoGraph on and off.

    .venv/bin/python bench/trace.py [--config cpu32] [--repeats 2] [--json docs/bench_trace.json]

A run compiles one step per key (the phases due, the progressive stage), and a
short run or a test pays each trace before its first step. For each mode this
builds the preset on bundled:emoji64 in a fresh process (so that nothing
traced is shared), times the first call of every key in one regularisation
cycle (the trace and one step), then four more cycles untraced. The package
compiles without AutoGraph ("off"); "on" is TensorFlow's default, forced here
for the comparison. Prints one JSON object and writes it to --json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(config: str, autograph: bool) -> dict:
    """One process's figures: first-call seconds per key, and the untraced step's median ms."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if autograph:
        function = tf.function

        def with_autograph(*args, **kwargs):
            kwargs["autograph"] = True
            return function(*args, **kwargs)

        tf.function = with_autograph  # this process only: measure what TensorFlow's default costs
    from tf_stylegan.run import Run

    with tempfile.TemporaryDirectory(prefix="trace-") as outdir:
        return _time_steps(Run(dict(data="bundled:emoji64", outdir=os.path.join(outdir, "run"), config=config,
                                    kimg=1e6, progress=False)))


def _time_steps(run) -> dict:
    from tf_stylegan.run.families import data_source

    model = run.model
    iterator = data_source(run.opts, run.info, model, run.strategy, run.preset.resolution)()
    # Families without lazy phases (progan, dcgan) have one key per stage: a cycle is one step.
    cycle = math.lcm(*[p.interval for p in getattr(model, "phases", [])])
    train = model.make_train_function()
    first, seen = [], set()
    for _ in range(cycle):
        key = model.step_key()
        start = time.perf_counter()
        float(train(iterator)["loss/G"])
        if key not in seen:
            seen.add(key)
            first.append(time.perf_counter() - start)
    steps = []
    for _ in range(4 * cycle):
        start = time.perf_counter()
        float(train(iterator)["loss/G"])
        steps.append(time.perf_counter() - start)
    return {"first_calls_s": [round(s, 1) for s in first], "traced_s": round(sum(first), 1),
            "step_ms": round(1000 * statistics.median(steps), 1), "precision": run.opts.get("precision", "fp32")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="cpu32")
    parser.add_argument("--repeats", type=int, default=2, help="processes per mode, alternating")
    parser.add_argument("--json", default=os.path.join(os.path.dirname(HERE), "docs", "bench_trace.json"))
    parser.add_argument("--one", choices=["on", "off"], help=argparse.SUPPRESS)  # a child process's mode
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}.")
    if args.one:
        print(json.dumps(measure(args.config, args.one == "on")))
        return
    runs: dict[str, list] = {"off": [], "on": []}
    for _ in range(args.repeats):
        for mode in runs:
            child = subprocess.run([sys.executable, __file__, "--config", args.config, "--one", mode],
                                   capture_output=True, text=True)
            if child.returncode:
                sys.exit(f"bench/trace.py: the {mode} measurement failed:\n{child.stderr[-4000:]}")
            runs[mode].append(json.loads(child.stdout.strip().splitlines()[-1]))
    result = {"config": args.config, "precision": runs["off"][0]["precision"], "threads": os.cpu_count(),
              "autograph": {mode: {"traced_s_mean": round(statistics.mean(r["traced_s"] for r in rs), 1),
                                   "step_ms_median": round(statistics.median(r["step_ms"] for r in rs), 1),
                                   "runs": rs} for mode, rs in runs.items()}}
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
