"""Every family through the one driver: trains, snapshots, resumes exactly after a crash, exports, loads."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.convert import load
from tf_stylegan.run import Run, TrainingError, train

SMALL = {  # presets small enough to train in seconds at 8 px
    "stylegan2": {"family": "stylegan2", "resolution": 8,
                  "G": {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16},
                  "D": {"channel_base": 128, "channel_max": 16, "mbstd_group_size": 2},
                  "training": {"batch": 4, "kimg": 0.024, "r1_gamma": 1.0, "ema_kimg": 0.01,
                               "d_reg_interval": 4}},  # both regularisers together: one phase fewer to trace
    "progan": {"family": "progan", "resolution": 8, "G": {"z_dim": 8, "channel_base": 128, "channel_max": 16},
               "D": {"channel_base": 128, "channel_max": 16},
               "training": {"batch": 4, "start_res": 4, "stable_kimg": 0.008, "fade_kimg": 0.008,
                            "ema_kimg": 0.01}},
    "cgan": {"family": "dcgan", "resolution": 8, "G": {"z_dim": 8, "base_channels": 4},
             "D": {"base_channels": 4},
             "training": {"batch": 4, "kimg": 0.024, "cond": True, "p0": 0.999, "label_noise": 0.05}},
}


def preset(tmp_path, name) -> str:
    path = tmp_path / f"{name}_small.json"
    path.write_text(json.dumps(SMALL[name]))
    return str(path)


def options(tmp_path, name, outdir, **kw):
    return {"config": preset(tmp_path, name), "data": "bundled:emoji64", "outdir": str(outdir), "snap": 0.008,
            "checkpoint_every": 2, "grid_size": 4, "progress": False, **kw}


class CrashAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step.numpy()) == self.step:
            raise KeyboardInterrupt("simulated crash")


def weights(run):
    m = run.model
    return [v.numpy() for v in m.G.weights + m.D.weights + m.G_ema.weights]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_family_trains_snapshots_resumes_exports_and_loads(tmp_path, name):
    straight = Run(options(tmp_path, name, tmp_path / "straight", export=str(tmp_path / "sm" / "1")))
    straight.train()
    out = tmp_path / "straight"
    steps = int(straight.model.step.numpy())
    assert steps == 6  # 24 images at batch 4 (progan: 8 stable at 4 px, 8 fading, 8 stable at 8 px)
    # One naming scheme for every family: snapshots by image count, the latest beside them.
    snaps = sorted(os.listdir(out / "snapshots"))
    assert snaps == ["G_ema-000000008.keras", "G_ema-000000016.keras", "G_ema-000000024.keras",
                     "grid-000000008.png", "grid-000000016.png", "grid-000000024.png"]
    assert (out / "grid.png").exists() and (out / "G_ema.keras").exists()
    record = json.loads((out / "options.json").read_text())
    assert record["family"] == SMALL[name]["family"] and record["options"]["batch"] == 4
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "logs")).Reload()
    assert events.PluginTagToContent("hparams")  # the options, in the HPARAMS tab
    assert "snapshot" in events.Tags()["tensors"]  # the grids as images (scalars come every 10 steps)

    # convert.load(run_dir) rebuilds every family, and its G_ema is the snapshot's.
    nets = load(str(out))
    G = nets["G_ema"]
    z = np.random.RandomState(0).randn(2, G.z_dim).astype(np.float32)
    c = np.eye(G.c_dim, dtype=np.float32)[:2] if G.c_dim else None
    snapshot = keras.models.load_model(out / "G_ema.keras")
    np.testing.assert_allclose(G(z, c, noise_mode="const"), snapshot(z, c, noise_mode="const"), atol=1e-6)
    served = tf.saved_model.load(str(tmp_path / "sm" / "1")).signatures["serving_default"]
    inputs = {"z": tf.constant(z)} | ({"c": tf.constant(c)} if c is not None else {})
    if "truncation_psi" in served.structured_input_signature[1]:
        inputs["truncation_psi"] = tf.constant(1.0)
    assert served(**inputs)["images"].shape == (2, 8, 8, 3)

    # A crash after step 3 (last checkpoint: step 2), then --resume=latest: the same weights, bit for bit.
    split = tmp_path / "split"
    with pytest.raises(KeyboardInterrupt):
        Run(options(tmp_path, name, split), callbacks=[CrashAt(3)]).train()
    with pytest.raises(TrainingError, match="already holds checkpoints"):
        Run(options(tmp_path, name, split))
    resumed = Run({"outdir": str(split), "resume": "latest"})
    resumed.train()
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_array_equal(a, b)
    losses = [json.loads(line) for line in open(split / "stats.jsonl")]
    assert [r["step"] for r in losses] == list(range(1, 7))


def test_a_diverging_progan_rolls_back(tmp_path):
    class Poison(keras.callbacks.Callback):
        done = False

        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.step.numpy()) == 3 and not self.done:
                self.done = True
                w = self.model.D.conv4.weight
                w.assign(w * np.nan)

    run = Run(options(tmp_path, "progan", tmp_path / "run"), callbacks=[Poison()])
    run.train()
    events = [json.loads(line) for line in open(tmp_path / "run" / "stats.jsonl") if "event" in line]
    assert [(e["event"], e["step"]) for e in events] == [("rollback", 2)] and "nan" in events[0]["reason"]
    assert int(run.model.step.numpy()) == 6 and all(np.all(np.isfinite(w)) for w in weights(run))
    assert train  # the function form is the same driver
