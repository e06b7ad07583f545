"""The one run driver: resume after kill -9, rollback on divergence, the run folder's safety, and refusals."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tf_stylegan.data import build_dataset
from tf_stylegan.run import OptionError, Run, TrainingError, train


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("train_data")
    (root / "src").mkdir()
    rng = np.random.RandomState(0)
    for i in range(40):
        Image.fromarray(rng.randint(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / "src" / f"{i:02d}.png")
    build_dataset(str(root / "src"), str(root / "ds"), 32, progress=False, log=lambda s: None)
    return str(root / "ds")


def options(dataset, outdir, **kw):
    """A tiny run at 8 px (the 32 px images box-filtered: the fastest to compile and train), with D's lazy
    R1 on G's schedule (every 4 steps): each distinct phase is a trace of several seconds, and this keeps two."""
    base = dict(data=dataset, outdir=str(outdir), config="tiny", resolution=8, kimg=0.064, batch=4,
                d_reg_interval=4, checkpoint_every=3, snap=100.0, progress=False, keep=3)
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


class AtStep(keras.callbacks.Callback):
    """Calls fn(model) after the given steps (a test's way into the loop); `once`: each step only the first
    time it is reached (a rollback reaches it again)."""

    def __init__(self, fn, steps, once=True):
        super().__init__()
        self.fn, self.steps, self.once = fn, set(steps), once

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step.numpy())
        if step in self.steps:
            if self.once:
                self.steps.discard(step)
            self.fn(self.model)


def final_losses(path):
    steps = {}
    for line in open(path):
        record = json.loads(line)
        if "step" in record:
            steps[record["step"]] = (record["loss/G"], record["loss/D"])  # the last write of a step wins
    return steps


def train_cmd(dataset, outdir, *extra):
    return [sys.executable, "-m", "tf_stylegan.tools.train", "--config=tiny", f"--data={dataset}",
            f"--outdir={outdir}", "--resolution=8", "--kimg=0.064", "--batch=4", "--d_reg_interval=4",
            "--checkpoint_every=3", "--snap=100",
            *extra]


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
    def poison(model):
        w = model.G.mapping.fc0.weight
        w.assign(w * np.nan)

    run = Run(options(dataset, tmp_path), callbacks=[AtStep(poison, [5])])
    g_lr = float(run.model.g_optimizer.learning_rate.numpy())
    run.train()
    events = [json.loads(line) for line in open(tmp_path / "stats.jsonl") if "event" in line]
    assert [e["event"] for e in events] == ["rollback"] and "is nan" in events[0]["reason"]
    assert events[0]["checkpoint"].endswith("ckpt-3")
    assert float(run.model.g_optimizer.learning_rate.numpy()) == pytest.approx(g_lr * 0.5, rel=1e-5)
    assert np.all(np.isfinite(run.model.G.mapping.fc0.weight.numpy()))


def test_repeated_divergence_stops_with_a_clear_message(dataset, tmp_path):
    def poison(model):
        w = model.D.b4.out.weight
        w.assign(w * np.inf)

    run = Run(options(dataset, tmp_path, max_rollbacks=2), callbacks=[AtStep(poison, range(4, 100), once=False)])
    with pytest.raises(TrainingError, match="2 rollbacks did not help"):
        run.train()


def test_rollback_keeps_a_rate_the_schedule_lowered_and_halves_it(dataset, tmp_path):
    """The LR schedule lowers D's rate at step 4 (16 images); the checkpoint of step 3 holds the old rate.
    Diverging at step 5 must roll back to step 3 with half the lowered rate, not half the start-up one."""
    def poison(model):
        w = model.D.b4.out.weight
        w.assign(w * np.nan)

    run = Run(options(dataset, tmp_path, kimg=0.024, d_lr_schedule="0:0.002,0.016:0.0005"),
              callbacks=[AtStep(poison, [5])])
    run.train()
    c = 4 / 5  # the lazy-regularisation scaling of D's Adam: k / (k + 1) at d_reg_interval k = 4
    assert float(run.model.d_optimizer.learning_rate.numpy()) == pytest.approx(0.0005 * c * 0.5, rel=1e-5)
    event = next(json.loads(line) for line in open(tmp_path / "stats.jsonl") if "event" in line)
    assert event["step"] == 3 and event["lr"]["d"] == pytest.approx(0.0005 * c * 0.5, rel=1e-5)


def test_resume_refuses_changed_options_and_records_safe_ones(dataset, tmp_path):
    train(options(dataset, tmp_path, kimg=0.008))
    other = "fp32" if json.loads((tmp_path / "options.json").read_text())["options"]["precision"] == "bf16" else "bf16"
    for change, shown in [({"config": "cpu32"}, "config"), ({"batch": 8}, "batch (4 -> 8)"),
                          ({"augment": "ada"}, "augment"), ({"precision": other}, "precision")]:
        with pytest.raises(TrainingError, match=f"changed options: {re.escape(shown)}"):
            Run({"outdir": str(tmp_path), "resume": "latest", **change})
    recorded = (tmp_path / "options.json").read_text()
    train({"outdir": str(tmp_path), "resume": "latest", "kimg": 0.016, "snap": 50.0, "progress": False})
    assert (tmp_path / "options.json").read_text() == recorded  # not overwritten
    history = [json.loads(line) for line in open(tmp_path / "history.jsonl")]
    assert history[-1]["step"] == 2 and history[-1]["changed"] == {"kimg": [0.008, 0.016], "snap": [100.0, 50.0]}


def test_resume_finds_checkpoints_without_the_state_file(dataset, tmp_path):
    train(options(dataset, tmp_path, kimg=0.024))  # 6 steps: checkpoints 3 and 6
    state = tmp_path / "checkpoints" / "checkpoint"
    for damage in ("garbled {{{", None):
        if damage is None:
            state.unlink()
        else:
            state.write_text(damage)
        with pytest.raises(TrainingError, match=r"already holds checkpoints \(ckpt-6\)"):
            Run(options(dataset, tmp_path, kimg=0.024))  # a fresh run never overwrites them
        run = Run({"outdir": str(tmp_path), "resume": "latest", "kimg": 0.024, "progress": False})
        run.restore()
        assert int(run.model.step.numpy()) == 6


def test_stats_are_truncated_back_to_the_restored_step(dataset, tmp_path):
    class Crash(Exception):
        pass

    def crash(model):
        raise Crash

    with pytest.raises(Crash):
        Run(options(dataset, tmp_path), callbacks=[AtStep(crash, [5])]).train()  # checkpoint 3; stats of 1..4
    train({"outdir": str(tmp_path), "resume": "latest", "progress": False})
    steps = [json.loads(line)["step"] for line in open(tmp_path / "stats.jsonl") if "loss/G" in line]
    assert steps == list(range(1, 17))  # each step once


def test_outdir_must_be_new_empty_or_ours(dataset, tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(TrainingError, match="holds files that are not a run of this package"):
        Run(options(dataset, theirs))
    assert os.listdir(theirs) == ["notes.txt"]


def test_corrupt_latest_checkpoint_falls_back_with_a_warning(dataset, tmp_path, caplog):
    train(options(dataset, tmp_path, kimg=0.04))  # 10 steps: checkpoints 6, 9, 10
    newest = tmp_path / "checkpoints" / "ckpt-10.data-00000-of-00001"
    newest.write_bytes(newest.read_bytes()[:100])
    run = Run({"outdir": str(tmp_path), "resume": "latest", "progress": False})
    run.restore()
    assert int(run.model.step.numpy()) == 9
    assert "unreadable" in caplog.text


def test_clear_errors_for_bad_setups(dataset, tmp_path):
    with pytest.raises(ValueError, match="Unknown preset"):
        Run(options(dataset, tmp_path, config="config-z"))
    with pytest.raises(OptionError, match="is 32px but config 'config-f' trains at 1024px"):
        Run(options(dataset, tmp_path, config="config-f", resolution=None))
    with pytest.raises(OptionError, match="no labels"):
        Run(options(dataset, tmp_path, cond=True))
    with pytest.raises(TrainingError, match="holds no run to resume"):
        Run(options(dataset, tmp_path / "fresh", resume="latest"))
    with pytest.raises(OptionError, match="precision: 'int8' is not one of"):
        Run(options(dataset, tmp_path, precision="int8"))
    with pytest.raises(ValueError, match="unknown metric 'fid'"):
        Run(options(dataset, tmp_path, metrics=("fid",)))
    with pytest.raises(ValueError, match="no such Inception weight file"):
        Run(options(dataset, tmp_path, metrics=("fid8_full",), inception=str(tmp_path / "none.pt")))


def test_metrics_at_snapshots_go_to_jsonl_and_tensorboard(dataset, inception_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("TF_STYLEGAN_CACHE", str(tmp_path / "cache"))
    train(options(dataset, tmp_path, kimg=0.008, metrics=("fid8_full",), inception=inception_weights))
    records = [json.loads(line) for line in open(tmp_path / "metric-fid8_full.jsonl")]
    assert len(records) == 1 and records[0]["nimg"] == 8 and records[0]["results"]["fid8_full"] > 0
    assert records[0]["snapshot_pkl"] == "G_ema-000000008.keras"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "logs")).Reload()
    assert "Metrics/fid8_full" in events.Tags()["tensors"]


def test_convert_load_reads_runs_and_checkpoint_prefixes(dataset, tmp_path):
    import keras

    from tf_stylegan.convert import CheckpointError, load

    train(options(dataset, tmp_path, kimg=0.024, checkpoint_every=2))
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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_run_after_its_step_with_a_checkpoint(dataset, tmp_path, signum):
    """SIGTERM (a scheduler) or a first Ctrl-C: the step reached is checkpointed, so none is lost, and the
    resumed run repeats the uninterrupted one; the signal handlers are the earlier ones again afterwards."""
    from tf_stylegan.files import checkpoint_steps
    from tf_stylegan.run import Stopped

    earlier = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    straight = tmp_path / "straight"
    train(options(dataset, straight))
    stopped = tmp_path / "stopped"
    with pytest.raises(Stopped, match=rf"stopped by {signal.Signals(signum).name} after step 5 .*--resume=latest"):
        Run(options(dataset, stopped), callbacks=[AtStep(lambda model: os.kill(os.getpid(), signum), [5])]).train()
    assert {s: signal.getsignal(s) for s in earlier} == earlier
    assert max(checkpoint_steps(str(stopped / "checkpoints"))) == 5  # every 3 steps, and the stop's
    assert not (stopped / "G_ema.keras").exists()  # the end-of-run work is skipped
    train({"outdir": str(stopped), "resume": "latest", "progress": False})
    a, b = final_losses(straight / "stats.jsonl"), final_losses(stopped / "stats.jsonl")
    assert sorted(a) == sorted(b) == list(range(1, 17))
    for step in a:
        np.testing.assert_allclose(b[step], a[step], rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_train_tool_exits_with_the_signals_status_after_a_stop(dataset, tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = tmp_path / "run"
    proc = subprocess.Popen(train_cmd(dataset, out, "--kimg=10"), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not ((out / "stats.jsonl").exists() and final_losses(out / "stats.jsonl")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM after step" in err and "--resume=latest" in err
