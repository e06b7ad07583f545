"""DCGAN / CGAN training as a keras.Model, with the anime-DCGAN stabilisation tricks.

The loss is binary cross-entropy on D's logits, with the non-saturating G loss.
Each trick is an option, off by default:

- `real_label` < 1: soft real labels (one-sided label smoothing, e.g. 0.9).
- `label_noise` > 0: each sample's real/fake target is swapped with this
  probability (noisy labels). It is a variable, so a callback can change it,
  and it is checkpointed.
- `p0`: within a step, D is not updated when its accuracy on the batch already
  reaches p0, and G is not updated when it already fools D on a fraction p0 of
  its batch (0.999 is the usual choice). Skipped updates leave the weights and
  the optimizer state untouched. The conditional update uses `tf.cond`, which
  runs on one device; leave p0 unset under a multi-replica strategy.
- `AccuracyRollback` (tf_stylegan.run.callbacks): when one side's accuracy
  stays at 0 for a number of steps, restore the last good weights and
  optimizer state and raise the label noise.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.training.base import GANModel


def _bce(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits))


def discriminator_targets(n, real_label: float, label_noise, seed) -> tuple[tf.Tensor, tf.Tensor]:
    """(targets for D(real), targets for D(fake)), [n, 1] each; with probability
    `label_noise` a sample's pair is swapped."""
    real = tf.fill([n, 1], tf.cast(real_label, tf.float32))
    fake = tf.zeros([n, 1])
    flip = tf.random.stateless_uniform([n, 1], seed) < tf.cast(label_noise, tf.float32)
    return tf.where(flip, fake, real), tf.where(flip, real, fake)


def _sign_accuracy(positive: tf.Tensor, negative: tf.Tensor | None = None) -> tf.Tensor:
    """Fraction of logits on the right side: `positive` should be > 0, `negative` < 0."""
    right = tf.reduce_sum(tf.cast(positive > 0, tf.float32))
    count = tf.cast(tf.size(positive), tf.float32)
    if negative is not None:
        right += tf.reduce_sum(tf.cast(negative < 0, tf.float32))
        count += tf.cast(tf.size(negative), tf.float32)
    return right / count


@keras.saving.register_keras_serializable(package=PACKAGE)
class DCGAN(GANModel):
    """G, D (and G_ema) of a DCGAN or CGAN, trained on (images) or (images, labels).

    `ema_kimg` None (the DCGAN paper's choice) makes G_ema a copy of G, so that
    every family ships the same G_ema; a half-life in kimg averages as StyleGAN2 does.
    """

    family = "dcgan"

    def __init__(self, G: keras.Model, D: keras.Model, G_ema: keras.Model | None = None, real_label: float = 1.0,
                 label_noise: float = 0.0, p0: float | None = None, ema_kimg: float | None = None, seed: int = 0,
                 **kwargs):
        if not 0.0 < real_label <= 1.0:
            raise ValueError(f"DCGAN: real_label must be in (0, 1], got {real_label}.")
        if not 0.0 <= label_noise < 0.5:
            raise ValueError(f"DCGAN: label_noise must be in [0, 0.5), got {label_noise}.")
        if p0 is not None and not 0.0 <= p0 <= 1.0:
            raise ValueError(f"DCGAN: p0 must be in [0, 1], got {p0}.")
        super().__init__(G, D, G_ema=G_ema, ema_kimg=ema_kimg, seed=seed, **kwargs)
        self.real_label, self.p0 = float(real_label), p0
        self.label_noise = self.add_weight(name="label_noise", shape=(), trainable=False,
                                           initializer=keras.initializers.Constant(float(label_noise)),
                                           aggregation="only_first_replica")

    def compile(self, g_optimizer=None, d_optimizer=None, g_lr: float = 2e-4, d_lr: float = 2e-4,
                betas=(0.5, 0.999), **kwargs):
        """Adam(2e-4, betas (0.5, 0.999)) for both sides, the DCGAN paper's, unless optimizers are given."""
        super().compile(g_optimizer, d_optimizer, g_lr=g_lr, d_lr=d_lr, betas=betas, **kwargs)

    def extra_state(self) -> dict:
        return {"label_noise": self.label_noise}

    def replica_step(self, data, stage=None):
        images, c = self.unpack(data)
        n = tf.shape(images)[0]
        seed = tf.stack([tf.cast(self.seed, tf.int64), self.step.value])
        seeds = tf.random.experimental.stateless_split(seed, 4)
        z = tf.random.stateless_normal([n, self.G.z_dim], seeds[0])
        real_t, fake_t = discriminator_targets(n, self.real_label, self.label_noise.value, seeds[1])

        with tf.GradientTape() as tape:
            fakes = self.G(z, c, training=True)
            real_logits = tf.cast(self.D(images, c, training=True), tf.float32)
            fake_logits = tf.cast(self.D(fakes, c, training=True), tf.float32)
            d_loss = _bce(real_t, real_logits) + _bce(fake_t, fake_logits)
        d_acc = _sign_accuracy(real_logits, fake_logits)
        d_skip = None if self.p0 is None else d_acc >= self.p0
        self.minimize(self.d_optimizer, tape, d_loss, self.D.trainable_variables, d_skip)

        z = tf.random.stateless_normal([n, self.G.z_dim], seeds[2])
        with tf.GradientTape() as tape:
            logits = tf.cast(self.D(self.G(z, c, training=True), c, training=True), tf.float32)
            g_loss = _bce(tf.ones_like(logits), logits)
        g_acc = _sign_accuracy(logits)  # how often G fools D
        g_skip = None if self.p0 is None else g_acc >= self.p0
        self.minimize(self.g_optimizer, tape, g_loss, self.G.trainable_variables, g_skip)
        updated = (lambda skip: tf.constant(1.0) if skip is None else 1.0 - tf.cast(skip, tf.float32))
        return {"loss/G": g_loss, "loss/D": d_loss, "acc/D": d_acc, "acc/G": g_acc,
                "D_real_acc": _sign_accuracy(real_logits), "D_fake_acc": _sign_accuracy(-fake_logits),
                "updated/D": updated(d_skip), "updated/G": updated(g_skip),
                "D(real)": tf.reduce_mean(real_logits), "D(fake)": tf.reduce_mean(fake_logits), "batch": n}

    def family_config(self):
        return {"real_label": self.real_label, "label_noise": float(self.label_noise.numpy()), "p0": self.p0}
