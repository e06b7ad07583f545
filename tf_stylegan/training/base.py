"""What every GAN family's training model shares: counters, data, gradients, G_ema, stages, checkpoints.

`GANModel` is a keras.Model holding G, D and G_ema. A family (StyleGAN2,
ProGAN, DCGAN) subclasses it and writes only its losses:
`replica_step(data, *key)` computes one step on one replica and returns its
logs. Everything around that is here, once:

  * `step` and `nimg` counters, and the seed every random draw derives from;
  * the step dispatcher: `step_key()` names the compiled step the next batch
    needs (a family adds its phases to the progressive stage), and each key
    compiles once, so no optimizer update sits inside `tf.cond`;
  * data unpacking, gradient application (with loss scaling and the
    per-replica factor), G_ema by half-life with ramp-up, buffers copied;
  * the stage of a progressive schedule, and G's arguments for it;
  * the checkpoint object: everything a run needs to resume exactly.

No file I/O and no command-line names live here (see tf_stylegan.run).
"""

from __future__ import annotations

import inspect
from typing import Any

import keras
import tensorflow as tf

from tf_stylegan.ops.random import replica_position
from tf_stylegan.training.progressive import ProgressiveSchedule, Stage

SUMMED = "sum/"  # logs under this prefix are summed over replicas (the rest are averaged)


def clone_generator(G: keras.Model, name: str = "generator_ema") -> keras.Model:
    """A structurally identical generator (of G's class) with G's current weights (for G_ema)."""
    config = G.get_config()
    config["name"] = name
    clone = type(G).from_config(config)
    if not clone.built:
        clone.build()
    clone.set_weights(G.get_weights())
    return clone


def ema_beta(half_life_kimg: float, rampup: float | None, nimg, batch) -> tf.Tensor:
    """The weight an average of G keeps in a step of `batch` images taken at image count `nimg`:
    0.5 ** (batch / half-life), the half-life in images limited to nimg x rampup early on."""
    ema_nimg = tf.constant(half_life_kimg * 1000.0, tf.float32)
    if rampup is not None:
        ema_nimg = tf.minimum(ema_nimg, tf.cast(nimg, tf.float32) * rampup)
    return tf.pow(0.5, tf.cast(batch, tf.float32) / tf.maximum(ema_nimg, 1e-8))


def counter(model: keras.Layer, name: str, dtype: str = "int64") -> keras.Variable:
    """A scalar training counter, kept by the first replica (not averaged)."""
    return model.add_weight(name=name, shape=(), dtype=dtype, initializer="zeros", trainable=False,
                            aggregation="only_first_replica")


class GANModel(keras.Model):
    """G, D and G_ema trained by a family's `replica_step`; see the module docstring.

    Args:
      G, D: the networks (same resolution, channels and label width).
      G_ema: the averaged generator (cloned from G unless given).
      ema_kimg: G_ema's half-life in thousands of images; None makes G_ema a
        copy of G after every step.
      ema_rampup: limit the half-life to nimg * ema_rampup early on (None: off).
      schedule: a progressive schedule (growing networks), or None.
      seed: the seed of every random draw of training.
    """

    family = "gan"

    def __init__(self, G: keras.Model, D: keras.Model, G_ema: keras.Model | None = None,
                 ema_kimg: float | None = 10.0, ema_rampup: float | None = None,
                 schedule: ProgressiveSchedule | None = None, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if D is None:
            raise ValueError(f"{type(self).__name__} training needs a discriminator D (got None).")
        if G.img_resolution != D.img_resolution or G.img_channels != D.img_channels or G.c_dim != D.c_dim:
            raise ValueError(
                f"G makes {G.img_resolution}px x{G.img_channels} images with c_dim {G.c_dim}, but D takes "
                f"{D.img_resolution}px x{D.img_channels} with c_dim {D.c_dim}.")
        if schedule is not None and schedule.target_resolution != G.img_resolution:
            raise ValueError(f"the schedule grows to {schedule.target_resolution}px but G makes "
                             f"{G.img_resolution}px images.")
        if ema_kimg is not None and not ema_kimg > 0:
            raise ValueError(f"ema_kimg must be > 0 (or None for no averaging), got {ema_kimg}.")
        for net in (G, D):
            if not net.built:
                net.build()
        self.G, self.D = G, D
        self.G_ema = G_ema if G_ema is not None else clone_generator(G)
        self.ema_kimg = None if ema_kimg is None else float(ema_kimg)
        self.ema_rampup = ema_rampup
        self.schedule = schedule
        self.seed = int(seed)
        self.step = counter(self, "step")
        self.nimg = counter(self, "nimg")
        self.g_optimizer = self.d_optimizer = None
        self.built = True

    # --------------------------------------------------------------- setup
    @staticmethod
    def make_optimizer(lr: float, betas, side: str, model: GANModel) -> keras.optimizers.Optimizer:
        """The optimizer `compile` makes for `side` ("g" or "d"); families may scale it."""
        return keras.optimizers.Adam(learning_rate=lr, beta_1=betas[0], beta_2=betas[1], epsilon=1e-8,
                                     name=f"{side}_adam")

    def compile(self, g_optimizer=None, d_optimizer=None, g_lr: float = 0.002, d_lr: float = 0.002,
                betas=(0.0, 0.99), **kwargs):
        """Sets the optimizers: given ones as they are, else Adam(g_lr / d_lr, betas) as the family makes it.

        Call it inside `strategy.scope()` when training distributed.
        """
        if kwargs.pop("jit_compile", False):
            raise ValueError(f"{type(self).__name__} does not support jit_compile (slow for gradient penalties on "
                             "CPU; breaks distributed training).")
        super().compile(jit_compile=False, **kwargs)
        self.g_optimizer = g_optimizer or self.make_optimizer(g_lr, betas, "g", self)
        self.d_optimizer = d_optimizer or self.make_optimizer(d_lr, betas, "d", self)
        self.g_optimizer.build(self.G.trainable_variables)
        self.d_optimizer.build(self.D.trainable_variables)

    def extra_state(self) -> dict[str, Any]:
        """Family state a checkpoint must hold besides networks, optimizers and counters."""
        return {}

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """Everything training needs to resume exactly (networks, optimizers, counters, family state)."""
        return tf.train.Checkpoint(G=self.G, D=self.D, G_ema=self.G_ema, g_optimizer=self.g_optimizer,
                                   d_optimizer=self.d_optimizer, step=self.step, nimg=self.nimg,
                                   **self.extra_state(), **extra)

    @property
    def optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        return {"g": self.g_optimizer, "d": self.d_optimizer}

    # --------------------------------------------------------------- stages
    def stage_at(self, nimg: int) -> Stage | None:
        """The progressive stage after `nimg` images (None without a schedule)."""
        return None if self.schedule is None else self.schedule.stage_at(nimg)

    def generate_kwargs(self) -> dict:
        """G's resolution and alpha at the current stage ({} without a schedule): what grids show."""
        nimg = int(self.nimg.numpy())
        stage = self.stage_at(nimg)
        if stage is None:
            return {}
        return {"resolution": stage.resolution, "alpha": stage.alpha(nimg) if stage.fading else None}

    def call(self, z, c=None, **kwargs):
        """Generates with G_ema (the network one ships), at the current stage."""
        return self.G_ema(z, c, **{**self.generate_kwargs(), **kwargs})

    # ---------------------------------------------------------- step parts
    def unpack(self, data) -> tuple[tf.Tensor, tf.Tensor | None]:
        """(images float32, labels float32 or None) of a batch given as images or (images, labels)."""
        if isinstance(data, (tuple, list)):
            images, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            images, labels = data, None
        c = None
        if self.G.c_dim > 0:
            if labels is None:
                raise ValueError(f"G is conditional (c_dim={self.G.c_dim}) but the data has no labels.")
            c = tf.cast(labels, tf.float32)
        return tf.cast(images, tf.float32), c

    def minimize(self, optimizer, tape: tf.GradientTape, loss: tf.Tensor, variables, skip=None) -> tf.Tensor:
        """Applies d(loss)/d(variables), scaled for loss scaling and summed over replicas; returns the
        gradient norm. `skip` (a boolean tensor) leaves weights and optimizer state untouched."""
        _, replicas = replica_position()
        scale = optimizer.scale_loss(tf.constant(1.0)) / replicas  # the optimizers sum over replicas
        grads = tape.gradient(loss, variables, output_gradients=tf.cast(scale, loss.dtype))
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]  # e.g. R1 never reaches D's out bias
        grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
        if skip is None:
            optimizer.apply(grads, variables)
        else:
            def update():
                optimizer.apply(grads, variables)
                return tf.constant(True)

            tf.cond(skip, lambda: tf.constant(False), update)
        return tf.linalg.global_norm(grads)

    def update_ema(self, global_batch: tf.Tensor) -> None:
        """G_ema <- lerp(G, G_ema, beta), beta = 0.5 ** (batch / ema_nimg); buffers copied."""
        beta = (tf.constant(0.0) if self.ema_kimg is None
                else ema_beta(self.ema_kimg, self.ema_rampup, self.nimg, global_batch))
        for pe, p in zip(self.G_ema.trainable_variables, self.G.trainable_variables):
            pe.assign(p + (pe - p) * beta)
        for be, b in zip(self.G_ema.non_trainable_variables, self.G.non_trainable_variables):
            if b.dtype == be.dtype and "seed_generator" not in b.path:
                be.assign(b)

    # ------------------------------------------------------------ the step
    def step_key(self) -> tuple:
        """What selects the compiled step for the next batch: here the progressive stage."""
        return (self.stage_at(int(self.nimg.numpy())),)

    def replica_step(self, data, *key) -> dict[str, tf.Tensor]:
        """One step on one replica: the family's losses and updates. Returns logs, with "batch" (the
        replica's batch size) and SUMMED-prefixed entries to be summed rather than averaged."""
        raise NotImplementedError

    def after_step(self, sums: dict[str, tf.Tensor], global_batch: tf.Tensor) -> dict[str, tf.Tensor]:
        """Runs once per step after the replicas (e.g. ADA's controller); returns extra logs."""
        return {}

    def _compiled_step(self, key: tuple):
        strategy = self.distribute_strategy
        stage = next((k for k in key if isinstance(k, Stage)), None)

        def step(data):
            logs = strategy.run(self.replica_step, args=(data, *key))
            global_batch = strategy.reduce("sum", logs.pop("batch"), axis=None)
            sums = {k[len(SUMMED):]: strategy.reduce("sum", logs.pop(k), axis=None)
                    for k in list(logs) if k.startswith(SUMMED)}
            logs = {k: strategy.reduce("mean", v, axis=None) for k, v in logs.items()}
            logs.update(self.after_step(sums, global_batch))
            self.update_ema(global_batch)
            if stage is not None:
                logs["resolution"] = tf.constant(stage.resolution, tf.float32)
                logs["alpha"] = stage.alpha(self.nimg.value) if stage.fading else tf.constant(1.0)
            self.nimg.assign_add(tf.cast(global_batch, tf.int64))
            self.step.assign_add(1)
            return logs

        # The step's Python control flow is all static (stage, phases, shapes), so AutoGraph has nothing
        # to convert; without it a trace takes about a fifth less time (bench/trace.py).
        return step if self.run_eagerly else tf.function(step, reduce_retracing=True, autograph=False)

    def make_train_function(self, force: bool = False):
        """A Python dispatcher over the compiled steps, one per `step_key()`."""
        if self.train_function is not None and not force:
            return self.train_function
        if self.g_optimizer is None:
            raise RuntimeError("call compile() before training.")
        compiled = {}

        def function(iterator):
            data = next(iterator) if hasattr(iterator, "__next__") else next(iter(iterator))
            if isinstance(data, tuple) and len(data) == 3 and data[2] is None:
                data = data[:2] if data[1] is not None else data[0]  # Keras' (x, y, sample_weight)
            key = self.step_key()
            if key not in compiled:
                compiled[key] = self._compiled_step(key)
            return compiled[key](data)

        self.train_function = function
        return function

    def train_step(self, data):
        """One training step (dispatching to the compiled step of the current key)."""
        return self.make_train_function()(iter([data]))

    # --------------------------------------------------------- serialisation
    def family_config(self) -> dict[str, Any]:
        """The family's own constructor arguments (besides G, D and the shared ones)."""
        return {}

    def get_config(self):
        return {
            "G": keras.saving.serialize_keras_object(self.G), "D": keras.saving.serialize_keras_object(self.D),
            "ema_kimg": self.ema_kimg, "ema_rampup": self.ema_rampup, "seed": self.seed,
            "schedule": None if self.schedule is None else self.schedule.to_dict(), **self.family_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["G"] = keras.saving.deserialize_keras_object(config["G"])
        config["D"] = keras.saving.deserialize_keras_object(config["D"])
        if config.get("schedule") is not None:
            config["schedule"] = ProgressiveSchedule.from_dict(config["schedule"])
        accepted = inspect.signature(cls.__init__).parameters
        return cls(**{k: v for k, v in config.items() if k in accepted})
