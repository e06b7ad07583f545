"""The ways the tools used to destroy a user's data, each run as the user ran it."""

import os

from conftest import run_tool

from tf_stylegan.networks import Generator


def test_export_to_a_folder_of_versions_keeps_them(tmp_path):
    G = Generator(z_dim=8, w_dim=8, img_resolution=8, mapping_layers=1, channel_base=64, channel_max=8)
    G.save(str(tmp_path / "G.keras"))
    models = tmp_path / "saved_models" / "faces"
    for version in ("1", "2"):
        run_tool("tf_stylegan.tools.export", f"--network={tmp_path / 'G.keras'}", f"--out={models / version}")
    for extra in ([], ["--overwrite"]):
        proc = run_tool("tf_stylegan.tools.export", f"--network={tmp_path / 'G.keras'}", f"--out={models}", *extra,
                        check=False)  # the /N forgotten
        assert proc.returncode == 2 and "folder of model versions (1, 2)" in proc.stderr, proc.stderr
        assert "faces/3" in proc.stderr and sorted(os.listdir(models)) == ["1", "2"]
    os.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("keep me")
    proc = run_tool("tf_stylegan.tools.export", f"--network={tmp_path / 'G.keras'}", "--out=.", check=False)
    assert proc.returncode == 2 and "did not write" in proc.stderr
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_dataset_dest_equal_to_the_source_keeps_the_images(tmp_path):
    import json

    import numpy as np
    from PIL import Image

    src = tmp_path / "ada_images"
    src.mkdir()
    for i in range(3):
        Image.fromarray(np.random.RandomState(i).randint(0, 256, (16, 16, 3), dtype=np.uint8)).save(src / f"{i}.png")
    (src / "dataset.json").write_text(json.dumps({"labels": [[f"{i}.png", i] for i in range(3)]}))
    proc = run_tool("tf_stylegan.tools.dataset", f"--source={src}", f"--dest={src}", "--resolution=16", check=False)
    assert proc.returncode == 2 and "overlap" in proc.stderr
    assert sorted(os.listdir(src)) == ["0.png", "1.png", "2.png", "dataset.json"]


def test_a_lost_checkpoint_state_file_neither_hides_nor_exposes_the_checkpoints(tmp_path):
    out = tmp_path / "run"
    base = ["tf_stylegan.tools.train", "--config=tiny", "--data=bundled:emoji64", f"--outdir={out}", "--batch=4",
            "--resolution=8", "--checkpoint_every=1", "--snap=100"]
    run_tool(*base, "--kimg=0.008")  # steps 1 and 2, each checkpointed
    (out / "checkpoints" / "checkpoint").unlink()  # the state file, lost
    proc = run_tool(*base, "--kimg=0.008", check=False)  # following the old advice: "drop --resume"
    assert proc.returncode == 2 and "already holds checkpoints" in proc.stderr, proc.stderr[-500:]
    assert (out / "checkpoints" / "ckpt-2.index").exists()
    run_tool(*base, "--kimg=0.012", "--resume=latest")  # finds ckpt-2 by its files and goes on to step 3
    assert sorted(p.name for p in (out / "checkpoints").glob("*.index")) == ["ckpt-1.index", "ckpt-2.index",
                                                                              "ckpt-3.index"]
