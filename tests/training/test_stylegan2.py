import keras
import numpy as np
import pytest
from helpers import changed, tiny_data, tiny_gan, values

from tf_stylegan.run import LRBalance, SnapshotGrid
from tf_stylegan.training import lazy_adam, lr_scale


@pytest.mark.parametrize("interval,c", [(4, 0.8), (16, 16 / 17), (None, 1.0)])
def test_lazy_adam_scales_lr_and_betas_by_c(interval, c):
    opt = lazy_adam(0.002, (0.5, 0.99), interval)
    assert lr_scale(interval) == pytest.approx(c)
    assert float(opt.learning_rate.numpy()) == pytest.approx(0.002 * c, rel=1e-6)
    assert opt.beta_1 == pytest.approx(0.5**c) and opt.beta_2 == pytest.approx(0.99**c)
    assert opt.epsilon == pytest.approx(1e-8)


def test_compile_builds_the_official_optimizers():
    gan = tiny_gan(g_reg_interval=4, d_reg_interval=16)
    gan.compile(g_lr=0.0025, d_lr=0.002, betas=(0.0, 0.99))
    assert float(gan.g_optimizer.learning_rate.numpy()) == pytest.approx(0.0025 * 4 / 5, rel=1e-6)
    assert float(gan.d_optimizer.learning_rate.numpy()) == pytest.approx(0.002 * 16 / 17, rel=1e-6)
    assert gan.d_optimizer.beta_2 == pytest.approx(0.99 ** (16 / 17))


def test_each_phase_changes_exactly_what_it_should():
    gan = tiny_gan(g_reg_interval=2, d_reg_interval=3, pl_weight=2.0)
    gan.compile(g_lr=0.002, d_lr=0.002)
    train = gan.make_train_function()
    it = iter(tiny_data())
    # The phases are data: (name, optimizer, interval). Step 0: both regularisers, 1: neither, 2: Greg, 3: Dreg.
    assert [(p.name, p.side, p.interval) for p in gan.phases] == [("Gmain", "g", 1), ("Greg", "g", 2),
                                                                  ("Dmain", "d", 1), ("Dreg", "d", 3)]
    expected = {0: (True, True), 1: (False, False), 2: (True, False), 3: (False, True)}
    for step, (greg, dreg) in expected.items():
        assert gan.phases_at(step) == ("Gmain",) + ("Greg",) * greg + ("Dmain",) + ("Dreg",) * dreg
        g_it, d_it = int(gan.g_optimizer.iterations.numpy()), int(gan.d_optimizer.iterations.numpy())
        pl_mean, r1 = float(gan.pl_mean.numpy()), float(gan.last_r1.numpy())
        g_w, d_w, ema_w = values(gan.G.trainable_variables), values(gan.D.trainable_variables), values(
            gan.G_ema.trainable_variables)
        train(it)
        # Each phase is one optimizer step: a regularised step applies the optimizer twice.
        assert int(gan.g_optimizer.iterations.numpy()) - g_it == 1 + greg
        assert int(gan.d_optimizer.iterations.numpy()) - d_it == 1 + dreg
        assert (float(gan.pl_mean.numpy()) != pl_mean) == greg
        assert (float(gan.last_r1.numpy()) != r1) == dreg
        assert changed(g_w, values(gan.G.trainable_variables))
        assert changed(d_w, values(gan.D.trainable_variables))
        assert changed(ema_w, values(gan.G_ema.trainable_variables))
        assert int(gan.step.numpy()) == step + 1 and int(gan.nimg.numpy()) == 4 * (step + 1)


def test_disabled_regularisers_never_run():
    gan = tiny_gan(pl_weight=0.0, r1_gamma=0.0)
    assert gan.phases_at(0) == ("Gmain", "Dmain") and gan.phases_at(16) == ("Gmain", "Dmain")


def test_ema_follows_the_official_schedule():
    gan = tiny_gan(ema_kimg=1.0, ema_rampup=None)
    gan.compile()
    train = gan.make_train_function()
    it = iter(tiny_data())
    train(it)
    before = values(gan.G_ema.trainable_variables)
    train(it)
    beta = 0.5 ** (4 / 1000.0)
    for ema_old, g, ema in zip(before, values(gan.G.trainable_variables), values(gan.G_ema.trainable_variables)):
        np.testing.assert_allclose(ema, g + (ema_old - g) * beta, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gan.G_ema.mapping.w_avg.numpy(), gan.G.mapping.w_avg.numpy())  # copied


def test_ema_rampup_starts_as_a_copy():
    gan = tiny_gan(ema_kimg=10.0, ema_rampup=0.05)
    gan.compile()
    gan.make_train_function()(iter(tiny_data()))
    for g, ema in zip(values(gan.G.trainable_variables), values(gan.G_ema.trainable_variables)):
        np.testing.assert_array_equal(g, ema)  # nimg 0 -> ema_nimg 0 -> beta 0


def test_conditional_training_and_reported_metrics():
    gan = tiny_gan(c_dim=3)
    gan.compile()
    logs = gan.make_train_function()(iter(tiny_data(c_dim=3)))
    expected = {"loss/G", "loss/D", "r1_penalty", "pl_penalty", "pl_mean", "D_real", "D_fake", "D_real_acc",
                "D_fake_acc", "G_grad_norm", "D_grad_norm"}
    assert expected <= set(logs)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert 0 <= float(logs["D_real_acc"]) <= 1


def test_fit_with_callbacks(tmp_path):
    gan = tiny_gan()
    gan.compile()
    balance = LRBalance(d_dominates_acc=0.0, patience=2, d_factor=2.0)  # fires: accuracy is always >= 0
    history = gan.fit(tiny_data(), epochs=2, steps_per_epoch=3, verbose=0,
                      callbacks=[SnapshotGrid(str(tmp_path), every_kimg=0.008, count=4), balance])
    assert int(gan.step.numpy()) == 6 and "loss/G" in history.history
    assert (tmp_path / "G_ema.keras").exists()
    assert sorted(p.name for p in (tmp_path / "snapshots").glob("grid-*.png")) == [
        "grid-000000008.png", "grid-000000016.png", "grid-000000024.png"]  # every 8 images (2 steps)
    assert balance.changes and balance.changes[0]["lr"] == pytest.approx(0.002 * 16 / 17 / 2, rel=1e-5)
    assert isinstance(keras.models.load_model(tmp_path / "G_ema.keras"), type(gan.G))


def test_lr_balance_lowers_both_when_g_loss_runs_away():
    gan = tiny_gan()
    gan.compile()
    balance = LRBalance(diverge_loss=5.0, patience=3, both_factor=10.0)
    balance.set_model(gan)
    for _ in range(3):
        balance.on_train_batch_end(0, {"loss/G": 9.0, "D_real_acc": 0.5, "D_fake_acc": 0.5})
    assert {c["optimizer"] for c in balance.changes} == {gan.g_optimizer.name, gan.d_optimizer.name}
    assert float(gan.g_optimizer.learning_rate.numpy()) == pytest.approx(0.002 * 0.8 / 10, rel=1e-5)


def test_checkpoint_restores_everything(tmp_path):
    gan = tiny_gan()
    gan.compile()
    train = gan.make_train_function()
    it = iter(tiny_data())
    train(it)
    path = gan.checkpoint().save(str(tmp_path / "ckpt"))
    saved = values(gan.G.variables + gan.D.variables + gan.G_ema.variables + gan.g_optimizer.variables)
    train(it)
    gan.checkpoint().restore(path).assert_existing_objects_matched()
    now = values(gan.G.variables + gan.D.variables + gan.G_ema.variables + gan.g_optimizer.variables)
    assert not changed(saved, now) and int(gan.step.numpy()) == 1


def _one_step(**kwargs):
    keras.utils.set_random_seed(3)
    gan = tiny_gan(**kwargs)
    gan.compile(g_lr=0.002, d_lr=0.002)
    logs = gan.make_train_function()(iter(tiny_data()))
    return gan, {k: float(v) for k, v in logs.items()}


def test_without_lazy_regularisation_r1_and_pl_join_every_main_step():
    both, logs = _one_step(lazy_regularization=False, r1_gamma=10.0, pl_weight=2.0)
    assert both.phases_at(0) == ("Gmain", "Dmain") and both.lazy_intervals == {"g": None, "d": None}
    assert float(both.d_optimizer.learning_rate.numpy()) == pytest.approx(0.002)  # c = 1
    assert both.d_optimizer.beta_2 == pytest.approx(0.99)
    assert int(both.g_optimizer.iterations.numpy()) == int(both.d_optimizer.iterations.numpy()) == 1
    assert logs["r1_penalty"] > 0 and logs["pl_penalty"] > 0 and float(both.pl_mean.numpy()) != 0
    plain, plain_logs = _one_step(lazy_regularization=False, r1_gamma=0.0, pl_weight=0.0)
    assert plain_logs["r1_penalty"] == 0 and plain_logs["pl_penalty"] == 0
    # Same draws: R1 alone leaves G and D's loss as they were and changes only D's update ...
    r1, r1_logs = _one_step(lazy_regularization=False, r1_gamma=10.0, pl_weight=0.0)
    assert r1_logs["loss/D"] == pytest.approx(plain_logs["loss/D"], rel=1e-5)
    assert not changed(values(r1.G.trainable_variables), values(plain.G.trainable_variables))
    assert changed(values(r1.D.trainable_variables), values(plain.D.trainable_variables))
    # ... and path length alone changes G's update, not G's loss.
    pl, pl_logs = _one_step(lazy_regularization=False, r1_gamma=0.0, pl_weight=2.0)
    assert pl_logs["loss/G"] == pytest.approx(plain_logs["loss/G"], rel=1e-5)
    assert changed(values(pl.G.trainable_variables), values(plain.G.trainable_variables))
