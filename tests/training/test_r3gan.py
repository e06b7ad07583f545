"""loss="r3gan": the relativistic pairing loss with R1 + R2 (Huang et al. 2024), checked on the logits D
actually produced in a step, run eagerly."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import changed, tiny_data, tiny_gan, values

from tf_stylegan.run import Run
from tf_stylegan.run.options import OptionError
from tf_stylegan.training import losses


def test_relativistic_losses_in_closed_form():
    real, fake = tf.constant([2.0, -1.0, 0.5]), tf.constant([0.0, 1.0, 0.5])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    np.testing.assert_allclose(losses.d_relativistic(real, fake), softplus(np.array([-2.0, 2.0, 0.0])), rtol=1e-6)
    np.testing.assert_allclose(losses.g_relativistic(real, fake), softplus(np.array([2.0, -2.0, 0.0])), rtol=1e-6)
    # Only the difference counts: shifting every logit changes nothing (unlike the logistic loss).
    np.testing.assert_allclose(losses.d_relativistic(real + 7, fake + 7), losses.d_relativistic(real, fake),
                               rtol=1e-6)


def _eager_step(phases, **kwargs):
    """One replica step run eagerly, with every D output recorded in call order."""
    keras.utils.set_random_seed(3)
    gan = tiny_gan(**kwargs)
    gan.compile(g_lr=0.002, d_lr=0.002)
    seen, d = [], gan._d
    gan._d = lambda *a, **k: seen.append(d(*a, **k)) or seen[-1]
    logs = gan.replica_step(next(iter(tiny_data())), phases)
    return gan, {k: float(v) for k, v in logs.items()}, [s.numpy()[:, 0] for s in seen]


def test_r3gan_losses_are_the_pairing_loss_of_the_logits_d_gave():
    gan, logs, seen = _eager_step(("Gmain", "Dmain"), loss="r3gan", r1_gamma=0.0, pl_weight=0.0)
    g_fake, g_real, d_fake, d_real = seen  # Gmain: D(G(z)), D(x); Dmain: D(G(z)), D(x)
    softplus = lambda x: np.mean(np.log1p(np.exp(x)))  # noqa: E731
    assert logs["loss/G"] == pytest.approx(softplus(g_real - g_fake), rel=1e-5)
    assert logs["loss/D"] == pytest.approx(softplus(d_fake - d_real), rel=1e-5)
    np.testing.assert_allclose(g_real, d_real, rtol=1e-6)  # the same reals, and D unchanged by Gmain
    # ADA's statistic is the sign of D(real) - D(fake), which a shift of D's output cannot move.
    assert logs["sum/sign"] == np.sum(np.sign(d_real - d_fake))
    # D's accuracy, for a loss that only sees differences, is the share of pairs it ranks right.
    assert logs["D_real_acc"] == logs["D_fake_acc"] == pytest.approx(np.mean(d_real > d_fake))
    logistic = _eager_step(("Gmain", "Dmain"), r1_gamma=0.0, pl_weight=0.0)[1]
    assert logistic["loss/D"] != pytest.approx(logs["loss/D"], rel=1e-3)


def test_r3gan_regularises_d_with_r1_and_r2():
    gan, logs, _ = _eager_step(("Gmain", "Dmain", "Dreg"), loss="r3gan", r1_gamma=1.0, pl_weight=0.0)
    assert logs["r1_penalty"] > 0 and logs["r2_penalty"] > 0
    # Folded into every Dmain (no lazy regularisation): R1 + R2 change D's update but not its loss.
    runs = []
    for gamma in (0.0, 10.0):
        keras.utils.set_random_seed(4)  # the same initial weights and draws
        gan = tiny_gan(loss="r3gan", lazy_regularization=False, r1_gamma=gamma, pl_weight=0.0)
        gan.compile(g_lr=0.002, d_lr=0.002)
        runs.append((gan, {k: float(v) for k, v in gan.make_train_function()(iter(tiny_data())).items()}))
    (plain, _), (with_reg, _) = runs
    logs = [run_logs for _, run_logs in runs]
    assert logs[0]["loss/D"] == pytest.approx(logs[1]["loss/D"], rel=1e-5)
    assert logs[1]["r1_penalty"] > 0 and logs[1]["r2_penalty"] > 0 and logs[0]["r2_penalty"] == 0
    assert changed(values(plain.D.trainable_variables), values(with_reg.D.trainable_variables))


def test_an_unknown_loss_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown loss 'hinge'; the losses are logistic, r3gan"):
        tiny_gan(loss="hinge")
    with pytest.raises(OptionError, match="loss"):
        Run(dict(data="bundled:emoji64", outdir=str(tmp_path / "r"), config="tiny", loss="hinge"))
