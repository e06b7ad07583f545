"""The training run: resume after kill -9, rollback on divergence, and refusals."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tf_stylegan.data import build_dataset
from tf_stylegan.training.loop import Trainer, TrainingError, TrainOptions


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("train_data")
    rng = np.random.RandomState(0)
    for i in range(40):
        Image.fromarray(rng.randint(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / f"{i:02d}.png")
    build_dataset(str(root), str(root / "ds"), 32, progress=False, log=lambda s: None)
    return str(root / "ds")


def options(dataset, outdir, **kw):
    base = dict(data=dataset, outdir=str(outdir), config="tiny", kimg=0.064, batch=4, checkpoint_every=3,
                snap_kimg=100.0, progress=False, keep=3)
    base.update(kw)
    return TrainOptions(**base)


def final_losses(path):
    steps = {}
    for line in open(path):
        record = json.loads(line)
        if "step" in record:
            steps[record["step"]] = (record["loss/G"], record["loss/D"])  # the last write of a step wins
    return steps


def train_cmd(dataset, outdir, *extra):
    return [sys.executable, "-m", "tf_stylegan.tools.train", "--config=tiny", f"--data={dataset}",
            f"--outdir={outdir}", "--kimg=0.064", "--batch=4", "--checkpoint_every=3", "--snap=100", *extra]


def test_kill_9_then_resume_matches_an_uninterrupted_run(dataset, tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    straight = tmp_path / "straight"
    subprocess.run(train_cmd(dataset, straight), check=True, env=env, capture_output=True, timeout=600)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(dataset, killed), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    stats = killed / "stats.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (stats.exists() and len(final_losses(stats)) >= 8):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted_at = max(final_losses(stats))
    assert interrupted_at < 16, "the run must be killed before it finishes"
    subprocess.run(train_cmd(dataset, killed, "--resume=latest"), check=True, env=env, capture_output=True,
                   timeout=600)
    a, b = final_losses(straight / "stats.jsonl"), final_losses(stats)
    assert sorted(a) == sorted(b) == list(range(1, 17))
    for step in a:
        np.testing.assert_allclose(b[step], a[step], rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_divergence_rolls_back_and_lowers_the_learning_rate(dataset, tmp_path):
    poisoned = []

    def poison_once(trainer, logs):
        if int(trainer.gan.step.numpy()) == 5 and not poisoned:
            poisoned.append(True)
            w = trainer.gan.G.mapping.fc0.weight
            w.assign(w * np.nan)

    trainer = Trainer(options(dataset, tmp_path), hooks=[poison_once])
    g_lr = float(trainer.gan.g_optimizer.learning_rate.numpy())
    trainer.run()
    events = [json.loads(line) for line in open(tmp_path / "stats.jsonl") if "event" in line]
    assert [e["event"] for e in events] == ["rollback"] and "is nan" in events[0]["reason"]
    assert events[0]["checkpoint"].endswith("ckpt-3")
    assert float(trainer.gan.g_optimizer.learning_rate.numpy()) == pytest.approx(g_lr * 0.5, rel=1e-5)
    assert np.all(np.isfinite(trainer.gan.G.mapping.fc0.weight.numpy()))


def test_repeated_divergence_stops_with_a_clear_message(dataset, tmp_path):
    def always_poison(trainer, logs):
        if int(trainer.gan.step.numpy()) >= 4:
            w = trainer.gan.D.b4.out.weight
            w.assign(w * np.inf)

    trainer = Trainer(options(dataset, tmp_path, max_rollbacks=2), hooks=[always_poison])
    with pytest.raises(TrainingError, match="2 rollbacks did not help"):
        trainer.run()


def test_resume_refuses_a_changed_architecture(dataset, tmp_path):
    Trainer(options(dataset, tmp_path, kimg=0.008)).run()
    with pytest.raises(TrainingError, match="changed architecture"):
        Trainer(options(dataset, tmp_path, config="cpu32", resume="latest")).run()


def test_corrupt_latest_checkpoint_falls_back_with_a_warning(dataset, tmp_path, caplog):
    Trainer(options(dataset, tmp_path, kimg=0.04)).run()  # 10 steps: checkpoints 6, 9, 10
    newest = tmp_path / "checkpoints" / "ckpt-10.data-00000-of-00001"
    newest.write_bytes(newest.read_bytes()[:100])
    trainer = Trainer(options(dataset, tmp_path, kimg=0.04, resume="latest"))
    trainer.restore()
    assert int(trainer.gan.step.numpy()) == 9
    assert "unreadable" in caplog.text


def test_clear_errors_for_bad_setups(dataset, tmp_path):
    with pytest.raises(ValueError, match="Unknown preset"):
        Trainer(options(dataset, tmp_path, config="config-z"))
    with pytest.raises(TrainingError, match="is 32px but config 'config-f' trains at 1024px"):
        Trainer(options(dataset, tmp_path, config="config-f"))
    with pytest.raises(TrainingError, match="no labels"):
        Trainer(options(dataset, tmp_path, cond=True))
    with pytest.raises(TrainingError, match="no checkpoint"):
        Trainer(options(dataset, tmp_path / "fresh", resume="latest")).run()
    with pytest.raises(TrainingError, match="precision"):
        Trainer(options(dataset, tmp_path, precision="int8"))
    with pytest.raises(ValueError, match="unknown metric 'fid'"):
        Trainer(options(dataset, tmp_path, metrics=("fid",)))
    with pytest.raises(ValueError, match="no such Inception weight file"):
        Trainer(options(dataset, tmp_path, metrics=("fid8_full",), inception=str(tmp_path / "none.pt")))


def test_metrics_at_snapshots_go_to_jsonl_and_tensorboard(dataset, inception_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("TF_STYLEGAN_CACHE", str(tmp_path / "cache"))
    Trainer(options(dataset, tmp_path, kimg=0.008, metrics=("fid8_full",), inception=inception_weights)).run()
    records = [json.loads(line) for line in open(tmp_path / "metric-fid8_full.jsonl")]
    assert len(records) == 1 and records[0]["nimg"] == 8 and records[0]["results"]["fid8_full"] > 0
    assert records[0]["snapshot_pkl"] == "G_ema-000000008.keras"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "logs")).Reload()
    assert "Metrics/fid8_full" in events.Tags()["tensors"]


def test_convert_load_reads_runs_and_checkpoint_prefixes(dataset, tmp_path):
    import keras

    from tf_stylegan.convert import CheckpointError, load

    Trainer(options(dataset, tmp_path, kimg=0.024, checkpoint_every=2)).run()
    nets = load(str(tmp_path))
    assert sorted(nets) == ["D", "G", "G_ema"]
    z = np.random.RandomState(0).randn(2, nets["G_ema"].z_dim).astype(np.float32)
    snapshot = keras.models.load_model(tmp_path / "G_ema.keras")
    np.testing.assert_array_equal(nets["G_ema"](z, noise_mode="const"), snapshot(z, noise_mode="const"))
    early = load(str(tmp_path / "checkpoints" / "ckpt-2"))
    assert not np.array_equal(early["G_ema"](z, noise_mode="const"), snapshot(z, noise_mode="const"))
    with pytest.raises(CheckpointError, match="no checkpoint yet"):
        (tmp_path / "empty" / "checkpoints").mkdir(parents=True)
        (tmp_path / "empty" / "options.json").write_text((tmp_path / "options.json").read_text())
        load(str(tmp_path / "empty"))
