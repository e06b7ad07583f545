"""The absl programs, run as a user runs them (python -m ...)."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import data_path, run_tool
from PIL import Image

import tf_stylegan.networks  # noqa: F401  (registers the layers for load_model)


def test_convert_then_generate(tmp_path):
    out = tmp_path / "converted"
    run_tool("tf_stylegan.tools.convert", f"--src={data_path('tf1_small.pkl')}", f"--outdir={out}")
    assert sorted(os.listdir(out)) == ["D.keras", "G.keras", "G_ema.keras"]
    # In a user's fresh process, importing tf_stylegan.networks is all that load_model needs.
    probe = "import tf_stylegan.networks, keras, sys; print(type(keras.models.load_model(sys.argv[1])).__name__)"
    proc = subprocess.run([sys.executable, "-c", probe, str(out / "G_ema.keras")], capture_output=True, text=True)
    assert proc.stdout.strip() == "Generator", proc.stderr
    G = keras.models.load_model(out / "G_ema.keras")
    ref = np.load(data_path("tf1_small_ref.npz"))
    img = G(ref["z"], noise_mode="const").numpy()
    np.testing.assert_allclose(img, ref["img"].transpose(0, 2, 3, 1), atol=1e-4)

    samples = tmp_path / "samples"
    run_tool(
        "tf_stylegan.tools.generate", f"--network={out / 'G_ema.keras'}", "--seeds=0-5",
        "--grid=3x2", "--trunc=0.7", f"--outdir={samples}",
    )
    assert len([f for f in os.listdir(samples) if f.startswith("seed")]) == 6
    grid = np.asarray(Image.open(samples / "grid.png"))
    assert grid.shape == (64, 96, 3) and grid.std() > 1


def test_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    proc = run_tool("tf_stylegan.tools.convert", f"--src={bad}", f"--outdir={tmp_path}", check=False)
    assert proc.returncode == 2 and "bad.pkl: not a checkpoint" in proc.stderr
    proc = run_tool("tf_stylegan.tools.generate", "--config=tiny", "--seeds=9-1", f"--outdir={tmp_path}", check=False)
    assert proc.returncode == 2 and "--seeds" in proc.stderr
    proc = run_tool("tf_stylegan.tools.convert", f"--outdir={tmp_path}", check=False)
    assert proc.returncode != 0 and "--src" in proc.stderr


def test_hyphenated_flags_are_accepted():
    from tf_stylegan.tools._cli import _normalise_argv

    argv = ["prog", "--noise-mode=const", "--no-singles", "--trunc_cutoff=2", "-v", "pos"]
    assert _normalise_argv(argv) == ["prog", "--noise_mode=const", "--nosingles", "--trunc_cutoff=2", "-v", "pos"]


def test_number_flags_that_a_preset_may_null_take_none():
    from tf_stylegan.run.options import OptionError, resolve
    from tf_stylegan.tools.train import FLAGS

    parse = FLAGS["ema_rampup"].parser.parse
    assert parse("none") is None and parse("None") is None and parse("0.25") == 0.25
    assert FLAGS["resolution"].parser.parse("none") is None and FLAGS["resolution"].parser.parse("16") == 16
    with pytest.raises(ValueError):
        parse("nothing")
    assert resolve("stylegan2", {"ema_rampup": 0.05}, {"data": "d", "outdir": "o", "ema_rampup": None})[
        "ema_rampup"] is None
    with pytest.raises(OptionError, match="r1_gamma: a value is required"):  # not optional: no 'none' flag
        resolve("stylegan2", {}, {"data": "d", "outdir": "o", "r1_gamma": None})
    with pytest.raises(ValueError):
        FLAGS["gamma"].parser.parse("none")
    with pytest.raises(OptionError, match="out of range"):  # 'nan' parses as a float, and is refused at the door
        resolve("stylegan2", {}, {"data": "d", "outdir": "o", "ema_rampup": parse("nan")})


def test_dataset_tool_reports_and_fails_clearly(tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "data"))
    from crafted import BAD, GOOD, write_crafted

    write_crafted(str(tmp_path / "src"))
    proc = run_tool("tf_stylegan.tools.dataset", f"--source={tmp_path / 'src'}", f"--dest={tmp_path / 'ds'}",
                    "--resolution=32", "--mirror-check")
    assert f"kept {len(GOOD)} images" in proc.stdout
    assert all(name in proc.stdout for name in BAD)
    proc = run_tool("tf_stylegan.tools.dataset", f"--source={tmp_path / 'src'}", f"--dest={tmp_path / 'strict'}",
                    "--resolution=32", "--strict", check=False)
    assert proc.returncode == 2 and "--strict" in proc.stderr and not (tmp_path / "strict").exists()
    for bad_args, words in [
        ([f"--source={tmp_path / 'nope'}", "--resolution=32"], "does not exist"),
        ([f"--source={tmp_path / 'src'}", "--resolution=50"], "not a power of two"),
        ([f"--source={tmp_path / 'src'}", "--resolution=32", f"--labels={tmp_path / 'x.txt'}"], "not found"),
    ]:
        proc = run_tool("tf_stylegan.tools.dataset", f"--dest={tmp_path / 'd2'}", *bad_args, check=False)
        assert proc.returncode == 2 and words in proc.stderr, proc.stderr


def test_train_progan_end_to_end_and_its_errors(tmp_path):
    out = tmp_path / "progan"
    base = ["tf_stylegan.tools.train", "--config=progan", "--data=bundled:emoji64", "--resolution=8",
            "--start_res=4", "--stable_kimg=0.016", "--fade_kimg=0.016", "--batch=8", "--batch_sizes=4:8"]
    proc = run_tool(*base, f"--outdir={out}", "--kimg=0.04", "--snap=0.016")
    assert "done: 0.0 kimg" in proc.stdout
    assert (out / "grid.png").exists() and (out / "checkpoints" / "ckpt-5.index").exists()
    assert keras.models.load_model(out / "G_ema.keras")(np.zeros([1, 128], np.float32)).shape == (1, 8, 8, 3)
    proc = run_tool(*base, f"--outdir={tmp_path / 'x'}", "--kimg=0.02", check=False)
    assert proc.returncode == 2 and "does not reach 8px within kimg=0.02" in proc.stderr
    proc = run_tool(*base[:-1], "--batch_sizes=8-32", f"--outdir={tmp_path / 'x'}", check=False)
    assert proc.returncode == 2 and "'8-32' is not RES:BATCH" in proc.stderr
    for config, family in (("progan", "progan"), ("dcgan", "dcgan")):  # no ADA there: refused, not ignored
        proc = run_tool("tf_stylegan.tools.train", f"--config={config}", "--augment=ada", "--data=bundled:emoji64",
                        f"--outdir={tmp_path / 'x'}", check=False)
        assert proc.returncode == 2 and f"--augment: does not apply to {family}" in proc.stderr
