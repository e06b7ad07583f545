"""StyleGAN2 training as a keras.Model: the official phases in a custom train step.

Per minibatch, as the official code runs them:
  Gmain  every step                 non-saturating logistic loss
  Greg   every `g_reg_interval`     path length on batch / pl_batch_shrink, x interval
  Dmain  every step                 logistic loss on real and generated images
  Dreg   every `d_reg_interval`     R1 on real images, x interval
Each phase is its own optimizer step (so a regularised step applies the G or D
optimizer twice), and Adam's lr and betas are scaled by c = k / (k + 1)
(`lazy_adam`). The step counter chooses which of four compiled step
functions runs, so no optimizer update sits inside `tf.cond` (which
MirroredStrategy cannot run). G_ema follows G with the official EMA schedule.

With a `ProgressiveSchedule` (the paper's configs A-D, growing networks) the
stage (resolution, fading) joins the phases in choosing the compiled step, and
alpha is read from the image count inside it, as in ProGAN.

Randomness is stateless, derived from (seed, step), and drawn for the global
batch before each replica takes its slice: a resumed run repeats the same
numbers, and N replicas compute what one device would.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.networks import Discriminator, Generator
from tf_stylegan.ops.random import fold, replica_normal, replica_position
from tf_stylegan.training import losses
from tf_stylegan.training.ada import AdaController, AugmentPipe, check_probability
from tf_stylegan.training.augment import diff_augment, parse_policy
from tf_stylegan.training.progressive import ProgressiveSchedule, Stage, reals_at


def lr_scale(reg_interval: int | None) -> float:
    """c = k / (k + 1) for regularisation every k steps; 1 without lazy regularisation."""
    return 1.0 if not reg_interval else reg_interval / (reg_interval + 1)


def lazy_adam(lr: float, betas=(0.0, 0.99), reg_interval: int | None = None, epsilon: float = 1e-8,
              name: str | None = None) -> keras.optimizers.Adam:
    """Adam with the lazy-regularisation scaling c = k / (k + 1) of lr and betas.

    With `reg_interval` None (no lazy regularisation) c = 1.
    """
    c = lr_scale(reg_interval)
    return keras.optimizers.Adam(
        learning_rate=lr * c, beta_1=betas[0] ** c, beta_2=betas[1] ** c, epsilon=epsilon, name=name
    )


def clone_generator(G: keras.Model, name: str = "generator_ema") -> keras.Model:
    """A structurally identical generator (of G's class) with G's current weights (for G_ema)."""
    config = G.get_config()
    config["name"] = name
    clone = type(G).from_config(config)
    clone.set_weights(G.get_weights())
    return clone


def _apply(optimizer, tape, loss, variables):
    grads = tape.gradient(loss, variables)
    pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]  # R1 never reaches D's output bias
    optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
    return tf.linalg.global_norm([g for g, _ in pairs])


@keras.saving.register_keras_serializable(package=PACKAGE)
class StyleGAN2(keras.Model):
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
        or None. Both help a lot on small datasets.
      ada_stages: ADA pipeline: a preset ("bgc", the paper's default) or stage names.
      ada_p: ADA's initial probability (the fixed one when ada_target is None).
      ada_target: target mean sign of D(real) for adapting p (0.6); None = fixed p.
      ada_interval, ada_kimg: steps between p updates; kimg for p to move by 1.
      lazy_regularization: False folds R1 into every Dmain step and path length
        into every Gmain step (the paper's configs A-B) and leaves Adam unscaled
        (c = 1); the intervals then only switch each regulariser on.
      schedule: progressive growing (configs A-D); G and D must be built with
        growing=True. The batch is whatever the data gives (the trainer feeds each
        stage its schedule batch size).

    Example:
      >>> gan = StyleGAN2(G, D, r1_gamma=1.0)
      >>> gan.compile(g_lr=0.0025, d_lr=0.0025)
      >>> gan.fit(tf_stylegan.data.load("bundled:emoji64", 8), epochs=1, steps_per_epoch=10)
    """

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
        **kwargs,
    ):
        super().__init__(**kwargs)
        augment = augment or None
        if D is None:
            raise ValueError("StyleGAN2 training needs a discriminator D (got None)"
                             + (f"; augment={augment!r} augments the images D sees." if augment else "."))
        self.ada_pipe = self.ada_controller = None
        if augment == "ada":
            self.ada_pipe = AugmentPipe(ada_stages)
            if ada_target is not None:
                self.ada_controller = AdaController(ada_target, ada_interval, ada_kimg)
        elif augment:
            parse_policy(augment)
        self.augment = augment
        self.ada_stages, self.ada_target = ada_stages, ada_target
        self.ada_interval, self.ada_kimg = int(ada_interval), float(ada_kimg)
        self.ada_p = self.add_weight(name="ada_p", shape=(), initializer=keras.initializers.Constant(
            check_probability(ada_p)), trainable=False, aggregation="only_first_replica")
        self.ada_signs = self.add_weight(name="ada_signs", shape=(2,), initializer="zeros", trainable=False,
                                         aggregation="only_first_replica")  # [sum of sign(D(real)), count]
        if G.img_resolution != D.img_resolution or G.img_channels != D.img_channels or G.c_dim != D.c_dim:
            raise ValueError(
                f"G makes {G.img_resolution}px x{G.img_channels} images with c_dim {G.c_dim}, but D takes "
                f"{D.img_resolution}px x{D.img_channels} with c_dim {D.c_dim}."
            )
        if schedule is not None:
            if not (G.synthesis.growing and D.growing):
                raise ValueError("a progressive schedule needs growing networks: build G and D with growing=True "
                                 "(architecture 'orig'), as the configs A-D presets do.")
            if schedule.target_resolution != G.img_resolution:
                raise ValueError(f"the schedule grows to {schedule.target_resolution}px but G makes "
                                 f"{G.img_resolution}px images.")
            if augment:
                raise ValueError("augmentation with progressive growing is not supported; drop --augment.")
        self.schedule = schedule
        self.G, self.D = G, D
        self.G_ema = G_ema if G_ema is not None else clone_generator(G)
        self.r1_gamma = float(r1_gamma)
        self.pl_weight = float(pl_weight)
        self.pl_batch_shrink = int(pl_batch_shrink)
        self.pl_decay = float(pl_decay)
        self.style_mixing_prob = float(style_mixing_prob)
        self.g_reg_interval = g_reg_interval
        self.d_reg_interval = d_reg_interval
        self.lazy_regularization = bool(lazy_regularization)
        self.ema_kimg = float(ema_kimg)
        self.ema_rampup = ema_rampup
        self.seed = int(seed)
        self.step = self.add_weight(name="step", shape=(), dtype="int64", initializer="zeros",
                                    trainable=False, aggregation="only_first_replica")
        self.nimg = self.add_weight(name="nimg", shape=(), dtype="int64", initializer="zeros",
                                    trainable=False, aggregation="only_first_replica")
        self.pl_mean = self.add_weight(name="pl_mean", shape=(), initializer="zeros", trainable=False,
                                       aggregation="only_first_replica")
        self.last_r1 = self.add_weight(name="last_r1", shape=(), initializer="zeros", trainable=False,
                                       aggregation="only_first_replica")
        self.last_pl = self.add_weight(name="last_pl", shape=(), initializer="zeros", trainable=False,
                                       aggregation="only_first_replica")
        self.built = True
        self.g_optimizer = self.d_optimizer = None

    # ----------------------------------------------------------------- setup
    def compile(self, g_optimizer=None, d_optimizer=None, g_lr: float = 0.002, d_lr: float = 0.002,
                betas=(0.0, 0.99), **kwargs):
        """Sets the optimizers: given ones as they are, else `lazy_adam(g_lr / d_lr, betas)`.

        Call it inside `strategy.scope()` when training distributed.
        """
        if kwargs.pop("jit_compile", False):
            raise ValueError("StyleGAN2 does not support jit_compile (slow for R1 on CPU; breaks distributed).")
        super().compile(jit_compile=False, **kwargs)
        self.g_optimizer = g_optimizer or lazy_adam(g_lr, betas, self.lazy_intervals["g"], name="g_adam")
        self.d_optimizer = d_optimizer or lazy_adam(d_lr, betas, self.lazy_intervals["d"], name="d_adam")
        self.g_optimizer.build(self.G.trainable_variables)
        self.d_optimizer.build(self.D.trainable_variables)

    def call(self, z, c=None, truncation_psi: float = 1.0, noise_mode: str = "const"):
        """Generates with G_ema (the network one ships)."""
        return self.G_ema(z, c, truncation_psi=truncation_psi, noise_mode=noise_mode)

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """Everything training needs to resume exactly (networks, optimizers, counters)."""
        return tf.train.Checkpoint(
            G=self.G, D=self.D, G_ema=self.G_ema, g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer, step=self.step, nimg=self.nimg, pl_mean=self.pl_mean,
            ada_p=self.ada_p, ada_signs=self.ada_signs, **extra,
        )

    @property
    def lazy_intervals(self) -> dict[str, int | None]:
        """The intervals that scale Adam (c = k / (k + 1)); None without lazy regularisation."""
        if not self.lazy_regularization:
            return {"g": None, "d": None}
        return {"g": self.g_reg_interval, "d": self.d_reg_interval}

    def phases_at(self, step: int) -> tuple[bool, bool]:
        """(run Greg, run Dreg) at training step `step` (never without lazy regularisation)."""
        if not self.lazy_regularization:
            return False, False
        greg = bool(self.g_reg_interval) and self.pl_weight > 0 and step % self.g_reg_interval == 0
        dreg = bool(self.d_reg_interval) and self.r1_gamma > 0 and step % self.d_reg_interval == 0
        return greg, dreg

    # ------------------------------------------------------------- the step
    def _unpack(self, data):
        if isinstance(data, (tuple, list)):
            images = data[0]
            labels = data[1] if len(data) > 1 else None
        else:
            images, labels = data, None
        c = None
        if self.G.c_dim > 0:
            if labels is None:
                raise ValueError(f"G is conditional (c_dim={self.G.c_dim}) but the data has no labels.")
            c = tf.cast(labels, tf.float32)
        return tf.cast(images, tf.float32), c

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

    def _generate(self, batch, c, seed, grow):
        z = replica_normal([batch, self.G.z_dim], fold(seed, "z"))
        ws = self._mapping(z, c, seed)
        return self.G.synthesis(ws, noise_mode="random", stateless_seed=fold(seed, "noise"), **grow)

    def _d(self, images, c, seed, alpha=None):
        """D on (augmented) images: every image D sees goes through the same augmentation."""
        grow = {} if alpha is None else {"alpha": alpha}
        return tf.cast(self.D(self._augment(images, seed), c, **grow), tf.float32)

    def stage_at(self, nimg: int) -> Stage | None:
        """The progressive stage after `nimg` images (None without a schedule)."""
        return None if self.schedule is None else self.schedule.stage_at(nimg)

    def generate_kwargs(self) -> dict:
        """G's resolution and alpha at the current stage ({} without a schedule): for grids."""
        stage = self.stage_at(int(self.nimg.numpy()))
        if stage is None:
            return {}
        return {"resolution": stage.resolution, "alpha": stage.alpha(int(self.nimg.numpy())) if stage.fading else None}

    def _augment(self, images, seed):
        if self.ada_pipe is not None:
            return self.ada_pipe(images, self.ada_p, seed)
        if self.augment:
            return diff_augment(images, self.augment, seed)
        return images

    def _replica_step(self, data, do_greg: bool, do_dreg: bool, stage: Stage | None = None):
        G, D = self.G, self.D
        real_img, real_c = self._unpack(data)
        res, alpha, grow = G.img_resolution, None, {}
        if stage is not None:
            res = stage.resolution
            alpha = stage.alpha(self.nimg.value) if stage.fading else None
            real_img = reals_at(real_img, res, alpha, stage.fading)
            grow = {"resolution": res, "alpha": alpha}
        batch = tf.shape(real_img)[0]
        _, replicas = replica_position()
        per_replica = 1.0 / replicas  # optimizers sum gradients over replicas
        seed = fold(tf.constant([self.seed, 0], tf.int64), self.step)
        gen_c = real_c  # generated labels: a random draw from the dataset's labels
        ctx = tf.distribute.get_replica_context()
        logs = {}

        def path_length(pl_seed):
            """(penalty, new pl_mean): the path-length regulariser on batch / pl_batch_shrink."""
            pl_batch = tf.maximum(batch // self.pl_batch_shrink, 1)
            z = replica_normal([pl_batch, G.z_dim], fold(pl_seed, "z"))
            c = None if gen_c is None else gen_c[:pl_batch]
            ws = self._mapping(z, c, pl_seed)
            shape = [pl_batch, res, res, G.img_channels]
            pl_noise = replica_normal(shape, fold(pl_seed, "pl_noise")) * losses.pl_noise_scale(res)
            lengths = losses.path_lengths(G.synthesis, ws, pl_noise, fold(pl_seed, "noise"), **grow)
            batch_mean = ctx.all_reduce("sum", tf.reduce_mean(lengths)) / replicas
            pl_mean = self.pl_mean + (tf.stop_gradient(batch_mean) - self.pl_mean) * self.pl_decay
            return tf.reduce_mean(tf.square(lengths - pl_mean)), pl_mean

        def record_pl(penalty, pl_mean):
            self.pl_mean.assign(pl_mean)
            self.last_pl.assign(ctx.all_reduce("sum", penalty) / replicas)

        fold_pl = not self.lazy_regularization and self.pl_weight > 0 and bool(self.g_reg_interval)
        fold_r1 = not self.lazy_regularization and self.r1_gamma > 0 and bool(self.d_reg_interval)

        # Gmain (+ path length every step without lazy regularisation)
        with tf.GradientTape() as tape:
            fake = self._generate(batch, gen_c, fold(seed, "Gmain"), grow)
            fake_logits = self._d(fake, gen_c, fold(seed, "Gmain_aug"), alpha)
            loss_g = tf.reduce_mean(losses.g_nonsaturating(fake_logits))
            total = loss_g
            if fold_pl:
                penalty, pl_mean = path_length(fold(seed, "Greg"))
                total += penalty * self.pl_weight
            scaled = self.g_optimizer.scale_loss(total * per_replica)
        logs["G_grad_norm"] = _apply(self.g_optimizer, tape, scaled, G.trainable_variables)
        logs["loss/G"] = loss_g
        if fold_pl:
            record_pl(penalty, pl_mean)

        # Greg: path-length regularisation, its own step every g_reg_interval
        if do_greg:
            with tf.GradientTape() as tape:
                penalty, pl_mean = path_length(fold(seed, "Greg"))
                loss_pl = penalty * self.pl_weight * self.g_reg_interval
                scaled = self.g_optimizer.scale_loss(loss_pl * per_replica)
            _apply(self.g_optimizer, tape, scaled, G.trainable_variables)
            record_pl(penalty, pl_mean)

        # Dmain (+ R1 every step, on the same D(real), without lazy regularisation)
        d_alpha = {} if alpha is None else {"alpha": alpha}
        fake = tf.stop_gradient(self._generate(batch, gen_c, fold(seed, "Dmain"), grow))
        with tf.GradientTape() as tape:
            fake_logits = self._d(fake, gen_c, fold(seed, "Dmain_aug_fake"), alpha)
            if fold_r1:
                reals = self._augment(real_img, fold(seed, "Dmain_aug_real"))
                r1, real_logits = losses.r1_penalty(D, reals, real_c, **d_alpha)
            else:
                real_logits = self._d(real_img, real_c, fold(seed, "Dmain_aug_real"), alpha)
            loss_d = tf.reduce_mean(losses.d_logistic(real_logits, fake_logits))
            total = loss_d + (tf.reduce_mean(r1) * (self.r1_gamma / 2) if fold_r1 else 0.0)
            scaled = self.d_optimizer.scale_loss(total * per_replica)
        logs["D_grad_norm"] = _apply(self.d_optimizer, tape, scaled, D.trainable_variables)
        if fold_r1:
            self.last_r1.assign(ctx.all_reduce("sum", tf.reduce_mean(r1)) / replicas)
        logs["loss/D"] = loss_d
        logs["D_real"] = tf.reduce_mean(real_logits)
        logs["D_fake"] = tf.reduce_mean(fake_logits)
        logs["D_real_acc"] = tf.reduce_mean(tf.cast(real_logits > 0, tf.float32))
        logs["D_fake_acc"] = tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32))
        logs["sign_sum"] = tf.reduce_sum(tf.sign(real_logits))  # summed over replicas, for ADA

        # Dreg: R1
        if do_dreg:
            with tf.GradientTape() as tape:
                reals = self._augment(real_img, fold(seed, "Dreg_aug"))  # R1 on what D sees
                r1, _ = losses.r1_penalty(D, reals, real_c, **d_alpha)
                loss_r1 = tf.reduce_mean(r1) * (self.r1_gamma / 2) * self.d_reg_interval
                scaled = self.d_optimizer.scale_loss(loss_r1 * per_replica)
            _apply(self.d_optimizer, tape, scaled, D.trainable_variables)
            self.last_r1.assign(ctx.all_reduce("sum", tf.reduce_mean(r1)) / replicas)

        logs["r1_penalty"] = tf.identity(self.last_r1)
        logs["pl_penalty"] = tf.identity(self.last_pl)
        logs["pl_mean"] = tf.identity(self.pl_mean)
        logs["batch"] = batch
        return logs

    def update_ada(self, sign_sum: tf.Tensor, global_batch: tf.Tensor) -> None:
        """Accumulates sign(D(real)); every ada_interval steps moves p towards the target."""
        if self.ada_controller is None:
            return
        signs = self.ada_signs.assign_add(tf.stack([sign_sum, tf.cast(global_batch, tf.float32)]))
        due = tf.equal((self.step + 1) % self.ada_interval, 0)
        mean_sign = signs[0] / tf.maximum(signs[1], 1.0)
        self.ada_p.assign(tf.where(due, self.ada_controller.adjust(self.ada_p, mean_sign, global_batch), self.ada_p))
        self.ada_signs.assign(tf.where(due, tf.zeros(2), signs))

    def update_ema(self, global_batch: tf.Tensor) -> None:
        """G_ema <- lerp(G, G_ema, beta), beta = 0.5 ** (batch / ema_nimg); buffers copied."""
        ema_nimg = tf.constant(self.ema_kimg * 1000.0, tf.float32)
        if self.ema_rampup is not None:
            ema_nimg = tf.minimum(ema_nimg, tf.cast(self.nimg, tf.float32) * self.ema_rampup)
        beta = tf.pow(0.5, tf.cast(global_batch, tf.float32) / tf.maximum(ema_nimg, 1e-8))
        for pe, p in zip(self.G_ema.trainable_variables, self.G.trainable_variables):
            pe.assign(p + (pe - p) * beta)
        for be, b in zip(self.G_ema.non_trainable_variables, self.G.non_trainable_variables):
            if b.dtype == be.dtype and "seed_generator" not in b.path:
                be.assign(b)

    def _compiled_step(self, do_greg: bool, do_dreg: bool, stage: Stage | None):
        strategy = self.distribute_strategy

        def step(data):
            logs = strategy.run(self._replica_step, args=(data, do_greg, do_dreg, stage))
            global_batch = strategy.reduce("sum", logs.pop("batch"), axis=None)
            sign_sum = strategy.reduce("sum", logs.pop("sign_sum"), axis=None)
            logs = {k: strategy.reduce("mean", v, axis=None) for k, v in logs.items()}
            self.update_ada(sign_sum, global_batch)
            logs["ada_p"] = tf.identity(self.ada_p)
            self.update_ema(global_batch)
            if stage is not None:
                logs["resolution"] = tf.constant(stage.resolution, tf.float32)
                logs["alpha"] = stage.alpha(self.nimg.value) if stage.fading else tf.constant(1.0)
            self.nimg.assign_add(tf.cast(global_batch, tf.int64))
            self.step.assign_add(1)
            return logs

        return step if self.run_eagerly else tf.function(step, reduce_retracing=True)

    def make_train_function(self, force: bool = False):
        """A Python dispatcher over four compiled steps (with / without Greg and Dreg), per growing stage."""
        if self.train_function is not None and not force:
            return self.train_function
        if self.g_optimizer is None:
            raise RuntimeError("call compile() before training.")
        compiled = {}

        def function(iterator):
            data = next(iter(iterator)) if not hasattr(iterator, "__next__") else next(iterator)
            if isinstance(data, tuple) and len(data) == 3 and data[2] is None:
                data = data[:2] if data[1] is not None else data[0]  # Keras' (x, y, sample_weight)
            key = (*self.phases_at(int(self.step.numpy())), self.stage_at(int(self.nimg.numpy())))
            if key not in compiled:
                compiled[key] = self._compiled_step(*key)
            return compiled[key](data)

        self.train_function = function
        return function

    def train_step(self, data):
        """One training step (dispatching to the compiled phase combination)."""
        return self.make_train_function()(iter([data]))

    def get_config(self):
        return {
            "G": keras.saving.serialize_keras_object(self.G),
            "D": keras.saving.serialize_keras_object(self.D),
            "r1_gamma": self.r1_gamma, "pl_weight": self.pl_weight, "pl_batch_shrink": self.pl_batch_shrink,
            "pl_decay": self.pl_decay, "style_mixing_prob": self.style_mixing_prob,
            "g_reg_interval": self.g_reg_interval, "d_reg_interval": self.d_reg_interval,
            "ema_kimg": self.ema_kimg, "ema_rampup": self.ema_rampup, "seed": self.seed, "augment": self.augment,
            "ada_stages": self.ada_stages, "ada_p": float(self.ada_p.numpy()), "ada_target": self.ada_target,
            "ada_interval": self.ada_interval, "ada_kimg": self.ada_kimg,
            "schedule": None if self.schedule is None else self.schedule.to_dict(),
            "lazy_regularization": self.lazy_regularization,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["G"] = keras.saving.deserialize_keras_object(config["G"])
        config["D"] = keras.saving.deserialize_keras_object(config["D"])
        if config.get("schedule") is not None:
            config["schedule"] = ProgressiveSchedule.from_dict(config["schedule"])
        return cls(**config)
