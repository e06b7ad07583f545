"""Mapping network z (+ c) -> w, with w_avg tracking and truncation."""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_stylegan.layers import EqualizedDense, normalize_2nd_moment
from tf_stylegan.layers.equalized import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class MappingNetwork(keras.layers.Layer):
    """The StyleGAN2 mapping network (official MappingNetwork).

    z is normalised to unit 2nd moment; a label c (one-hot class or multi-hot
    tags) goes through a linear embedding, is normalised the same way and is
    concatenated. Then `num_layers` equalized dense layers with a reduced
    learning rate. `w_avg` tracks the mean w during training (EMA with
    `w_avg_beta`) and is the centre of the truncation trick.

    Args:
      z_dim: latent width (0 for the discriminator's label mapping).
      c_dim: label width (0 = unconditional).
      w_dim: output width.
      num_ws: copies of w to broadcast to ([N, num_ws, w_dim]); None = [N, w_dim].
      num_layers: dense layers.
      embed_features: label embedding width (default w_dim).
      layer_features: hidden width (default w_dim).
      activation: hidden activation.
      lr_multiplier: learning-rate multiplier of the dense layers.
      w_avg_beta: EMA decay of w_avg; None = no tracking (and no truncation).

    Example:
      >>> ws = MappingNetwork(64, 0, 64, num_ws=8)(tf.random.normal([2, 64]))
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int | None,
        num_layers: int = 8,
        embed_features: int | None = None,
        layer_features: int | None = None,
        activation: str = "lrelu",
        lr_multiplier: float = 0.01,
        w_avg_beta: float | None = 0.995,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.z_dim = int(z_dim)
        self.c_dim = int(c_dim)
        self.w_dim = int(w_dim)
        self.num_ws = None if num_ws is None else int(num_ws)
        self.num_layers = int(num_layers)
        self.embed_features_arg = embed_features
        self.layer_features_arg = layer_features
        self.activation = activation
        self.lr_multiplier = float(lr_multiplier)
        self.w_avg_beta = None if w_avg_beta is None else float(w_avg_beta)
        if self.z_dim == 0 and self.c_dim == 0:
            raise ValueError("MappingNetwork needs z_dim > 0 or c_dim > 0.")

        embed = w_dim if embed_features is None else int(embed_features)
        embed = embed if self.c_dim > 0 else 0
        hidden = w_dim if layer_features is None else int(layer_features)
        widths = [self.z_dim + embed] + [hidden] * (self.num_layers - 1) + [self.w_dim]
        self.embed = None
        if self.c_dim > 0:
            self.embed = EqualizedDense(self.c_dim, embed, name="embed", dtype=self.dtype_policy)
        for i in range(self.num_layers):
            fc = EqualizedDense(
                widths[i], widths[i + 1], activation=activation,
                lr_multiplier=self.lr_multiplier, name=f"fc{i}", dtype=self.dtype_policy,
            )
            setattr(self, f"fc{i}", fc)

    @property
    def fcs(self) -> list[EqualizedDense]:
        """The dense layers in order (attributes fc0, fc1, ... as officially named)."""
        return [getattr(self, f"fc{i}") for i in range(self.num_layers)]

    def build(self, input_shape=None):
        if self.embed is not None:
            self.embed.build()
        for fc in self.fcs:
            fc.build()
        self.w_avg = None
        if self.w_avg_beta is not None:
            # Updated inside replicas during training: the replicas' updates are averaged.
            self.w_avg = self.add_weight(
                name="w_avg", shape=(self.w_dim,), initializer="zeros", trainable=False, aggregation="mean"
            )
        self.built = True

    def call(
        self,
        z: tf.Tensor | None,
        c: tf.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_w_avg: bool = False,
    ) -> tf.Tensor:
        x = None
        if self.z_dim > 0:
            z = tf.convert_to_tensor(z)
            if z.shape[-1] != self.z_dim:
                raise ValueError(f"MappingNetwork: z has shape {z.shape}, expected [N, {self.z_dim}].")
            x = normalize_2nd_moment(tf.cast(z, self.compute_dtype))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"MappingNetwork: this network is conditional (c_dim={self.c_dim}); pass c.")
            c = tf.convert_to_tensor(c)
            if c.shape[-1] != self.c_dim:
                raise ValueError(f"MappingNetwork: c has shape {c.shape}, expected [N, {self.c_dim}].")
            y = normalize_2nd_moment(self.embed(tf.cast(c, self.compute_dtype)))
            x = y if x is None else tf.concat([x, y], axis=1)
        for fc in self.fcs:
            x = fc(x)
        if update_w_avg and self.w_avg is not None:
            mean = tf.cast(tf.reduce_mean(tf.stop_gradient(x), axis=0), self.w_avg.dtype)
            self.w_avg.assign(mean + (self.w_avg - mean) * self.w_avg_beta)
        if self.num_ws is not None:
            x = tf.tile(x[:, tf.newaxis, :], [1, self.num_ws, 1])
        if isinstance(truncation_psi, (int, float)) and truncation_psi == 1:
            return x
        return self.truncate(x, truncation_psi, truncation_cutoff)

    def truncate(self, x, truncation_psi, truncation_cutoff=None):
        """w_avg + psi * (w - w_avg), for the first `truncation_cutoff` ws (all if None)."""
        if self.w_avg is None:
            raise ValueError("MappingNetwork: truncation needs w_avg (w_avg_beta is None).")
        avg = tf.cast(self.w_avg, x.dtype)
        psi = tf.cast(truncation_psi, x.dtype)
        truncated = avg + psi * (x - avg)
        if self.num_ws is None or truncation_cutoff is None:
            return truncated
        keep = tf.range(self.num_ws) < truncation_cutoff
        return tf.where(keep[tf.newaxis, :, tf.newaxis], truncated, x)

    def get_config(self):
        return {
            **super().get_config(),
            "z_dim": self.z_dim,
            "c_dim": self.c_dim,
            "w_dim": self.w_dim,
            "num_ws": self.num_ws,
            "num_layers": self.num_layers,
            "embed_features": self.embed_features_arg,
            "layer_features": self.layer_features_arg,
            "activation": self.activation,
            "lr_multiplier": self.lr_multiplier,
            "w_avg_beta": self.w_avg_beta,
        }
