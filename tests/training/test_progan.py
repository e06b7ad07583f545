"""ProGAN training: the WGAN-GP and drift terms, growing through fit, and an exact resume mid-fade."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.networks.progan import ProGANDiscriminator, ProGANGenerator
from tf_stylegan.training import losses, progan_run
from tf_stylegan.training.progan import ProGAN
from tf_stylegan.training.progan_run import ProGANOptions, build_progan, train_progan
from tf_stylegan.training.progressive import ProgressiveSchedule


def test_gradient_penalty_of_a_linear_critic():
    w = tf.constant(np.random.default_rng(0).normal(size=[1, 2, 2, 3]), tf.float32)

    def critic(x, scale=1.0):  # D(x) = scale * <w, x>: its gradient is scale * w everywhere
        return scale * tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]

    reals, fakes = tf.ones([2, 2, 2, 3]), tf.zeros([2, 2, 2, 3])
    norm = float(tf.norm(w))
    gp = losses.gradient_penalty(critic, reals, fakes, tf.fill([2, 1, 1, 1], 0.3), scale=2.0).numpy()
    np.testing.assert_allclose(gp, [(2 * norm - 1) ** 2] * 2, rtol=1e-5)
    gp = losses.gradient_penalty(critic, reals, fakes, tf.fill([2, 1, 1, 1], 0.3), target=4.0).numpy()
    np.testing.assert_allclose(gp, [(norm - 4) ** 2 / 16] * 2, rtol=1e-5)
    np.testing.assert_allclose(losses.drift_penalty(tf.constant([[-3.0], [2.0]])).numpy(), [[9.0], [4.0]])
    np.testing.assert_allclose(losses.d_wgan(tf.constant([1.0]), tf.constant([-2.0])).numpy(), [-3.0])


def small_gan(**kwargs):
    keras.utils.set_random_seed(0)
    net = dict(img_resolution=8, channel_base=128, channel_max=16)
    schedule = ProgressiveSchedule(8, start_resolution=4, stable_kimg=0.016, fade_kimg=0.016, batch=8)
    gan = ProGAN(ProGANGenerator(z_dim=8, **net), ProGANDiscriminator(**net), schedule, ema_kimg=0.01, **kwargs)
    gan.compile()
    return gan


def test_fit_grows_through_the_schedule():
    gan = small_gan()
    images = np.random.default_rng(0).uniform(-1, 1, (48, 8, 8, 3)).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(8).repeat()
    before = [w.numpy() for w in gan.G.weights + gan.D.weights]
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((int(logs["resolution"]), round(float(logs["alpha"]), 4)))

    gan.fit(ds, epochs=1, steps_per_epoch=6, callbacks=[Record()], verbose=0)
    # stable 4x4 (2 steps), fade 8x8 over 16 images (alpha 0, 0.5), stable 8x8
    assert seen == [(4, 1.0), (4, 1.0), (8, 0.0), (8, 0.5), (8, 1.0), (8, 1.0)]
    assert int(gan.nimg.numpy()) == 48 and gan.stage.resolution == 8 and not gan.stage.fading
    after = [w.numpy() for w in gan.G.weights + gan.D.weights]
    assert all(np.any(a != b) for a, b in zip(before, after))  # every layer trained, 4x4 and 8x8 alike
    ema_gap = max(np.abs(e.numpy() - g.numpy()).max() for e, g in zip(gan.G_ema.weights, gan.G.weights))
    assert 0 < ema_gap


def options(outdir, **kwargs):
    base = dict(data="bundled:emoji64", outdir=str(outdir), resolution=8, start_resolution=4, stable_kimg=0.016,
                fade_kimg=0.016, batch=8, batch_sizes={}, z_dim=8, channel_base=128, channel_max=16, kimg=0.04,
                snap_kimg=0.008, grid_size=4, ema_kimg=0.01)
    return ProGANOptions(**{**base, **kwargs})


def test_resume_mid_fade_continues_exactly(tmp_path, monkeypatch):
    straight = train_progan(options(tmp_path / "straight", snap_kimg=1))  # one chunk per stage
    assert straight == {**straight, "step": 5, "kimg": 0.04, "resolution": 8}

    real_grid, calls = progan_run.snapshot_grid, []

    def crash_after_third_checkpoint(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # one step per chunk: the checkpoint at step 3 (nimg 24, half-way through the fade)
            raise KeyboardInterrupt("simulated crash")
        return real_grid(*args, **kwargs)

    monkeypatch.setattr(progan_run, "snapshot_grid", crash_after_third_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        train_progan(options(tmp_path / "split"))
    monkeypatch.setattr(progan_run, "snapshot_grid", real_grid)
    with pytest.raises(ValueError, match="already holds checkpoints"):
        train_progan(options(tmp_path / "split"))
    resumed_gan, _ = build_progan(options(tmp_path / "split"))
    resumed_gan.checkpoint().restore(str(tmp_path / "split" / "checkpoints" / "ckpt-3"))
    assert resumed_gan.generate_kwargs() == {"resolution": 8, "alpha": 0.5}
    train_progan(options(tmp_path / "split", resume="latest"))

    a, _ = build_progan(options(tmp_path / "straight"))
    b, _ = build_progan(options(tmp_path / "split"))
    a.checkpoint().restore(str(tmp_path / "straight" / "checkpoints" / "ckpt-5"))
    b.checkpoint().restore(str(tmp_path / "split" / "checkpoints" / "ckpt-5"))
    for x, y in zip(a.G.weights + a.D.weights + a.G_ema.weights, b.G.weights + b.D.weights + b.G_ema.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert (tmp_path / "split" / "grid.png").exists() and (tmp_path / "split" / "G_ema.keras").exists()


def test_bad_options_fail_before_training(tmp_path):
    with pytest.raises(ValueError, match="does not reach 8px within --kimg=0.03"):
        build_progan(options(tmp_path, kimg=0.03))
    with pytest.raises(ValueError, match="unconditional: drop --cond"):
        build_progan(options(tmp_path, cond=True))
    with pytest.raises(ValueError, match="--resolution=24"):
        build_progan(options(tmp_path, resolution=24))
    with pytest.raises(ValueError, match="no checkpoint"):
        train_progan(options(tmp_path / "empty", resume="latest"))
    G = ProGANGenerator(z_dim=8, img_resolution=8, channel_base=128, channel_max=16)
    D = ProGANDiscriminator(img_resolution=16, channel_base=128, channel_max=16)
    with pytest.raises(ValueError, match="8px x3 images but D takes 16px"):
        ProGAN(G, D, ProgressiveSchedule(8))
