"""Builds the custom-op library tf_stylegan/ops/_tf_stylegan_ops.so.

Compiles the C++ kernels with the flags TensorFlow reports (tf.sysconfig:
include path, C++ ABI, Eigen alignment) and links against its framework
library. The CUDA kernels are added when nvcc is found and TensorFlow is built
with CUDA (--cuda=on forces them, --cuda=off skips them). The library is
written to a temporary name and renamed, so a failed build never leaves a
half-written .so for `import tf_stylegan` to load.

    python custom_ops/build.py [--out=PATH] [--cuda=auto|on|off] [--cxxflags="..."]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "tf_stylegan", "ops", "_tf_stylegan_ops.so")
CC_SOURCES = ["bias_act.cc", "upfirdn2d.cc"]
CU_SOURCES = ["bias_act.cu", "upfirdn2d.cu"]
# -march=native: the library is built on the machine that runs it and is never shipped.
# -Wno-interference-size: TensorFlow's bundled Eigen headers trip this GCC 12 warning hundreds of times.
DEFAULT_CXXFLAGS = "-O3 -march=native -fno-math-errno -Wno-interference-size"


def _run(cmd: list[str]) -> None:
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def _want_cuda(mode: str, tf) -> bool:
    have = shutil.which("nvcc") is not None and tf.test.is_built_with_cuda()
    if mode == "on" and not have:
        raise SystemExit("--cuda=on needs nvcc on PATH and a CUDA-enabled TensorFlow.")
    return mode == "on" or (mode == "auto" and have)


DEFAULT_CUDA_HOME = "/usr/local/cuda"


def _cuda_home(nvcc: str) -> str:
    """The CUDA toolkit folder (the one holding include/cuda_runtime.h): $CUDA_HOME or
    $CUDA_PATH, else the folder above nvcc's bin/ (nvcc may be a link or a wrapper script
    elsewhere on PATH), else /usr/local/cuda."""
    candidates = [os.environ.get("CUDA_HOME", ""), os.environ.get("CUDA_PATH", ""),
                  os.path.dirname(os.path.dirname(os.path.realpath(nvcc))), DEFAULT_CUDA_HOME]
    for home in candidates:
        if home and os.path.isfile(os.path.join(home, "include", "cuda_runtime.h")):
            return home
    raise SystemExit(f"No CUDA toolkit headers (include/cuda_runtime.h) found for {nvcc}; "
                     "set CUDA_HOME to the toolkit's folder.")


def build(out: str = DEFAULT_OUT, cuda: str = "auto", cxxflags: str = DEFAULT_CXXFLAGS,
          cuda_arch: str = "all-major") -> str:
    """Compiles and links the library; returns its path. `cuda_arch` is nvcc's
    -arch: all-major (every major GPU generation) or e.g. native, sm_90."""
    import tensorflow as tf

    compile_flags = tf.sysconfig.get_compile_flags()
    link_flags = tf.sysconfig.get_link_flags()
    use_cuda = _want_cuda(cuda, tf)
    cuda_home = _cuda_home(shutil.which("nvcc")) if use_cuda else ""
    # EIGEN_USE_GPU defines Eigen::GpuDevice, which the GPU kernels' registration needs.
    defines = ["-DGOOGLE_CUDA=1", "-DEIGEN_USE_GPU", f"-I{cuda_home}/include"] if use_cuda else []
    cxx = os.environ.get("CXX", "g++")
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for src in CC_SOURCES:
            obj = os.path.join(tmp, src + ".o")
            jobs.append([cxx, "-std=c++17", "-fPIC", "-Wno-deprecated-declarations",
                         *cxxflags.split(), *compile_flags, *defines,
                         "-c", os.path.join(HERE, src), "-o", obj])
        if use_cuda:
            for src in CU_SOURCES:
                obj = os.path.join(tmp, src + ".o")
                jobs.append(["nvcc", "-std=c++17", "-O3", "-Xcompiler", "-fPIC", f"-arch={cuda_arch}",
                             "--expt-relaxed-constexpr", "-c", os.path.join(HERE, src), "-o", obj])
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(_run, jobs))
        objects = [job[job.index("-o") + 1] for job in jobs]
        cuda_libs = [f"-L{cuda_home}/lib64", "-lcudart"] if use_cuda else []
        tmp_out = os.path.join(tmp, os.path.basename(out))
        _run([cxx, "-shared", *objects, "-o", tmp_out, *link_flags, *cuda_libs])
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        staged = out + ".partial"
        shutil.copyfile(tmp_out, staged)
        os.replace(staged, out)
    print(f"built {out} ({'CPU + CUDA' if use_cuda else 'CPU'} kernels)")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="where to write the library")
    parser.add_argument("--cuda", default="auto", choices=["auto", "on", "off"])
    parser.add_argument("--cuda-arch", default="all-major", help="nvcc -arch for the CUDA kernels")
    parser.add_argument("--cxxflags", default=os.environ.get("TF_STYLEGAN_CXXFLAGS", DEFAULT_CXXFLAGS),
                        help="optimisation flags for the C++ kernels")
    args = parser.parse_args()
    try:
        build(args.out, args.cuda, args.cxxflags, args.cuda_arch)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        print(f"custom_ops/build.py: build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
