"""ProGAN training as a keras.Model: WGAN-GP with drift, under a progressive schedule.

Per minibatch, as the paper and its official code do:
  D: E[D(G(z))] - E[D(x)] + gp_weight * (|grad D(x_hat)| - 1)^2 + drift * D(x)^2,
     x_hat a random per-sample blend of the real and generated image;
  G: -E[D(G(z))];
  G_ema <- lerp(G, G_ema, beta), beta = 0.5 ** (batch / (ema_kimg * 1000)).
Both networks run at the resolution of the current stage of the
`ProgressiveSchedule` (real images are reduced to it), and while a resolution
fades in, alpha = (images in the stage) / (its length). The stage is read
from `nimg` before every batch and selects the compiled step (training/base.py);
alpha is a run-time value. Random draws are stateless, from (seed, step), so
a resumed run repeats them.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.networks.progan import ProGANDiscriminator, ProGANGenerator
from tf_stylegan.ops.random import fold, replica_normal, replica_uniform
from tf_stylegan.training import losses
from tf_stylegan.training.base import GANModel
from tf_stylegan.training.progressive import ProgressiveSchedule, Stage, reals_at


@keras.saving.register_keras_serializable(package=PACKAGE)
class ProGAN(GANModel):
    """G, D and G_ema of a progressively grown GAN, trained on full-resolution images.

    Args:
      G, D: a ProGANGenerator and ProGANDiscriminator of the same resolution.
      schedule: the progressive schedule (target_resolution = G's).
      gp_weight, gp_target: the WGAN-GP weight (lambda 10) and target norm (1).
      drift: the weight of D(x)^2 (epsilon_drift 0.001).
      ema_kimg: G_ema half-life in thousands of images (the paper's 0.999 per
        step at batch 16 is about 11 kimg; short runs need less).
      seed: seed of every random draw.
    """

    family = "progan"

    def __init__(self, G: ProGANGenerator, D: ProGANDiscriminator, schedule: ProgressiveSchedule,
                 G_ema: ProGANGenerator | None = None, gp_weight: float = 10.0, gp_target: float = 1.0,
                 drift: float = 0.001, ema_kimg: float = 10.0, seed: int = 0, **kwargs):
        if schedule is None:
            raise ValueError("ProGAN grows progressively: give a ProgressiveSchedule.")
        super().__init__(G, D, G_ema=G_ema, ema_kimg=ema_kimg, schedule=schedule, seed=seed, **kwargs)
        self.gp_weight, self.gp_target, self.drift = float(gp_weight), float(gp_target), float(drift)

    def compile(self, g_optimizer=None, d_optimizer=None, g_lr: float = 0.001, d_lr: float = 0.001,
                betas=(0.0, 0.99), **kwargs):
        """Adam(lr 0.001, betas (0, 0.99), eps 1e-8) for both, the paper's, unless given."""
        super().compile(g_optimizer, d_optimizer, g_lr=g_lr, d_lr=d_lr, betas=betas, **kwargs)

    def replica_step(self, data, stage: Stage):
        images, _ = self.unpack(data)
        alpha = stage.alpha(self.nimg.value) if stage.fading else None
        reals = reals_at(images, stage.resolution, alpha, stage.fading)
        batch = tf.shape(reals)[0]
        seed = fold(tf.constant([self.seed, 0], tf.int64), self.step)
        gen = dict(resolution=stage.resolution, alpha=alpha, training=True)

        z = replica_normal([batch, self.G.z_dim], fold(seed, "D_z"))
        fakes = tf.stop_gradient(self.G(z, **gen))
        mixing = replica_uniform([batch, 1, 1, 1], fold(seed, "D_mix"))
        with tf.GradientTape() as tape:
            real_scores = self.D(reals, alpha=alpha, training=True)
            fake_scores = self.D(fakes, alpha=alpha, training=True)
            gp = losses.gradient_penalty(self.D, reals, fakes, mixing, self.gp_target, alpha=alpha)
            drift = losses.drift_penalty(real_scores)
            wdist = tf.reduce_mean(losses.d_wgan(real_scores, fake_scores))
            d_loss = wdist + self.gp_weight * tf.reduce_mean(gp) + self.drift * tf.reduce_mean(drift)
        self.minimize(self.d_optimizer, tape, d_loss, self.D.trainable_variables)

        z = replica_normal([batch, self.G.z_dim], fold(seed, "G_z"))
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(self.D(self.G(z, **gen), alpha=alpha, training=True))
        self.minimize(self.g_optimizer, tape, g_loss, self.G.trainable_variables)
        return {"loss/G": g_loss, "loss/D": d_loss, "wasserstein": -wdist, "gp": tf.reduce_mean(gp),
                "D(real)": tf.reduce_mean(real_scores), "D(fake)": tf.reduce_mean(fake_scores), "batch": batch}

    def family_config(self):
        return {"gp_weight": self.gp_weight, "gp_target": self.gp_target, "drift": self.drift}
