"""ProGAN training as a keras.Model: WGAN-GP with drift, under a progressive schedule.

Per minibatch, as the paper and its official code do:
  D: E[D(G(z))] - E[D(x)] + gp_weight * (|grad D(x_hat)| - 1)^2 + drift * D(x)^2,
     x_hat a random per-sample blend of the real and generated image;
  G: -E[D(G(z))];
  G_ema <- lerp(G, G_ema, beta), beta = 0.5 ** (batch / (ema_kimg * 1000)).
Both networks run at the resolution of the current stage of the
`ProgressiveSchedule` (real images are reduced to it), and while a resolution
fades in, alpha = (images in the stage) / (its length). The stage is read
from `nimg` before every batch (`fit` adds the callback that does it); a new
stage compiles a new step function, alpha is a run-time value. Random draws
are stateless, from (seed, step), so a resumed run repeats them.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.networks.progan import ProGANDiscriminator, ProGANGenerator
from tf_stylegan.ops.random import fold, replica_normal, replica_position, replica_uniform
from tf_stylegan.training import losses
from tf_stylegan.training.progressive import ProgressiveSchedule, Stage, reals_at
from tf_stylegan.training.stylegan2 import clone_generator


class StageSync(keras.callbacks.Callback):
    """Before every batch, moves the model to the stage its image count is in."""

    def on_train_batch_begin(self, batch, logs=None):
        self.model.sync_stage()


@keras.saving.register_keras_serializable(package=PACKAGE)
class ProGAN(keras.Model):
    """G, D and G_ema of a progressively grown GAN, trained by `fit` on full-resolution images.

    Args:
      G, D: a ProGANGenerator and ProGANDiscriminator of the same resolution.
      schedule: the progressive schedule (target_resolution = G's).
      gp_weight, gp_target: the WGAN-GP weight (lambda 10) and target norm (1).
      drift: the weight of D(x)^2 (epsilon_drift 0.001).
      ema_kimg: G_ema half-life in thousands of images (the paper's 0.999 per
        step at batch 16 is about 11 kimg; short runs need less).
      seed: seed of every random draw.
    """

    def __init__(self, G: ProGANGenerator, D: ProGANDiscriminator, schedule: ProgressiveSchedule,
                 G_ema: ProGANGenerator | None = None, gp_weight: float = 10.0, gp_target: float = 1.0,
                 drift: float = 0.001, ema_kimg: float = 10.0, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if G.img_resolution != D.img_resolution or G.img_channels != D.img_channels:
            raise ValueError(f"ProGAN: G makes {G.img_resolution}px x{G.img_channels} images but D takes "
                             f"{D.img_resolution}px x{D.img_channels}.")
        if schedule.target_resolution != G.img_resolution:
            raise ValueError(f"ProGAN: the schedule grows to {schedule.target_resolution}px but the networks "
                             f"make {G.img_resolution}px images.")
        self.G, self.D, self.schedule = G, D, schedule
        self.G_ema = G_ema if G_ema is not None else clone_generator(G)
        self.gp_weight, self.gp_target, self.drift = float(gp_weight), float(gp_target), float(drift)
        self.ema_kimg, self.seed = float(ema_kimg), int(seed)
        self.step = self.add_weight(name="step", shape=(), dtype="int64", initializer="zeros", trainable=False,
                                    aggregation="only_first_replica")
        self.nimg = self.add_weight(name="nimg", shape=(), dtype="int64", initializer="zeros", trainable=False,
                                    aggregation="only_first_replica")
        self.stage: Stage | None = None
        self.g_optimizer = self.d_optimizer = None
        self.built = True

    def compile(self, g_optimizer=None, d_optimizer=None, g_lr: float = 0.001, d_lr: float = 0.001,
                betas=(0.0, 0.99), **kwargs):
        """Adam(lr 0.001, betas (0, 0.99), eps 1e-8) for both, the paper's, unless given."""
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(g_lr, *betas, epsilon=1e-8, name="g_adam")
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(d_lr, *betas, epsilon=1e-8, name="d_adam")
        self.g_optimizer.build(self.G.trainable_variables)
        self.d_optimizer.build(self.D.trainable_variables)
        self.sync_stage()

    def checkpoint(self) -> tf.train.Checkpoint:
        """Everything training needs to resume exactly, mid-fade included."""
        return tf.train.Checkpoint(G=self.G, D=self.D, G_ema=self.G_ema, g_optimizer=self.g_optimizer,
                                   d_optimizer=self.d_optimizer, step=self.step, nimg=self.nimg)

    def sync_stage(self) -> Stage:
        """Sets the stage for the current image count; a new stage gets a new step function."""
        stage = self.schedule.stage_at(int(self.nimg.numpy()))
        if stage != self.stage:
            self.stage = stage
            if self.train_function is not None:
                self.make_train_function(force=True)
        return self.stage

    def generate_kwargs(self) -> dict:
        """G's resolution and alpha (None outside a fade) at the current stage: for grids,
        as `StyleGAN2.generate_kwargs` (so `SnapshotGrid` shows what is being trained)."""
        stage = self.sync_stage()
        return {"resolution": stage.resolution, "alpha": stage.alpha(int(self.nimg.numpy())) if stage.fading else None}

    def fit(self, *args, callbacks=None, **kwargs):
        """keras fit, with the stage kept in step with the image count."""
        return super().fit(*args, callbacks=[*(callbacks or []), StageSync()], **kwargs)

    def call(self, z, c=None, noise_mode: str = "const", **kwargs):
        """G_ema's images at the current stage (and fade)."""
        return self.G_ema(z, c, **self.generate_kwargs())

    def train_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        stage = self.stage
        alpha = stage.alpha(self.nimg.value) if stage.fading else None
        reals = reals_at(tf.cast(images, tf.float32), stage.resolution, alpha, stage.fading)
        batch = tf.shape(reals)[0]
        _, replicas = replica_position()
        per_replica = 1.0 / replicas  # the optimizers sum gradients over replicas
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
            scaled = d_loss * per_replica
        self._apply(self.d_optimizer, tape.gradient(scaled, self.D.trainable_variables), self.D.trainable_variables)

        z = replica_normal([batch, self.G.z_dim], fold(seed, "G_z"))
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(self.D(self.G(z, **gen), alpha=alpha, training=True))
            scaled = g_loss * per_replica
        self._apply(self.g_optimizer, tape.gradient(scaled, self.G.trainable_variables), self.G.trainable_variables)

        beta = tf.pow(0.5, tf.cast(batch * replicas, tf.float32) / (self.ema_kimg * 1000.0))
        for ema, var in zip(self.G_ema.trainable_variables, self.G.trainable_variables):
            ema.assign(var + (ema - var) * beta)
        self.nimg.assign_add(tf.cast(batch * replicas, tf.int64))
        self.step.assign_add(1)
        return {"loss/G": g_loss, "loss/D": d_loss, "wasserstein": -wdist, "gp": tf.reduce_mean(gp),
                "D(real)": tf.reduce_mean(real_scores), "D(fake)": tf.reduce_mean(fake_scores),
                "alpha": tf.constant(1.0) if alpha is None else alpha,
                "resolution": tf.constant(stage.resolution)}

    @staticmethod
    def _apply(optimizer, grads, variables):
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        optimizer.apply_gradients(pairs)

    def get_config(self):
        return {"G": keras.saving.serialize_keras_object(self.G), "D": keras.saving.serialize_keras_object(self.D),
                "schedule": self.schedule.to_dict(), "gp_weight": self.gp_weight, "gp_target": self.gp_target,
                "drift": self.drift, "ema_kimg": self.ema_kimg, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["G"] = keras.saving.deserialize_keras_object(config["G"])
        config["D"] = keras.saving.deserialize_keras_object(config["D"])
        config["schedule"] = ProgressiveSchedule.from_dict(config["schedule"])
        return cls(**config)
