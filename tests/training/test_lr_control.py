"""Learning-rate control for fine-tuning: schedules per side, balance in the trainer, and the
transfer of a pretrained unconditional model to a tagged dataset."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_data, tiny_gan

from tf_stylegan.networks.presets import load_preset
from tf_stylegan.run import Run, TrainingError
from tf_stylegan.run.callbacks import LRSchedule, parse_lr_schedule
from tf_stylegan.training.transfer import transfer_weights


def test_parse_lr_schedule():
    assert parse_lr_schedule("100:0.0003,0:0.002") == [(0.0, 0.002), (100.0, 0.0003)]
    assert parse_lr_schedule(["0:1e-3"]) == [(0.0, 0.001)] and parse_lr_schedule(None) == []
    for bad in ("0.002", "a:1", "10:0", "-1:0.1"):
        with pytest.raises(ValueError, match="is not KIMG:LR"):
            parse_lr_schedule(bad, "--d-lr-schedule")


def test_schedule_sets_each_side_at_its_points_with_the_lazy_scaling():
    gan = tiny_gan()
    gan.compile(g_lr=0.0025, d_lr=0.0025)
    rates = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            rates.append((float(gan.g_optimizer.learning_rate.numpy()), float(gan.d_optimizer.learning_rate.numpy())))

    schedule = LRSchedule(g="0:0.002,0.008:0.001", d=[(0.004, 1e-4)])
    gan.fit(tiny_data(batch=4), epochs=1, steps_per_epoch=3, callbacks=[schedule, Record()], verbose=0)
    g_c, d_c = 4 / 5, 16 / 17  # c = k / (k + 1) for the G (4) and D (16) intervals
    expected = [(0.002 * g_c, 0.0025 * d_c), (0.002 * g_c, 1e-4 * d_c), (0.001 * g_c, 1e-4 * d_c)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert [c["optimizer"] for c in schedule.changes] == ["g", "d", "g"]

    resumed = LRSchedule(g="0:0.005")  # a resumed run (nimg > 0) keeps the rates it restored
    gan.d_optimizer.learning_rate = 0.0007
    resumed.apply(gan)
    assert resumed.changes == [] and float(gan.d_optimizer.learning_rate.numpy()) == pytest.approx(0.0007)


def test_transfer_to_a_conditional_model_starts_as_the_pretrained_one():
    keras.utils.set_random_seed(0)
    G, D = load_preset("tiny").build()
    G_c, D_c = load_preset("tiny", c_dim=5).build()
    assert transfer_weights(G, G_c) == ["mapping/embed/weight", "mapping/embed/bias", "mapping/fc0/weight"]
    fresh_d = transfer_weights(D, D_c)
    assert {"b4/out/weight", "b4/out/bias", "mapping/fc0/weight"} <= set(fresh_d)
    assert all(p.startswith(("mapping/", "b4/out/")) for p in fresh_d)
    z = tf.random.stateless_normal([3, 64], [0, 0])
    tags = tf.constant(np.random.default_rng(0).random([3, 5]) < 0.5, tf.float32)
    np.testing.assert_allclose(G_c(z, tags, noise_mode="const").numpy(), G(z, noise_mode="const").numpy(),
                               atol=1e-5)
    np.testing.assert_array_equal(G_c.synthesis.b32.conv1.weight.numpy(), G.synthesis.b32.conv1.weight.numpy())
    wider = load_preset("tiny", c_dim=5)
    wider.G["channel_max"] = 32
    with pytest.raises(ValueError, match="differ beyond their conditioning"):
        transfer_weights(G, wider.build()[0])


def test_driver_fine_tunes_a_pretrained_model_on_tags(tmp_path, caplog):
    keras.utils.set_random_seed(1)
    G, _ = load_preset("tiny").build()
    G.save(tmp_path / "pretrained.keras")
    opts = dict(data="bundled:emoji64", outdir=str(tmp_path / "ft"), config="tiny", cond=True, kimg=0.016, batch=4,
                progress=False, snap=100.0, init_from=str(tmp_path / "pretrained.keras"),
                d_lr_schedule="0.008:0.0001", lr_balance=True)
    run = Run(opts)
    run.restore()
    assert "conditioning weights start fresh" in caplog.text
    np.testing.assert_array_equal(run.model.G.synthesis.b8.conv0.weight.numpy(), G.synthesis.b8.conv0.weight.numpy())
    logs = Run({**opts, "outdir": str(tmp_path / "ft2")}).train()  # the whole recipe
    assert np.isfinite(logs["loss/G"]) and np.isfinite(logs["loss/D"])
    assert keras.models.load_model(tmp_path / "ft2" / "G_ema.keras").c_dim == 14  # the bundled dataset's tags
    with pytest.raises(ValueError, match="is not KIMG:LR"):
        Run({**opts, "d_lr_schedule": "soon:0.1", "outdir": str(tmp_path / "z")}).train()
    with pytest.raises(TrainingError, match="differ beyond their conditioning"):
        Run({**opts, "config": "cpu32", "outdir": str(tmp_path / "x")}).restore()
