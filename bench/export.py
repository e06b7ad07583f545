"""Serving latency and size: SavedModel (fp32, bf16), ONNX and TFLite (float32, float16, int8) at res 64 and 256.

    .venv/bin/python bench/export.py [--resolutions 64,256] [--runs 10]

Builds the generator of the `auto` preset at each resolution (random weights:
latency and size do not depend on the values), exports it, and times one
image (batch 1) per call after a warm-up: the SavedModel's serving_default
through tf.saved_model.load (fp32 with variables; bf16 frozen), the
in-process frozen bf16 graph (networks.inference) for comparison, ONNX
through onnxruntime, and each TFLite variant through the LiteRT interpreter
with 2 threads. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_stylegan.export import export_saved_model  # noqa: E402
from tf_stylegan.export.onnx import export_onnx  # noqa: E402
from tf_stylegan.export.saved_model import bf16_generator  # noqa: E402
from tf_stylegan.export.tflite import QUANTIZATIONS, export_tflite  # noqa: E402
from tf_stylegan.networks.presets import load_preset  # noqa: E402


def dir_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def timed(fn, runs: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resolutions", default="64,256")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from ai_edge_litert.interpreter import Interpreter

    out = {"device": "cpu", "threads": os.cpu_count(), "batch": 1, "results": {}}
    for res in (int(r) for r in args.resolutions.split(",")):
        keras.utils.set_random_seed(0)
        G, _ = load_preset("auto", resolution=res).build()
        z = np.random.RandomState(0).standard_normal([1, G.z_dim]).astype(np.float32)
        row = {"params": int(G.count_params())}
        with tempfile.TemporaryDirectory() as tmp:
            sm = export_saved_model(G, os.path.join(tmp, "sm", "1"))
            serve = tf.saved_model.load(sm).signatures["serving_default"]
            zt, psi = tf.constant(z), tf.constant(1.0)
            row["saved_model"] = {"bytes": dir_size(sm), "ms": round(timed(
                lambda serve=serve, zt=zt, psi=psi: serve(z=zt, truncation_psi=psi), args.runs), 2)}
            sm16 = export_saved_model(G, os.path.join(tmp, "sm16", "1"), precision="bf16")
            serve16 = tf.saved_model.load(sm16).signatures["serving_default"]
            row["saved_model_bf16"] = {"bytes": dir_size(sm16), "ms": round(timed(
                lambda serve=serve16, zt=zt, psi=psi: serve(z=zt, truncation_psi=psi), args.runs), 2)}
            from tf_stylegan.networks.inference import frozen_generator

            inproc = frozen_generator(bf16_generator(G))
            row["in_process_frozen_bf16"] = {"ms": round(timed(lambda f=inproc, zt=zt: f(zt), args.runs), 2)}
            import onnxruntime

            onnx_path = export_onnx(G, os.path.join(tmp, "g.onnx"))[0]
            session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
            feeds = {"z": z, "truncation_psi": np.array(1.0, np.float32)}
            row["onnx"] = {"bytes": os.path.getsize(onnx_path), "ms": round(timed(
                lambda session=session, feeds=feeds: session.run(None, feeds), args.runs), 2)}
            for q in QUANTIZATIONS:
                path = export_tflite(G, os.path.join(tmp, f"g_{q}.tflite"), q)
                interp = Interpreter(model_path=path, num_threads=2)
                inp = interp.get_input_details()[0]
                interp.resize_tensor_input(inp["index"], z.shape)
                interp.allocate_tensors()

                def call(interp=interp, inp=inp, z=z):
                    interp.set_tensor(inp["index"], z)
                    interp.invoke()

                row[f"tflite_{q}"] = {"bytes": os.path.getsize(path), "ms": round(timed(call, args.runs), 2)}
        out["results"][f"res{res}"] = row
        print(json.dumps({f"res{res}": row}), flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
