"""Which precision a run gets when the user does not say: the fastest that stays correct on this machine.

  * a GPU: fp16 on the top resolutions with conv_clamp, as the official code trains;
  * a CPU with AVX512-BF16 or AMX: bf16 (about 2x float32's convolution speed);
  * any other CPU: fp32.
fp16 on a CPU is refused: there it runs about 140x slower than float32.
"""

from __future__ import annotations

import logging

LOG = logging.getLogger("tf_stylegan.train")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def choose(requested: str, gpu: bool | None = None, flags: set[str] | None = None) -> tuple[str, str]:
    """(precision, why) for `requested` ("auto", "fp32", "bf16" or "fp16"); raises ValueError for fp16 on a CPU."""
    gpu = has_gpu() if gpu is None else gpu
    flags = cpu_flags() if flags is None else flags
    if requested == "fp16" and not gpu:
        raise ValueError("--precision=fp16 is for GPUs: on a CPU float16 convolutions are emulated and run about "
                         "140x slower than float32. Use --precision=bf16 on CPUs with AVX512-BF16 or AMX, "
                         "or auto.")
    if requested != "auto":
        return requested, "as asked"
    if gpu:
        return "fp16", "auto: a GPU (fp16 on the top resolutions, with conv_clamp)"
    bf16 = [f for f in BF16_FLAGS if f in flags]
    if bf16:
        return "bf16", f"auto: this CPU has {bf16[0].upper().replace('_', '-')}"
    return "fp32", "auto: this CPU has no bfloat16 instructions"
