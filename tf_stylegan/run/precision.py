"""Which precision a run gets when the user does not say: the fastest that stays correct on this machine.

  * a GPU: fp16 on the top resolutions with conv_clamp, as the official code trains;
  * a CPU with AVX512-BF16 or AMX: bf16 (about 2x float32's convolution speed);
  * any other CPU: fp32.
fp16 on a CPU is refused: there it runs about 140x slower than float32. So is bf16 for training on an x86 CPU
without AVX-512: oneDNN emulates its backward convolutions, about 18x slower than float32 (measured on an AVX2
EPYC, a 3x3 128-channel convolution of 16 images at 32 px, forward and backward: 2.14 s against 0.12 s). With
AVX-512 but no bfloat16 instructions it is emulated too, less badly: a cpu32 training step ran 2.4x slower than in
float32 (bench/profile.py on a 2-core Xeon, 618 against 250 ms), so asking for it there is allowed, with that said.
"""

from __future__ import annotations

import logging

LOG = logging.getLogger("tf_stylegan.train")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
REFUSED_SLOWDOWN = 10.0  # bf16 training this many times slower than float32 is refused, not just told


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


def _bf16_training_slowdown(precision: str, gpu: bool | None, flags: set[str] | None) -> float | None:
    """How many times slower than float32 training in `precision` runs where this machine (or the one described)
    emulates bfloat16: about 18 without AVX-512, about 2.4 with AVX-512 but no bfloat16 instructions; None where
    it is native, on a GPU, on a non-x86 CPU (no /proc/cpuinfo flags) or for another precision."""
    if precision != "bf16" or (has_gpu() if gpu is None else gpu):
        return None
    flags = cpu_flags() if flags is None else flags
    if not flags or any(f in flags for f in BF16_FLAGS):
        return None
    return 2.4 if "avx512f" in flags else 18.0


def choose(requested: str, gpu: bool | None = None, flags: set[str] | None = None,
           backward: bool = True) -> tuple[str, str]:
    """(precision, why) for `requested` ("auto", "fp32", "bf16" or "fp16"); raises ValueError for fp16 on a CPU,
    and for bf16 where a training step (`backward`) would run emulated on this CPU."""
    gpu = has_gpu() if gpu is None else gpu
    flags = cpu_flags() if flags is None else flags
    if requested == "fp16" and not gpu:
        raise ValueError("--precision=fp16 is for GPUs: on a CPU float16 convolutions are emulated and run about "
                         "140x slower than float32. Use --precision=bf16 on CPUs with AVX512-BF16 or AMX, "
                         "or auto.")
    slowdown = _bf16_training_slowdown(requested, gpu, flags) if backward else None
    if slowdown and slowdown >= REFUSED_SLOWDOWN:
        raise ValueError("--precision=bf16: this CPU has neither AVX-512 nor bfloat16 instructions, so its "
                         "bfloat16 convolution gradients are emulated: a convolution forward and backward runs "
                         "about 18x slower than in float32. Use --precision=fp32 or auto here.")
    if slowdown:
        return requested, (f"as asked, though this CPU has AVX-512 but no bfloat16 instructions: bfloat16 is "
                           f"emulated and a training step runs about {slowdown:g}x slower than in float32 "
                           "(auto picks fp32)")
    if requested != "auto":
        return requested, "as asked"
    if gpu:
        return "fp16", "auto: a GPU (fp16 on the top resolutions, with conv_clamp)"
    bf16 = [f for f in BF16_FLAGS if f in flags]
    if bf16:
        return "bf16", f"auto: this CPU has {bf16[0].upper().replace('_', '-')}"
    return "fp32", "auto: this CPU has no bfloat16 instructions"


def recorded_warning(precision: str, gpu: bool | None = None, flags: set[str] | None = None) -> str | None:
    """What to tell a user who resumes a run recorded in bf16 on a CPU where its training step runs emulated (the
    run resumes exactly only in the precision it was recorded in, so it is not refused), else None."""
    slowdown = _bf16_training_slowdown(precision, gpu, flags)
    if not slowdown:
        return None
    return (f"this run was recorded in bf16, which this CPU (no bfloat16 instructions) emulates: its training "
            f"runs about {slowdown:g}x slower than in float32")
