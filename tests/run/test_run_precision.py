"""--precision=auto: bf16 on CPUs with bfloat16 instructions, fp32 on others, fp16 on GPUs; fp16 on a CPU refused."""

import pytest

from tf_stylegan.run.precision import choose, recorded_warning


def test_auto_picks_by_the_machine():
    assert choose("auto", gpu=False, flags={"avx512f", "avx512_bf16"})[0] == "bf16"
    assert choose("auto", gpu=False, flags={"amx_bf16"})[0] == "bf16"
    assert choose("auto", gpu=False, flags={"avx2"}) == ("fp32", "auto: this CPU has no bfloat16 instructions")
    assert choose("auto", gpu=True, flags=set())[0] == "fp16"
    assert choose("fp32", gpu=False, flags={"avx512_bf16"}) == ("fp32", "as asked")


def test_fp16_on_a_cpu_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="about 140x slower than float32"):
        choose("fp16", gpu=False, flags=set())


def test_unset_precision_trains_bf16_on_this_cpu_and_says_so(tmp_path):
    from conftest import run_tool

    from tf_stylegan.run.precision import cpu_flags

    if "avx512_bf16" not in cpu_flags() and "amx_bf16" not in cpu_flags():
        pytest.skip("this CPU has no bfloat16 instructions")
    out = tmp_path / "run"
    proc = run_tool("tf_stylegan.tools.train", "--config=tiny", "--data=bundled:emoji64", f"--outdir={out}",
                    "--resolution=8", "--kimg=0.004", "--batch=4", "--noprogress")
    assert "precision: bf16 (auto: this CPU has AVX512-BF16)" in proc.stderr
    import json

    assert json.loads((out / "options.json").read_text())["options"]["precision"] == "bf16"
    proc = run_tool("tf_stylegan.tools.train", "--config=tiny", "--data=bundled:emoji64", f"--outdir={tmp_path / 'x'}",
                    "--precision=fp16", check=False)
    assert proc.returncode == 2 and "140x slower" in proc.stderr


def test_bf16_training_on_an_x86_cpu_without_avx512_is_refused_with_the_reason():
    avx2 = {"avx2", "fma", "sse4_2"}
    with pytest.raises(ValueError, match=r"--precision=bf16: this CPU has neither AVX-512.*about 18x slower"):
        choose("bf16", gpu=False, flags=avx2)
    assert choose("bf16", gpu=False, flags=avx2, backward=False) == ("bf16", "as asked")  # evaluation: forward only
    assert choose("bf16", gpu=False, flags=avx2 | {"amx_bf16"}) == ("bf16", "as asked")
    assert choose("bf16", gpu=False, flags=set()) == ("bf16", "as asked")  # no x86 flags: an ARM CPU, say
    assert choose("bf16", gpu=True, flags=avx2) == ("bf16", "as asked")
    assert choose("auto", gpu=False, flags=avx2)[0] == "fp32"


def test_bf16_training_with_avx512_but_no_bf16_instructions_is_allowed_and_says_the_cost():
    avx512 = {"avx2", "avx512f", "avx512_vnni"}  # a Xeon of this kind ran a cpu32 step 2.4x slower than in float32
    precision, why = choose("bf16", gpu=False, flags=avx512)
    assert precision == "bf16" and "no bfloat16 instructions" in why and "2.4x slower" in why
    assert choose("bf16", gpu=False, flags=avx512, backward=False) == ("bf16", "as asked")  # forward only: no cost
    assert choose("auto", gpu=False, flags=avx512) == ("fp32", "auto: this CPU has no bfloat16 instructions")
    assert "2.4x slower" in recorded_warning("bf16", gpu=False, flags=avx512)


def test_resuming_a_bf16_run_where_bf16_is_emulated_warns():
    assert "about 18x slower" in recorded_warning("bf16", gpu=False, flags={"avx2", "fma"})
    assert recorded_warning("bf16", gpu=False, flags={"avx2", "avx512f", "avx512_bf16"}) is None
    assert recorded_warning("fp32", gpu=False, flags={"avx2"}) is None
    assert recorded_warning("bf16", gpu=True, flags={"avx2"}) is None
