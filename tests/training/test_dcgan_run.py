"""The --config=dcgan|cgan training run: checkpoints, exact resume, clear errors."""

import numpy as np
import pytest

from tf_stylegan.training.dcgan_run import DCGANOptions, build_dcgan, train_dcgan


def options(outdir, **kwargs):
    base = dict(data="bundled:emoji64", outdir=str(outdir), config="cgan", batch=8, base_channels=4, z_dim=8,
                kimg=0.032, snap_kimg=0.016, grid_size=4, p0=0.999, real_label=0.9, label_noise=0.05)
    return DCGANOptions(**{**base, **kwargs})


def test_resume_continues_exactly(tmp_path):
    straight = tmp_path / "straight"
    train_dcgan(options(straight))
    split = tmp_path / "split"
    first = train_dcgan(options(split, kimg=0.016))
    assert first["step"] == 2
    second = train_dcgan(options(split, resume="latest"))
    assert second["step"] == 4
    a, _ = build_dcgan(options(straight))
    b, _ = build_dcgan(options(split))
    import tensorflow as tf

    tf.train.Checkpoint(G=a.G, D=a.D).restore(str(straight / "checkpoints" / "ckpt-4")).expect_partial()
    tf.train.Checkpoint(G=b.G, D=b.D).restore(str(split / "checkpoints" / "ckpt-4")).expect_partial()
    for x, y in zip(a.G.weights + a.D.weights, b.G.weights + b.D.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert (split / "grid.png").exists() and (split / "G.keras").exists()


def test_bad_options_fail_before_training(tmp_path):
    with pytest.raises(ValueError, match="dcgan"):
        build_dcgan(options(tmp_path, config="progan"))
    with pytest.raises(ValueError, match="no checkpoint"):
        train_dcgan(options(tmp_path / "empty", resume="latest"))
    with pytest.raises(ValueError, match="p0"):
        build_dcgan(options(tmp_path, p0=1.5))
