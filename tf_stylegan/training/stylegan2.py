"""StyleGAN2 training: the official phases as data, on the shared GAN model base.

Per minibatch, as the official code runs them:
  Gmain  every step                 non-saturating logistic loss
  Greg   every `g_reg_interval`     path length on batch / pl_batch_shrink, x interval
  Dmain  every step                 logistic loss on real and generated images
  Dreg   every `d_reg_interval`     R1 on real images, x interval
With loss="r3gan" the main phases use R3GAN's relativistic pairing loss (Huang
et al. 2024) and Dreg adds R2, the same penalty on generated images, to R1.
Each phase is its own optimizer step (so a regularised step applies the G or D
optimizer twice), and Adam's lr and betas are scaled by c = k / (k + 1)
(`lazy_adam`). The phases due at a step are part of the key that selects a
compiled step (training/base.py), so no optimizer update sits inside
`tf.cond`. Without lazy regularisation (configs A-B) R1 and path length are
folded into Dmain and Gmain and Adam is not scaled.

With a `ProgressiveSchedule` (configs A-D, growing networks) the stage joins
the phases in the key, and alpha is read from the image count inside it.
Randomness is stateless, derived from (seed, step), and drawn for the global
batch before each replica takes its slice: a resumed run repeats the same
numbers, and N replicas compute what one device would.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.networks import Discriminator, Generator
from tf_stylegan.ops.random import fold, replica_normal, replica_position
from tf_stylegan.training import losses
from tf_stylegan.training.ada import AdaptiveAugment
from tf_stylegan.training.augment import diff_augment, parse_policy
from tf_stylegan.training.base import SUMMED, GANModel, clone_generator
from tf_stylegan.training.progressive import ProgressiveSchedule, Stage, reals_at
from tf_stylegan.training.transfer import freeze_blocks

__all__ = ["LOSSES", "StyleGAN2", "clone_generator", "lazy_adam", "lr_scale"]

LOSSES = ("logistic", "r3gan")


def lr_scale(reg_interval: int | None) -> float:
    """c = k / (k + 1) for regularisation every k steps; 1 without lazy regularisation."""
    return 1.0 if not reg_interval else reg_interval / (reg_interval + 1)


def lazy_adam(lr: float, betas=(0.0, 0.99), reg_interval: int | None = None, epsilon: float = 1e-8,
              name: str | None = None) -> keras.optimizers.Adam:
    """Adam with the lazy-regularisation scaling c = k / (k + 1) of lr and betas (c = 1 for None)."""
    c = lr_scale(reg_interval)
    return keras.optimizers.Adam(
        learning_rate=lr * c, beta_1=betas[0] ** c, beta_2=betas[1] ** c, epsilon=epsilon, name=name
    )


@dataclasses.dataclass(frozen=True)
class Phase:
    """One optimizer step of the training loop: its name, the optimizer it drives, and how often it runs."""

    name: str
    side: str  # "g" or "d"
    interval: int


class _Batch:
    """What the phases of one replica step share."""

    def __init__(self, reals, c, batch, seed, stage, grow, alpha):
        self.reals, self.c, self.batch, self.seed = reals, c, batch, seed
        self.stage, self.grow, self.alpha = stage, grow, alpha
        self.d_alpha = {} if alpha is None else {"alpha": alpha}


@keras.saving.register_keras_serializable(package=PACKAGE)
class StyleGAN2(GANModel):
    """G, D and G_ema with the official StyleGAN2 training step.

    Args:
      G, D: the networks (G_ema is cloned from G unless given).
      r1_gamma: R1 weight gamma (the penalty is gamma / 2 * |grad|^2).
      pl_weight, pl_batch_shrink, pl_decay: path-length regularisation.
      style_mixing_prob: probability of mixing two latents at a random layer.
      g_reg_interval, d_reg_interval: lazy regularisation intervals (None = never).
      ema_kimg, ema_rampup: G_ema half-life in kimg, and its ramp-up ratio (None = off).
      seed: the seed of every random draw of training.
      augment: augmentation of every image D sees: "ada" (adaptive discriminator
        augmentation), a DiffAugment policy such as "color,translation,cutout",
        or None. Both help a lot on small datasets. With progressive growing
        they augment each stage's images at its resolution.
      ada_stages: ADA pipeline: a preset ("bgc", the paper's default) or stage names.
      ada_p: ADA's initial probability (the fixed one when ada_target is None).
      ada_target: target mean sign of D(real) for adapting p (0.6); None = fixed p.
      ada_interval, ada_kimg: steps between p updates; kimg for p to move by 1.
      lazy_regularization: False folds R1 into every Dmain step and path length
        into every Gmain step (the paper's configs A-B) and leaves Adam unscaled.
      schedule: progressive growing (configs A-D); G and D must be built with growing=True.
      loss: "logistic" (StyleGAN2's non-saturating logistic loss with R1) or
        "r3gan" (the relativistic pairing loss with R1 and R2 at r1_gamma;
        ADA then adapts to the mean sign of D(real) - D(fake)).
      freeze_d: D's first this many blocks (from the image side) keep their
        weights (FreezeD, Mo et al. 2020: for fine-tuning on small data).

    Example:
      >>> gan = StyleGAN2(G, D, r1_gamma=1.0)
      >>> gan.compile(g_lr=0.0025, d_lr=0.0025)
      >>> gan.fit(tf_stylegan.data.load("bundled:emoji64", 8), epochs=1, steps_per_epoch=10)
    """

    family = "stylegan2"

    def __init__(
        self,
        G: Generator,
        D: Discriminator,
        G_ema: Generator | None = None,
        r1_gamma: float = 10.0,
        pl_weight: float = 2.0,
        pl_batch_shrink: int = 2,
        pl_decay: float = 0.01,
        style_mixing_prob: float = 0.9,
        g_reg_interval: int | None = 4,
        d_reg_interval: int | None = 16,
        ema_kimg: float = 10.0,
        ema_rampup: float | None = None,
        seed: int = 0,
        augment: str | None = None,
        ada_stages: str = "bgc",
        ada_p: float = 0.0,
        ada_target: float | None = 0.6,
        ada_interval: int = 4,
        ada_kimg: float = 500.0,
        schedule: ProgressiveSchedule | None = None,
        lazy_regularization: bool = True,
        loss: str = "logistic",
        freeze_d: int = 0,
        **kwargs,
    ):
        augment = augment or None
        if D is None:
            raise ValueError("StyleGAN2 training needs a discriminator D (got None)"
                             + (f"; augment={augment!r} augments the images D sees." if augment else "."))
        super().__init__(G, D, G_ema=G_ema, ema_kimg=ema_kimg, ema_rampup=ema_rampup, schedule=schedule, seed=seed,
                         **kwargs)
        if schedule is not None:
            if not (G.synthesis.growing and D.growing):
                raise ValueError("a progressive schedule needs growing networks: build G and D with growing=True "
                                 "(architecture 'orig'), as the configs A-D presets do.")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; the losses are {', '.join(LOSSES)}.")
        self.loss, self.freeze_d = loss, int(freeze_d)
        freeze_blocks(D, self.freeze_d)
        self.ada = None
        if augment == "ada":
            self.ada = AdaptiveAugment(ada_stages, ada_p, ada_target, ada_interval, ada_kimg)
        elif augment:
            parse_policy(augment)
        self.augment = augment
        self.ada_stages, self.ada_target = ada_stages, ada_target
        self.ada_interval, self.ada_kimg, self.ada_p0 = int(ada_interval), float(ada_kimg), float(ada_p)
        self.r1_gamma = float(r1_gamma)
        self.pl_weight = float(pl_weight)
        self.pl_batch_shrink = int(pl_batch_shrink)
        self.pl_decay = float(pl_decay)
        self.style_mixing_prob = float(style_mixing_prob)
        self.g_reg_interval = g_reg_interval
        self.d_reg_interval = d_reg_interval
        self.lazy_regularization = bool(lazy_regularization)
        self.pl_mean = self.add_weight(name="pl_mean", shape=(), initializer="zeros", trainable=False,
                                       aggregation="only_first_replica")
        self.last_r1 = self.add_weight(name="last_r1", shape=(), initializer="zeros", trainable=False,
                                       aggregation="only_first_replica")
        self.last_pl = self.add_weight(name="last_pl", shape=(), initializer="zeros", trainable=False,
                                       aggregation="only_first_replica")
        self.last_r2 = None
        if loss == "r3gan":
            self.last_r2 = self.add_weight(name="last_r2", shape=(), initializer="zeros", trainable=False,
                                           aggregation="only_first_replica")
        # The official phase list; a regulariser that is off, or folded into its main phase, has none.
        greg = self.lazy_regularization and bool(g_reg_interval) and self.pl_weight > 0
        dreg = self.lazy_regularization and bool(d_reg_interval) and self.r1_gamma > 0
        self.phases = [Phase("Gmain", "g", 1)] + ([Phase("Greg", "g", int(g_reg_interval))] if greg else []) + \
            [Phase("Dmain", "d", 1)] + ([Phase("Dreg", "d", int(d_reg_interval))] if dreg else [])
        self.fold_pl = not self.lazy_regularization and self.pl_weight > 0 and bool(g_reg_interval)
        self.fold_r1 = not self.lazy_regularization and self.r1_gamma > 0 and bool(d_reg_interval)

    # ----------------------------------------------------------------- setup
    @staticmethod
    def make_optimizer(lr, betas, side, model):
        return lazy_adam(lr, betas, model.lazy_intervals[side], name=f"{side}_adam")

    def extra_state(self) -> dict:
        state = {"pl_mean": self.pl_mean}
        if self.ada is not None:
            state.update(ada_p=self.ada.p, ada_signs=self.ada.signs)
        return state

    @property
    def ada_p(self):
        """ADA's current probability (0 without ADA)."""
        return self.ada.p if self.ada is not None else tf.constant(0.0)

    @property
    def lazy_intervals(self) -> dict[str, int | None]:
        """The intervals that scale Adam (c = k / (k + 1)); None without lazy regularisation."""
        if not self.lazy_regularization:
            return {"g": None, "d": None}
        return {"g": self.g_reg_interval, "d": self.d_reg_interval}

    def phases_at(self, step: int) -> tuple[str, ...]:
        """The names of the phases that run at training step `step`, in order."""
        return tuple(p.name for p in self.phases if step % p.interval == 0)

    def step_key(self) -> tuple:
        return (self.phases_at(int(self.step.numpy())), *super().step_key())

    # ---------------------------------------------------------- step parts
    def _mapping(self, z, c, seed, update_w_avg=True):
        """Mapping with style mixing: after a random layer, ws come from a second z."""
        G = self.G
        ws = G.mapping(z, c, update_w_avg=update_w_avg)
        if self.style_mixing_prob <= 0 or G.num_ws < 2:
            return ws
        draws = tf.random.stateless_uniform([2], seed=fold(seed, "mixing"))  # one cutoff per batch
        cutoff = 1 + tf.cast(draws[0] * (G.num_ws - 1), tf.int32)  # uniform in [1, num_ws - 1]
        cutoff = tf.where(draws[1] < self.style_mixing_prob, cutoff, G.num_ws)
        z2 = replica_normal(tf.shape(z), fold(seed, "mixing_z"))
        ws2 = G.mapping(z2, c)
        keep = tf.range(G.num_ws) < cutoff
        return tf.where(keep[tf.newaxis, :, tf.newaxis], ws, ws2)

    def _generate(self, b: _Batch, seed):
        z = replica_normal([b.batch, self.G.z_dim], fold(seed, "z"))
        ws = self._mapping(z, b.c, seed)
        return self.G.synthesis(ws, noise_mode="random", stateless_seed=fold(seed, "noise"), **b.grow)

    def _augment(self, images, seed):
        if self.ada is not None:
            return self.ada(images, seed)
        if self.augment:
            return diff_augment(images, self.augment, seed)
        return images

    def _d(self, images, c, seed, b: _Batch):
        """D on (augmented) images: every image D sees goes through the same augmentation."""
        return tf.cast(self.D(self._augment(images, seed), c, **b.d_alpha), tf.float32)

    def _path_length(self, b: _Batch, seed):
        """(penalty, new pl_mean): the path-length regulariser on batch / pl_batch_shrink."""
        G, (_, replicas) = self.G, replica_position()
        pl_batch = tf.maximum(b.batch // self.pl_batch_shrink, 1)
        z = replica_normal([pl_batch, G.z_dim], fold(seed, "z"))
        ws = self._mapping(z, None if b.c is None else b.c[:pl_batch], seed)
        res = b.grow.get("resolution", G.img_resolution)
        pl_noise = replica_normal([pl_batch, res, res, G.img_channels], fold(seed, "pl_noise"))
        lengths = losses.path_lengths(G.synthesis, ws, pl_noise * losses.pl_noise_scale(res), fold(seed, "noise"),
                                      **b.grow)
        batch_mean = tf.distribute.get_replica_context().all_reduce("sum", tf.reduce_mean(lengths)) / replicas
        pl_mean = self.pl_mean + (tf.stop_gradient(batch_mean) - self.pl_mean) * self.pl_decay
        return tf.reduce_mean(tf.square(lengths - pl_mean)), pl_mean

    def _record(self, variable, value, pl_mean=None):
        """Stores a regulariser's replica-mean value (and pl_mean) for the logs."""
        _, replicas = replica_position()
        variable.assign(tf.distribute.get_replica_context().all_reduce("sum", value) / replicas)
        if pl_mean is not None:
            self.pl_mean.assign(pl_mean)

    # ------------------------------------------------------------- phases
    def _Gmain(self, b: _Batch, logs: dict) -> None:
        """Non-saturating (or relativistic) G loss (+ path length every step without lazy regularisation)."""
        seed = fold(b.seed, "Gmain")
        with tf.GradientTape() as tape:
            fake_logits = self._d(self._generate(b, seed), b.c, fold(b.seed, "Gmain_aug"), b)
            if self.loss == "r3gan":
                real_logits = tf.stop_gradient(self._d(b.reals, b.c, fold(b.seed, "Gmain_aug_real"), b))
                loss_g = tf.reduce_mean(losses.g_relativistic(real_logits, fake_logits))
            else:
                loss_g = tf.reduce_mean(losses.g_nonsaturating(fake_logits))
            total = loss_g
            if self.fold_pl:
                penalty, pl_mean = self._path_length(b, fold(b.seed, "Greg"))
                total += penalty * self.pl_weight
        logs["G_grad_norm"] = self.minimize(self.g_optimizer, tape, total, self.G.trainable_variables)
        logs["loss/G"] = loss_g
        if self.fold_pl:
            self._record(self.last_pl, penalty, pl_mean)

    def _Greg(self, b: _Batch, logs: dict) -> None:
        """Path-length regularisation, its own optimizer step every g_reg_interval, times the interval."""
        with tf.GradientTape() as tape:
            penalty, pl_mean = self._path_length(b, fold(b.seed, "Greg"))
            loss = penalty * self.pl_weight * self.g_reg_interval
        self.minimize(self.g_optimizer, tape, loss, self.G.trainable_variables)
        self._record(self.last_pl, penalty, pl_mean)

    def _Dmain(self, b: _Batch, logs: dict) -> None:
        """Logistic (or relativistic) D loss (+ R1, and R2 for r3gan, on the same D outputs every step
        without lazy regularisation)."""
        fake = tf.stop_gradient(self._generate(b, fold(b.seed, "Dmain")))
        r3gan = self.loss == "r3gan"
        with tf.GradientTape() as tape:
            if self.fold_r1 and r3gan:
                fakes = self._augment(fake, fold(b.seed, "Dmain_aug_fake"))
                r2, fake_logits = losses.r1_penalty(self.D, fakes, b.c, **b.d_alpha)
            else:
                fake_logits = self._d(fake, b.c, fold(b.seed, "Dmain_aug_fake"), b)
            if self.fold_r1:
                reals = self._augment(b.reals, fold(b.seed, "Dmain_aug_real"))
                r1, real_logits = losses.r1_penalty(self.D, reals, b.c, **b.d_alpha)
            else:
                real_logits = self._d(b.reals, b.c, fold(b.seed, "Dmain_aug_real"), b)
            if r3gan:
                loss_d = tf.reduce_mean(losses.d_relativistic(real_logits, fake_logits))
            else:
                loss_d = tf.reduce_mean(losses.d_logistic(real_logits, fake_logits))
            total = loss_d
            if self.fold_r1:
                total += tf.reduce_mean(r1 + r2 if r3gan else r1) * (self.r1_gamma / 2)
        logs["D_grad_norm"] = self.minimize(self.d_optimizer, tape, total, self.D.trainable_variables)
        if self.fold_r1:
            self._record(self.last_r1, tf.reduce_mean(r1))
            if r3gan:
                self._record(self.last_r2, tf.reduce_mean(r2))
        logs["loss/D"] = loss_d
        logs["D_real"] = tf.reduce_mean(real_logits)
        logs["D_fake"] = tf.reduce_mean(fake_logits)
        if r3gan:  # only differences count: D is right on a pair when it ranks the real above the fake
            logs["D_real_acc"] = logs["D_fake_acc"] = tf.reduce_mean(tf.cast(real_logits > fake_logits, tf.float32))
        else:
            logs["D_real_acc"] = tf.reduce_mean(tf.cast(real_logits > 0, tf.float32))
            logs["D_fake_acc"] = tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32))
        # For ADA: the sign of D(real), or, for the relativistic loss, whose logits only count relative
        # to their pair, of D(real) - D(fake).
        logs[SUMMED + "sign"] = tf.reduce_sum(tf.sign(real_logits - fake_logits if r3gan else real_logits))

    def _Dreg(self, b: _Batch, logs: dict) -> None:
        """R1 on the images D sees (augmented reals; for r3gan also R2 on augmented generated images), its
        own step every d_reg_interval, times the interval."""
        if self.loss == "r3gan":
            fake = tf.stop_gradient(self._generate(b, fold(b.seed, "Dreg")))
        with tf.GradientTape() as tape:
            reals = self._augment(b.reals, fold(b.seed, "Dreg_aug"))
            r1, _ = losses.r1_penalty(self.D, reals, b.c, **b.d_alpha)
            penalty = tf.reduce_mean(r1)
            if self.loss == "r3gan":
                fakes = self._augment(fake, fold(b.seed, "Dreg_aug_fake"))
                r2, _ = losses.r1_penalty(self.D, fakes, b.c, **b.d_alpha)
                penalty += tf.reduce_mean(r2)
            loss = penalty * (self.r1_gamma / 2) * self.d_reg_interval
        self.minimize(self.d_optimizer, tape, loss, self.D.trainable_variables)
        self._record(self.last_r1, tf.reduce_mean(r1))
        if self.loss == "r3gan":
            self._record(self.last_r2, tf.reduce_mean(r2))

    def replica_step(self, data, phases: tuple[str, ...], stage: Stage | None = None):
        reals, c = self.unpack(data)
        alpha, grow = None, {}
        if stage is not None:
            alpha = stage.alpha(self.nimg.value) if stage.fading else None
            reals = reals_at(reals, stage.resolution, alpha, stage.fading)
            grow = {"resolution": stage.resolution, "alpha": alpha}
        batch = tf.shape(reals)[0]
        seed = fold(tf.constant([self.seed, 0], tf.int64), self.step)
        # Generated labels are the real batch's: a random draw from the dataset's labels.
        b = _Batch(reals, c, batch, seed, stage, grow, alpha)
        logs = {}
        for phase in self.phases:
            if phase.name in phases:
                getattr(self, f"_{phase.name}")(b, logs)
        logs["r1_penalty"] = tf.identity(self.last_r1)
        if self.last_r2 is not None:
            logs["r2_penalty"] = tf.identity(self.last_r2)
        logs["pl_penalty"] = tf.identity(self.last_pl)
        logs["pl_mean"] = tf.identity(self.pl_mean)
        logs["batch"] = batch
        return logs

    def after_step(self, sums, global_batch):
        if self.ada is not None:
            self.ada.update(sums["sign"], global_batch, self.step)
        return {"ada_p": tf.identity(self.ada_p)}

    def family_config(self):
        return {
            "r1_gamma": self.r1_gamma, "pl_weight": self.pl_weight, "pl_batch_shrink": self.pl_batch_shrink,
            "pl_decay": self.pl_decay, "style_mixing_prob": self.style_mixing_prob,
            "g_reg_interval": self.g_reg_interval, "d_reg_interval": self.d_reg_interval, "augment": self.augment,
            "ada_stages": self.ada_stages, "ada_p": float(self.ada_p.numpy()), "ada_target": self.ada_target,
            "ada_interval": self.ada_interval, "ada_kimg": self.ada_kimg,
            "lazy_regularization": self.lazy_regularization, "loss": self.loss, "freeze_d": self.freeze_d,
        }
