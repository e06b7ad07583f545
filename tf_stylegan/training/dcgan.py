"""DCGAN / CGAN training as a keras.Model, with the anime-DCGAN stabilisation tricks.

The loss is binary cross-entropy on D's logits, with the non-saturating G loss.
Each trick is an option, off by default:

- `real_label` < 1: soft real labels (one-sided label smoothing, e.g. 0.9).
- `label_noise` > 0: each sample's real/fake target is swapped with this
  probability (noisy labels). It is a variable, so a callback can change it.
- `p0`: within a step, D is not updated when its accuracy on the batch already
  reaches p0, and G is not updated when it already fools D on a fraction p0 of
  its batch (0.999 is the usual choice). Skipped updates leave the weights and
  the optimizer state untouched. The conditional update uses `tf.cond`, which
  runs on one device; leave p0 unset under a multi-replica strategy.
- `AccuracyRollback` (callback): when one side's accuracy stays at 0 for a
  number of steps, restore the last good weights and optimizer state and raise
  the label noise.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


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


@keras.saving.register_keras_serializable(package="tf_stylegan")
class DCGAN(keras.Model):
    """G and D of a DCGAN or CGAN, trained by `fit` on (images) or (images, labels)."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, real_label: float = 1.0,
                 label_noise: float = 0.0, p0: float | None = None, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < real_label <= 1.0:
            raise ValueError(f"DCGAN: real_label must be in (0, 1], got {real_label}.")
        if not 0.0 <= label_noise < 0.5:
            raise ValueError(f"DCGAN: label_noise must be in [0, 0.5), got {label_noise}.")
        if p0 is not None and not 0.0 <= p0 <= 1.0:
            raise ValueError(f"DCGAN: p0 must be in [0, 1], got {p0}.")
        if generator.c_dim != discriminator.c_dim:
            raise ValueError(f"DCGAN: G has c_dim {generator.c_dim} but D has {discriminator.c_dim}.")
        self.G, self.D = generator, discriminator
        self.real_label, self.p0, self.seed = float(real_label), p0, int(seed)
        self.label_noise = keras.Variable(float(label_noise), trainable=False, name="label_noise")
        self.step = keras.Variable(0, dtype="int64", trainable=False, name="step")

    def compile(self, g_optimizer=None, d_optimizer=None, g_lr: float = 2e-4, d_lr: float = 2e-4,
                beta_1: float = 0.5, **kwargs):
        """Adam(2e-4, beta_1=0.5) for both sides unless optimizers are given."""
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(g_lr, beta_1=beta_1)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(d_lr, beta_1=beta_1)

    def call(self, z, c=None, training=False):
        return self.G(z, c, training=training)

    def _unpack(self, data):
        images, labels = (data[0], data[1] if len(data) > 1 else None) if isinstance(data, (tuple, list)) \
            else (data, None)
        if self.G.c_dim and labels is None:
            raise ValueError(f"The generator is conditional (c_dim={self.G.c_dim}) but the data has no labels.")
        c = tf.cast(labels, tf.float32) if self.G.c_dim else None
        return tf.cast(images, tf.float32), c

    def _update(self, optimizer, grads, variables, skip: tf.Tensor | None):
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not optimizer.built:
            optimizer.build([v for _, v in pairs])
        if skip is None:
            optimizer.apply_gradients(pairs)
            return tf.constant(1.0)
        return tf.cond(skip, lambda: tf.constant(0.0),
                       lambda: (optimizer.apply_gradients(pairs), tf.constant(1.0))[1])

    def train_step(self, data):
        images, c = self._unpack(data)
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
        d_grads = tape.gradient(d_loss, self.D.trainable_variables)
        d_skip = None if self.p0 is None else d_acc >= self.p0
        d_updated = self._update(self.d_optimizer, d_grads, self.D.trainable_variables, d_skip)

        z = tf.random.stateless_normal([n, self.G.z_dim], seeds[2])
        with tf.GradientTape() as tape:
            logits = tf.cast(self.D(self.G(z, c, training=True), c, training=True), tf.float32)
            g_loss = _bce(tf.ones_like(logits), logits)
        g_acc = _sign_accuracy(logits)  # how often G fools D
        g_grads = tape.gradient(g_loss, self.G.trainable_variables)
        g_skip = None if self.p0 is None else g_acc >= self.p0
        g_updated = self._update(self.g_optimizer, g_grads, self.G.trainable_variables, g_skip)
        self.step.assign_add(1)
        return {"loss/G": g_loss, "loss/D": d_loss, "acc/D": d_acc, "acc/G": g_acc,
                "updated/D": d_updated, "updated/G": g_updated,
                "D(real)": tf.reduce_mean(real_logits), "D(fake)": tf.reduce_mean(fake_logits)}

    def get_config(self):
        return {**super().get_config(), "generator": keras.saving.serialize_keras_object(self.G),
                "discriminator": keras.saving.serialize_keras_object(self.D), "real_label": self.real_label,
                "label_noise": float(self.label_noise.numpy()), "p0": self.p0, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


class AccuracyRollback(keras.callbacks.Callback):
    """Rolls a DCGAN back when one side's batch accuracy stays at 0.

    Every `snapshot_every` healthy steps it keeps a copy of G's and D's weights
    and both optimizers' state. After `patience` consecutive steps with acc/D
    or acc/G at 0 it restores that copy exactly, sets the label noise to
    `label_noise` (a common cure), logs what it did, and after `max_rollbacks`
    rollbacks stops training with a message.
    """

    def __init__(self, patience: int = 50, snapshot_every: int = 100, label_noise: float = 0.05,
                 max_rollbacks: int = 3):
        super().__init__()
        self.patience, self.snapshot_every = patience, snapshot_every
        self.new_label_noise, self.max_rollbacks = label_noise, max_rollbacks
        self.stuck = 0
        self.healthy = 0
        self.rollbacks = 0
        self.snapshot: list[np.ndarray] | None = None
        self.events: list[str] = []

    def _variables(self):
        gan = self.model
        opt_vars = list(gan.g_optimizer.variables) + list(gan.d_optimizer.variables)
        return list(gan.G.weights) + list(gan.D.weights) + opt_vars

    def take_snapshot(self) -> None:
        self.snapshot = [np.array(v.numpy(), copy=True) for v in self._variables()]

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if float(logs.get("acc/D", 1.0)) == 0.0 or float(logs.get("acc/G", 1.0)) == 0.0:
            self.stuck += 1
            self.healthy = 0
        else:
            self.stuck = 0
            self.healthy += 1
            if self.snapshot is None or self.healthy % self.snapshot_every == 0:
                self.take_snapshot()
        if self.stuck >= self.patience and self.snapshot is not None:
            self.rollback()

    def rollback(self) -> None:
        if self.rollbacks >= self.max_rollbacks:
            self.model.stop_training = True
            self.events.append(f"stopped: one side's accuracy stayed at 0 after {self.rollbacks} rollbacks; "
                               "lower the learning rates or raise --label-noise")
            print(self.events[-1])
            return
        for variable, value in zip(self._variables(), self.snapshot):
            variable.assign(value)
        self.model.label_noise.assign(self.new_label_noise)
        self.rollbacks += 1
        self.stuck = 0
        self.events.append(f"rollback {self.rollbacks}: accuracy at 0 for {self.patience} steps; restored the "
                           f"last good weights, label noise now {self.new_label_noise}")
        print(self.events[-1])
