"""style_mixing, video, project and export, run as a user runs them, on a tiny network."""

import json
import pickle

import numpy as np
import pytest
from conftest import run_tool
from PIL import Image

import tf_stylegan.networks  # noqa: F401  (registers the layers for load_model)
from tf_stylegan.images import to_uint8
from tf_stylegan.networks import Generator
from tf_stylegan.video import read_video


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    G = Generator(z_dim=16, w_dim=16, img_resolution=16, mapping_layers=1, channel_base=256, channel_max=16,
                  noise_seed=0)
    path = tmp_path_factory.mktemp("net") / "G.keras"
    G.save(path)
    return G, str(path)


def test_style_mixing_with_the_same_source_reproduces_it(network, tmp_path):
    G, path = network
    run_tool("tf_stylegan.tools.style_mixing", f"--network={path}", "--rows=7,8", "--cols=7,9", "--styles=0-3",
             f"--outdir={tmp_path}")
    grid = np.asarray(Image.open(tmp_path / "style_mixing_0-3.png"))
    cell = lambda r, c: grid[r * 16:(r + 1) * 16, c * 16:(c + 1) * 16]  # noqa: E731
    row7 = to_uint8(G(np.random.RandomState(7).randn(1, 16).astype(np.float32), noise_mode="const")).numpy()[0]
    np.testing.assert_array_equal(cell(1, 0), row7)  # the row's own image
    np.testing.assert_array_equal(cell(1, 1), row7)  # mixed with itself: unchanged
    assert not np.array_equal(cell(1, 2), row7)  # mixed with seed 9: changed
    assert np.all(cell(0, 0) == 255)


def test_interpolation_video_and_grid(network, tmp_path):
    _, path = network
    run_tool("tf_stylegan.tools.video", f"--network={path}", "--seeds=0-2", "--grid=2x1", "--fps=10",
             "--seconds=0.4", "--loop", f"--out={tmp_path / 'walk.mp4'}")
    frames = read_video(str(tmp_path / "walk.mp4"))
    assert frames.shape == (12, 16, 32, 3)  # 3 segments x 4 frames, two walks side by side
    run_tool("tf_stylegan.tools.video", f"--network={path}", "--mode=style-mix", "--source=3", "--seeds=0-1",
             "--fps=10", "--seconds=0.3", f"--out={tmp_path / 'mix.gif'}")
    assert read_video(str(tmp_path / "mix.gif")).shape[0] == 4


def test_project_tool_resizes_with_a_warning(network, tmp_path):
    G, path = network
    big = np.kron(to_uint8(G(np.ones([1, 16], np.float32), noise_mode="const")).numpy()[0], np.ones([2, 2, 1]))
    Image.fromarray(big.astype(np.uint8)).save(tmp_path / "t.png")
    proc = run_tool("tf_stylegan.tools.project", f"--network={path}", f"--target={tmp_path / 't.png'}",
                    f"--outdir={tmp_path / 'out'}", "--num-steps=20")
    assert "resizing it to 16x16" in proc.stderr
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record["distance"] >= 0 and record["distance_metric"].startswith("pixel")
    saved = np.load(tmp_path / "out" / "projected_w.npz")
    assert saved["ws"].shape == (G.num_ws, 16)


def test_bad_flags(network, tmp_path):
    _, path = network
    cases = [
        (("tf_stylegan.tools.generate", f"--network={path}", "--class=1", f"--outdir={tmp_path}"),
         "this network is unconditional"),
        (("tf_stylegan.tools.generate", f"--network={path}", "--seeds=5-2", f"--outdir={tmp_path}"), "--seeds"),
        (("tf_stylegan.tools.generate", f"--network={tmp_path / 'x.pkl'}", f"--outdir={tmp_path}"), "no such file"),
        (("tf_stylegan.tools.style_mixing", f"--network={path}", "--styles=0-40", f"--outdir={tmp_path}"),
         "out of range"),
        (("tf_stylegan.tools.video", f"--network={path}", "--seeds=3", f"--out={tmp_path / 'v.mp4'}"),
         "at least 2 keyframes"),
        (("tf_stylegan.tools.video", f"--network={path}", f"--out={tmp_path / 'v.avi'}"), "write .mp4"),
        (("tf_stylegan.tools.export", f"--network={path}", "--format=tflite", f"--out={tmp_path / 'g.bin'}"),
         "should end in .tflite"),
        (("tf_stylegan.tools.export", f"--network={path}", "--out=/proc/nope/1"), "cannot write there"),
        (("tf_stylegan.tools.generate", f"--network={path}", "--outdir=/proc/nope"), "--outdir=/proc/nope: cannot"),
        (("tf_stylegan.tools.project", f"--network={path}", f"--target={tmp_path / 'none.png'}",
          f"--outdir={tmp_path}"), "cannot read it"),
    ]
    for args, message in cases:
        proc = run_tool(*args, check=False)
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr[-500:])


def test_export_tool_writes_both_formats(network, tmp_path):
    _, path = network
    run_tool("tf_stylegan.tools.export", f"--network={path}", f"--out={tmp_path / 'sm' / '1'}")
    assert (tmp_path / "sm" / "1" / "saved_model.pb").exists()
    run_tool("tf_stylegan.tools.export", f"--network={path}", "--format=tflite", "--quantization=float16",
             f"--out={tmp_path / 'g.tflite'}")
    assert (tmp_path / "g.tflite").stat().st_size > 1000
    run_tool("tf_stylegan.tools.export", f"--network={path}", "--format=ada_pkl", f"--out={tmp_path / 'g.pkl'}")
    data = pickle.load(open(tmp_path / "g.pkl", "rb"))
    assert data["G_ema"]["state_dict"]["synthesis.b4.const"].shape == (16, 4, 4)


def test_tags_are_checked_against_the_dataset_vocabulary(tmp_path):
    G = Generator(z_dim=8, w_dim=8, c_dim=14, img_resolution=8, mapping_layers=1, channel_base=64, channel_max=8)
    G.save(tmp_path / "c.keras")
    net = f"--network={tmp_path / 'c.keras'}"
    proc = run_tool("tf_stylegan.tools.generate", net, "--tags=woman,unicorn", "--data=bundled:emoji64",
                    f"--outdir={tmp_path}", check=False)
    assert proc.returncode == 2 and "['unicorn'] are not in the vocabulary" in proc.stderr
    proc = run_tool("tf_stylegan.tools.generate", net, "--tags=woman", f"--outdir={tmp_path}", check=False)
    assert "--tags needs --data" in proc.stderr
    run_tool("tf_stylegan.tools.generate", net, "--tags=woman,dark", "--data=bundled:emoji64", "--seeds=0-1",
             f"--outdir={tmp_path / 'ok'}")
    assert sorted(p.name for p in (tmp_path / "ok").iterdir()) == ["seed0000.png", "seed0001.png"]
    proc = run_tool("tf_stylegan.tools.generate", net, "--tags=woman", "--data=bundled:emoji64", "--seeds=0-1",
                    "--grid=2x1", "--nosingles", f"--outdir={tmp_path / 'grid'}")
    assert [p.name for p in (tmp_path / "grid").iterdir()] == ["grid.png"]
    assert "grid.png (2x1)" in proc.stdout and "images to" not in proc.stdout  # says only what it wrote


def test_numbers_are_checked_at_the_door(tmp_path):
    from conftest import run_tool

    from tf_stylegan.tools._cli import parse_seeds

    base = ["tf_stylegan.tools.generate", "--config=tiny", f"--outdir={tmp_path}"]
    for bad, words in [("--trunc=nan", "--trunc must be a finite number"), ("--trunc=inf", "finite number"),
                       ("--batch=0", "--batch"), ("--seeds=5-2", "seeds are integers from 0"),
                       ("--seeds=-3", "seeds are integers from 0"), ("--seeds=0-9999999", "more than 100,000"),
                       ("--grid=1000x1", "1 to 256 columns"), ("--trunc_cutoff=-1", "--trunc_cutoff")]:
        proc = run_tool(*base, bad, "--seeds=0-1" if "seeds" not in bad else "--singles", check=False)
        assert proc.returncode != 0 and words in proc.stderr, (bad, proc.stderr[-500:])
    assert not any(p.suffix == ".png" for p in tmp_path.iterdir())
    assert parse_seeds("0-2,7") == [0, 1, 2, 7] and parse_seeds(f"{2**32 - 1}") == [2**32 - 1]
