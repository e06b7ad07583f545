"""Standalone CUDA harness: the op kernels without TensorFlow.

Compiles bias_act.cu and upfirdn2d.cu (the very sources the TF op library
builds) with plain nvcc into a small shared library, checks every kernel
against the numpy reference of tests/numpy_ref.py over many shapes, factors,
paddings, activations and dtypes, and times them at generator-sized tensors
against the device's memory bandwidth. Prints one JSON object per line; exits 1
on any mismatch.

    python custom_ops/test_cuda/run.py [--arch=native] [--out=DIR]

Needs nvcc, a GPU and numpy (ml_dtypes adds the bfloat16 cases).
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(os.path.dirname(OPS), "tests"))
from numpy_ref import ACTIVATIONS, correlate, pad_or_crop  # noqa: E402

ACT_NAMES = ["linear", "relu", "lrelu", "tanh", "sigmoid", "elu", "selu", "softplus", "swish"]
DTYPES = {"float32": (0, np.float32, 1e-5), "float16": (1, np.float16, 2e-3)}
try:  # bfloat16 in numpy
    import ml_dtypes

    DTYPES["bfloat16"] = (2, ml_dtypes.bfloat16, 1.6e-2)
except ImportError:  # pragma: no cover
    pass


class BiasActParams(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_int64),
        ("channels", ctypes.c_int64),
        ("inner", ctypes.c_int64),
        ("grad", ctypes.c_int),
        ("act", ctypes.c_int),
        ("alpha", ctypes.c_float),
        ("gain", ctypes.c_float),
        ("clamp", ctypes.c_float),
    ]


class Upfirdn2dParams(ctypes.Structure):
    _fields_ = [(k, ctypes.c_int64) for k in ("n", "in_h", "in_w", "channels", "out_h", "out_w")] + [
        (k, ctypes.c_int)
        for k in ("upx", "upy", "downx", "downy", "padx0", "padx1", "pady0", "pady1", "fw", "fh")
    ]


def build(arch: str, workdir: str) -> ctypes.CDLL:
    lib = os.path.join(workdir, "tfs_harness.so")
    cmd = ["nvcc", "-std=c++17", "-O3", f"-arch={arch}", "-shared", "-Xcompiler", "-fPIC",
           "-o", lib, os.path.join(HERE, "harness.cu"),
           os.path.join(OPS, "bias_act.cu"), os.path.join(OPS, "upfirdn2d.cu")]
    subprocess.run(cmd, check=True)
    so = ctypes.CDLL(lib)
    so.tfs_last_error.restype = ctypes.c_char_p
    so.tfs_bias_act.restype = ctypes.c_double
    so.tfs_upfirdn2d.restype = ctypes.c_double
    return so


def _ptr(a):
    return None if a is None else a.ctypes.data_as(ctypes.c_void_p)


def _fail(so) -> RuntimeError:
    return RuntimeError(so.tfs_last_error().decode())


# ------------------------------------------------------------------ bias_act
def bias_act_numpy(x, b, dim, act, alpha, gain, clamp, grad, ref=None, dy=None):
    """float64 truth; derivatives by central differences of the numpy activation."""
    f = ACTIVATIONS[act]
    fn = (lambda s: f(s, alpha)) if act == "lrelu" else f
    shape = [1] * x.ndim
    shape[dim] = -1
    bias = 0.0 if b is None else b.astype(np.float64).reshape(shape)
    if grad == 0:
        y = fn(x.astype(np.float64) + bias) * gain
        return np.clip(y, -clamp, clamp) if clamp >= 0 else y
    s = ref.astype(np.float64) + bias
    keep = np.ones_like(s) if clamp < 0 else (np.abs(fn(s) * gain) <= clamp)
    h = 1e-4 if grad == 1 else 1e-3
    if grad == 1:
        d = (fn(s + h) - fn(s - h)) / (2 * h)
        return x.astype(np.float64) * d * gain * keep
    d2 = (fn(s + h) - 2 * fn(s) + fn(s - h)) / (h * h)
    return x.astype(np.float64) * dy.astype(np.float64) * d2 * gain * keep


def run_bias_act(so, x, b, dim, act, alpha, gain, clamp, grad, ref=None, dy=None, repeats=0,
                 misalign=False):
    code, _, _ = DTYPES[x.dtype.name]
    inner = int(np.prod(x.shape[dim + 1 :])) if b is not None else 1
    p = BiasActParams(x.size, 0 if b is None else b.size, inner, grad, ACT_NAMES.index(act),
                      alpha, gain, clamp)
    y = np.empty_like(x)
    ms = so.tfs_bias_act(ctypes.byref(p), code, x.itemsize, _ptr(x), _ptr(b), _ptr(ref),
                         _ptr(dy), _ptr(y), repeats, int(misalign))
    if ms < 0:
        raise _fail(so)
    return y, ms


def check_bias_act(so, rng) -> list[dict]:
    results = []
    # Sizes with and without a multiple of 4, biases along the last axis and inside; each case
    # runs on aligned buffers (4 elements per thread) and one element off (1 per thread).
    shapes = [((2, 5, 7, 33), 3), ((3, 64), 1), ((2, 3, 17, 5), 1), ((1000,), 0), ((4, 6), None),
              ((2, 4, 3, 3), 1), ((7, 2), 1)]
    for (shape, dim), act, grad, clamp, dtype, misalign in itertools.product(
        shapes, ACT_NAMES, (0, 1, 2), (-1.0, 0.8), DTYPES, (False, True)
    ):
        np_dtype, tol = DTYPES[dtype][1], DTYPES[dtype][2]
        s = rng.standard_normal(shape) * 2
        s = np.where(np.abs(s) < 0.1, 0.5, s)  # away from the kinks
        b = None if dim is None else rng.standard_normal(shape[dim]).astype(np_dtype)
        ref = None
        if grad == 0:
            x = s.astype(np_dtype)
        else:
            ref = s.astype(np_dtype)
            x = rng.standard_normal(shape).astype(np_dtype)
            if b is not None:  # keep ref + b away from the kinks too
                axis_shape = [-1 if i == dim else 1 for i in range(len(shape))]
                ref = (s - b.astype(np.float64).reshape(axis_shape)).astype(np_dtype)
        dy = rng.standard_normal(shape).astype(np_dtype) if grad == 2 else None
        alpha, gain = 0.2, 1.3
        got, _ = run_bias_act(so, x, b, dim or 0, act, alpha, gain, clamp, grad, ref, dy,
                              misalign=misalign)
        want = bias_act_numpy(x, b, dim or 0, act, alpha, gain, clamp, grad, ref, dy)
        err = np.abs(got.astype(np.float64) - want) / (1 + np.abs(want))
        results.append(dict(op="bias_act", shape=list(shape), dim=dim, act=act, grad=grad,
                            clamp=clamp, dtype=dtype, misalign=misalign, max_rel_err=float(err.max()),
                            ok=bool(err.max() <= tol * 4)))
    return results


# ----------------------------------------------------------------- upfirdn2d
def upfirdn2d_numpy(x, f, up, down, pad):
    """float64 truth of the op's semantics: zero-stuff, pad, correlate, subsample."""
    (upx, upy), (downx, downy) = up, down
    n, h, w, c = x.shape
    z = np.zeros((n, h * upy, w * upx, c))
    z[:, ::upy, ::upx, :] = x
    z = pad_or_crop(z, *pad)
    return correlate(z, f.astype(np.float64))[:, ::downy, ::downx, :]


def run_upfirdn2d(so, x, f, up, down, pad, repeats=0):
    code = DTYPES[x.dtype.name][0]
    (upx, upy), (downx, downy) = up, down
    fh, fw = f.shape
    n, h, w, c = x.shape
    oh = -(-(h * upy + pad[2] + pad[3] - fh + 1) // downy)
    ow = -(-(w * upx + pad[0] + pad[1] - fw + 1) // downx)
    p = Upfirdn2dParams(n, h, w, c, oh, ow, upx, upy, downx, downy, *pad, fw, fh)
    y = np.empty((n, oh, ow, c), x.dtype)
    f = np.ascontiguousarray(f, np.float32)
    ms = so.tfs_upfirdn2d(ctypes.byref(p), code, x.itemsize, _ptr(x), _ptr(f), _ptr(y), repeats)
    if ms < 0:
        raise _fail(so)
    return y, ms


def upfirdn2d_case(so, x, f, up, down, pad, dtype) -> dict:
    """One kernel run against the float64 truth."""
    got, _ = run_upfirdn2d(so, x, f, up, down, pad)
    want = upfirdn2d_numpy(x.astype(np.float64), f, up, down, pad)
    ok = got.shape == want.shape
    err = float(np.abs(got.astype(np.float64) - want).max()) if ok else float("inf")
    return dict(op="upfirdn2d", shape=list(x.shape), filter=list(f.shape), up=up, down=down,
                pad=list(pad), dtype=dtype, max_abs_err=err, ok=bool(ok and err <= DTYPES[dtype][2] * 4))


def check_upfirdn2d(so, rng) -> list[dict]:
    results = []
    filters = [(1, 1), (4, 4), (3, 2), (1, 4), (4, 1), (8, 8)]
    factors = [((1, 1), (1, 1)), ((2, 2), (1, 1)), ((1, 1), (2, 2)), ((4, 4), (1, 1)),
               ((3, 1), (1, 2)), ((2, 2), (2, 2)), ((1, 1), (2, 1)), ((1, 1), (1, 2))]
    pads = [(0, 0, 0, 0), (1, 2, 2, 1), (3, 3, 3, 3), (-1, 2, 1, -2)]
    shapes = [(2, 9, 7, 3), (1, 4, 5, 64), (3, 6, 6, 1), (1, 5, 6, 40)]
    for fshape, (up, down), pad, shape, dtype in itertools.product(filters, factors, pads, shapes, DTYPES):
        np_dtype = DTYPES[dtype][1]
        f = rng.random(fshape).astype(np.float32)
        f /= f.sum()
        (upx, upy) = up
        if shape[1] * upy + pad[2] + pad[3] < fshape[0] or shape[2] * upx + pad[0] + pad[1] < fshape[1]:
            continue
        x = rng.standard_normal(shape).astype(np_dtype)
        results.append(upfirdn2d_case(so, x, f, up, down, pad, dtype))
    # Filters far larger than the networks use, with up- and downsampling and a crop
    for dtype in DTYPES:
        x = rng.standard_normal((1, 45, 44, 40)).astype(DTYPES[dtype][1])
        f = rng.random((40, 41)).astype(np.float32)
        f /= f.sum()
        for up, down, pad in [((1, 1), (1, 1), (0, 0, 0, 0)), ((2, 1), (1, 2), (3, -1, 2, 2))]:
            results.append(upfirdn2d_case(so, x, f, up, down, pad, dtype))
    return results


# -------------------------------------------------------------------- timing
def timings(so, rng, copy_gbs: float, peak_gbs: float) -> list[dict]:
    """Time the ops at the tensor sizes of res-64 and res-256 generator layers (batch 32)."""
    out = []

    def report(name, shape, dtype, ms, bytes_moved):
        gbs = bytes_moved / (ms * 1e-3) / 1e9
        out.append(dict(op=name, shape=list(shape), dtype=dtype, ms=round(ms, 4),
                        gbs=round(gbs, 1), of_copy=round(gbs / copy_gbs, 3),
                        of_peak=round(gbs / peak_gbs, 3) if peak_gbs else None))

    f4 = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32)
    f4 /= f4.sum()
    for dtype in ("float32", "float16"):
        np_dtype = DTYPES[dtype][1]
        for shape in [(32, 64, 64, 256), (32, 256, 256, 64), (32, 16, 16, 512)]:
            x = rng.standard_normal(shape).astype(np_dtype)
            b = rng.standard_normal(shape[-1]).astype(np_dtype)
            for grad in (0, 1):
                ref = x if grad else None
                _, ms = run_bias_act(so, x, b, 3, "lrelu", 0.2, 2**0.5, -1.0, grad, ref, None, 50)
                report(f"bias_act_lrelu_grad{grad}", shape, dtype, ms, x.nbytes * (2 + grad))
            # the filter after a transposed conv (res 256: 4x4 taps, +3 padding)
            _, ms = run_upfirdn2d(so, x, f4, (1, 1), (1, 1), (1, 2, 1, 2), 50)
            report("upfirdn2d_filter4x4", shape, dtype, ms, 2 * x.nbytes)
            # the separable passes that the networks run (1-D filters as two 1-D passes)
            f1 = f4[1:2] / f4[1:2].sum()
            _, ms = run_upfirdn2d(so, x, f1, (1, 1), (1, 1), (1, 2, 0, 0), 50)
            report("upfirdn2d_filter1x4", shape, dtype, ms, 2 * x.nbytes)
            _, ms = run_upfirdn2d(so, x, f1.T, (1, 1), (1, 1), (0, 0, 1, 2), 50)
            report("upfirdn2d_filter4x1", shape, dtype, ms, 2 * x.nbytes)
            y, ms = run_upfirdn2d(so, x, f4, (1, 1), (2, 2), (1, 1, 1, 1), 50)
            report("upfirdn2d_down2", shape, dtype, ms, x.nbytes + y.nbytes)
            y, ms = run_upfirdn2d(so, x[..., :3].copy(), f4 * 4, (2, 2), (1, 1), (2, 1, 2, 1), 50)
            report("upfirdn2d_up2_rgb", shape[:3] + (3,), dtype, ms, x[..., :3].nbytes + y.nbytes)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="native", help="nvcc -arch (default: the local GPU)")
    parser.add_argument("--out", default=os.environ.get("OUT", ""), help="also write results.json here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        so = build(args.arch, tmp)
        name = ctypes.create_string_buffer(256)
        peak, copy = ctypes.c_double(), ctypes.c_double()
        if so.tfs_device_info(name, 256, ctypes.byref(peak), ctypes.byref(copy)) != 0:
            raise _fail(so)
        device = dict(device=name.value.decode(), peak_gbs=round(peak.value, 1),
                      copy_gbs=round(copy.value, 1))
        print(json.dumps(device), flush=True)
        checks = check_bias_act(so, rng) + check_upfirdn2d(so, rng)
        failed = [c for c in checks if not c["ok"]]
        for c in failed:
            print(json.dumps(c))
        summary = dict(checks=len(checks), failed=len(failed),
                       worst_bias_act=max(c["max_rel_err"] for c in checks if c["op"] == "bias_act"),
                       worst_upfirdn2d=max(c["max_abs_err"] for c in checks if c["op"] == "upfirdn2d"))
        print(json.dumps(summary), flush=True)
        times = timings(so, rng, copy.value, peak.value)
        for t in times:
            print(json.dumps(t), flush=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "cuda_harness.json"), "w") as fh:
            json.dump(dict(device=device, summary=summary, failed=failed, timings=times), fh, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
