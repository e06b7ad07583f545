"""Compiled custom ops vs the pure-TF reference on this CPU.

1. Per op: every distinct bias_act and upfirdn2d call that a res-64 and a
   res-256 generator (and discriminator) make, timed forward + backward with
   impl="custom" and impl="ref" at the networks' own tensor sizes; summed per
   op and resolution.
2. Whole networks: G forward + backward and D forward + backward under
   override_impl("custom"), ("ref") and ("auto"), float32 and bfloat16, timed in
   interleaved rounds (one call of each per round; the median per impl).

Prints one JSON line per measurement and a JSON summary; --out writes it too.
Needs the library: `make ops`.

    .venv/bin/python bench/ops.py [--res 64,256] [--batch 4] [--reps 5] [--out docs/bench_ops.json]
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

from tf_stylegan.networks import Discriminator, Generator  # noqa: E402
from tf_stylegan.ops import _dispatch, bias_act, override_impl, upfirdn2d  # noqa: E402

BASE = dict(channel_base=16384, channel_max=512)
OPS = {"TfStyleganBiasAct": "bias_act", "TfStyleganUpfirdn2d": "upfirdn2d"}


def median_ms(fn, reps: int) -> float:
    """Median ms of one function over `reps` calls, after a tracing and a warm-up call."""
    return interleaved_medians_ms({"fn": fn}, reps)["fn"]


def interleaved_medians_ms(fns: dict, reps: int) -> dict:
    """Median ms of each function, timed in rounds that call every one once, so that a machine that
    drifts over the minutes (memory, clocks) shifts all of them alike, not the one timed last."""
    for fn in fns.values():
        fn()  # trace
        fn()  # warm up
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * float(np.median(t)) for name, t in times.items()}


def forward_backward(call, *inputs):
    """A tf.function running call(*inputs) and its gradient w.r.t. the inputs,
    for a fixed random output gradient (drawn once, outside the timing)."""
    y = call(*inputs)
    dy = tf.cast(tf.random.normal(tf.shape(y)), y.dtype)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            y = call(*inputs)
        return tape.gradient(y, inputs, output_gradients=dy)

    return lambda: [g.numpy() for g in step() if g is not None]


def op_calls(fn, *args) -> list[dict]:
    """The compiled-op calls in fn's graph: op name, input shapes, attributes."""
    with override_impl("custom"):
        graph = tf.function(fn).get_concrete_function(*args).graph
    calls = []
    for op in graph.get_operations():
        if op.type not in OPS or (OPS[op.type] == "bias_act" and op.get_attr("grad") != 0):
            continue
        attrs = {k: op.get_attr(k) for k in op.node_def.attr if k != "T"}
        inputs = [t.shape.as_list() for t in op.inputs]
        kernel = tf.get_static_value(op.inputs[1]) if op.type == "TfStyleganUpfirdn2d" else None
        calls.append(dict(op=OPS[op.type], inputs=inputs, attrs=attrs, kernel=kernel, dtype=op.inputs[0].dtype))
    return calls


def time_call(call: dict, batch: int, reps: int) -> dict:
    """Times one op call, custom vs ref, forward + backward."""
    shape = [batch] + call["inputs"][0][1:]
    x = tf.random.normal(shape, dtype=tf.float32)
    x = tf.cast(x, call["dtype"])
    a = call["attrs"]
    result = {}
    for impl in ("custom", "ref"):
        if call["op"] == "bias_act":
            act = a["act"].decode()
            b = tf.cast(tf.random.normal([call["inputs"][1][0]]), x.dtype) if call["inputs"][1][0] else None

            def run(x, b=b, impl=impl, act=act):
                return bias_act(x, b, dim=a["dim"], act=act, alpha=a["alpha"], gain=a["gain"],
                                clamp=None if a["clamp"] < 0 else a["clamp"], impl=impl)

            fn = forward_backward(run, x) if b is None else forward_backward(lambda x, b, r=run: r(x, b), x, b)
        else:
            def run(x, impl=impl):  # the kernel is already flipped and scaled: correlate with it
                return upfirdn2d(x, call["kernel"], up=(a["upx"], a["upy"]), down=(a["downx"], a["downy"]),
                                 padding=[a["padx0"], a["padx1"], a["pady0"], a["pady1"]],
                                 flip_filter=True, impl=impl)

            fn = forward_backward(run, x)
        result[impl] = median_ms(fn, reps)
    return result


def network_step(net, inputs, dtype: str) -> callable:
    """Forward + backward of a network w.r.t. its weights, as a tf.function."""

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            out = net(*inputs)
            loss = tf.reduce_sum(tf.cast(out, tf.float32) ** 2)
        grads = tape.gradient(loss, net.trainable_weights)
        return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in grads])

    return lambda: step().numpy()


def make_networks(res: int, dtype: str):
    lowp = dict(lowp_dtype="mixed_bfloat16", num_fp16_res=int(np.log2(res))) if dtype == "bfloat16" else {}
    G = Generator(img_resolution=res, z_dim=512, w_dim=512, mapping_layers=8, **BASE, **lowp)
    D = Discriminator(img_resolution=res, **BASE, **lowp)
    return G, D


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--res", default="64,256")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    if _dispatch.load_library()[0] is None:
        raise SystemExit(f"bench/ops.py: {_dispatch.load_library()[1]}.")
    summary = dict(machine=platform.processor() or platform.machine(), cpus=os.cpu_count(),
                   batch=args.batch, per_op={}, networks=[])
    for res in [int(r) for r in args.res.split(",")]:
        for dtype in args.dtypes.split(","):
            G, D = make_networks(res, dtype)
            z = tf.random.normal([args.batch, 512])
            img = tf.random.normal([args.batch, res, res, 3])
            G(z[:1], None)
            D(img[:1], None)
            calls = op_calls(lambda z, G=G: G(z, None), z) + op_calls(lambda x, D=D: D(x, None), img)
            totals = {}
            seen = {}
            for call in calls:
                key = (call["op"], str(call["inputs"]), str(sorted(call["attrs"].items())))
                if key not in seen:
                    seen[key] = time_call(call, args.batch, args.reps)
                    line = dict(res=res, dtype=dtype, op=call["op"], shape=call["inputs"][0],
                                custom_ms=round(seen[key]["custom"], 3), ref_ms=round(seen[key]["ref"], 3))
                    print(json.dumps(line), flush=True)
                t = totals.setdefault(call["op"], dict(calls=0, custom_ms=0.0, ref_ms=0.0))
                t["calls"] += 1
                t["custom_ms"] += seen[key]["custom"]
                t["ref_ms"] += seen[key]["ref"]
            for op, t in totals.items():
                t = {k: round(v, 2) if isinstance(v, float) else v for k, v in t.items()}
                t["speedup"] = round(t["ref_ms"] / t["custom_ms"], 2)
                summary["per_op"][f"{op}/res{res}/{dtype}"] = t
                print(json.dumps({"op_total": f"{op}/res{res}/{dtype}", **t}), flush=True)
            for name, net, inputs in (("G", G, (z, None)), ("D", D, (img, None))):
                row = dict(net=name, res=res, dtype=dtype)
                steps = {}
                for impl in ("ref", "custom", "auto"):
                    with override_impl(impl):  # the impl is read when the step is traced
                        steps[impl] = network_step(net, inputs, dtype)
                        steps[impl]()
                for impl, ms in interleaved_medians_ms(steps, args.reps).items():
                    row[f"{impl}_ms"] = round(ms, 1)
                row["custom_speedup"] = round(row["ref_ms"] / row["custom_ms"], 3)
                row["auto_speedup"] = round(row["ref_ms"] / row["auto_ms"], 3)
                summary["networks"].append(row)
                print(json.dumps(row), flush=True)
    print(json.dumps(summary))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
