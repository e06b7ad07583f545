"""The StyleGAN2 generator: mapping + synthesis as one keras.Model."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.networks.mapping import MappingNetwork
from tf_stylegan.networks.stylegan1 import AdaINSynthesis
from tf_stylegan.networks.synthesis import SynthesisNetwork


@keras.saving.register_keras_serializable(package=PACKAGE)
class Generator(keras.Model):
    """z [N, z_dim] (+ c [N, c_dim]) -> images [N, R, R, C] float32, NHWC.

    `G.mapping(z, c, truncation_psi=...)` gives ws [N, num_ws, w_dim] and
    `G.synthesis(ws, noise_mode=...)` the image, exactly as officially.

    Args:
      z_dim, c_dim, w_dim: latent, label and intermediate widths.
      img_resolution, img_channels: output image size.
      mapping_layers, mapping_lr_multiplier, embed_features, layer_features,
      w_avg_beta, mapping_activation: see `MappingNetwork`.
      architecture, channel_base, channel_max, num_fp16_res, lowp_dtype,
      conv_clamp, use_noise, resample_filter, activation, fused_modconv,
      noise_seed, growing: see `SynthesisNetwork`.
      synthesis: "modulated" (StyleGAN2) or "adain" (the original StyleGAN's
        AdaIN synthesis, always growing; the StyleGAN2 paper's config A).

    Example:
      >>> G = Generator(z_dim=64, w_dim=64, img_resolution=32, channel_base=1024, channel_max=64)
      >>> img = G(tf.random.normal([2, 64]), None, truncation_psi=0.7, noise_mode="const")
    """

    def __init__(
        self,
        z_dim: int = 512,
        c_dim: int = 0,
        w_dim: int = 512,
        img_resolution: int = 1024,
        img_channels: int = 3,
        mapping_layers: int = 8,
        mapping_lr_multiplier: float = 0.01,
        embed_features: int | None = None,
        layer_features: int | None = None,
        w_avg_beta: float | None = 0.995,
        mapping_activation: str = "lrelu",
        architecture: str = "skip",
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 0,
        lowp_dtype: str | None = None,
        conv_clamp: float | None = None,
        use_noise: bool = True,
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        activation: str = "lrelu",
        fused_modconv: bool = False,
        noise_seed: int | None = None,
        growing: bool = False,
        synthesis: str = "modulated",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if synthesis not in ("modulated", "adain"):
            raise ValueError(f"synthesis must be 'modulated' (StyleGAN2) or 'adain' (StyleGAN, config A), "
                             f"got {synthesis!r}.")
        self.z_dim = int(z_dim)
        self.c_dim = int(c_dim)
        self.w_dim = int(w_dim)
        self.img_resolution = int(img_resolution)
        self.img_channels = int(img_channels)
        if synthesis == "adain":
            self.synthesis = AdaINSynthesis(
                w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels, channel_base=channel_base,
                channel_max=channel_max, use_noise=use_noise, seed=noise_seed, name="synthesis",
            )
        else:
            self.synthesis = SynthesisNetwork(
                w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels,
                architecture=architecture, channel_base=channel_base, channel_max=channel_max,
                num_fp16_res=num_fp16_res, lowp_dtype=lowp_dtype, conv_clamp=conv_clamp,
                use_noise=use_noise, resample_filter=resample_filter, activation=activation,
                fused_modconv=fused_modconv, seed=noise_seed, growing=growing, name="synthesis",
            )
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws,
            num_layers=mapping_layers, embed_features=embed_features,
            layer_features=layer_features, activation=mapping_activation,
            lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta, name="mapping",
        )
        self._gen_config = dict(
            z_dim=self.z_dim, c_dim=self.c_dim, w_dim=self.w_dim,
            img_resolution=self.img_resolution, img_channels=self.img_channels,
            mapping_layers=int(mapping_layers), mapping_lr_multiplier=float(mapping_lr_multiplier),
            embed_features=embed_features, layer_features=layer_features,
            w_avg_beta=w_avg_beta, mapping_activation=mapping_activation,
            architecture=architecture, channel_base=int(channel_base),
            channel_max=int(channel_max), num_fp16_res=int(num_fp16_res),
            lowp_dtype=lowp_dtype, conv_clamp=conv_clamp, use_noise=bool(use_noise),
            resample_filter=[float(v) for v in resample_filter], activation=activation,
            fused_modconv=bool(fused_modconv), noise_seed=noise_seed, growing=bool(growing), synthesis=synthesis,
        )
        self.build()

    def build(self, input_shape=None):
        self.mapping.build()
        self.synthesis.build()
        self.built = True

    def build_from_config(self, config):
        self.build()

    def call(
        self,
        z,
        c=None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "random",
        fused_modconv: bool | None = None,
        stateless_seed: tf.Tensor | None = None,
        training: bool = False,
        resolution: int | None = None,
        alpha=None,
    ):
        """`resolution` and `alpha` pick a stage of a growing generator (see SynthesisNetwork)."""
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, fused_modconv=fused_modconv, stateless_seed=stateless_seed,
                              resolution=resolution, alpha=alpha)

    def get_config(self):
        return {**super().get_config(), **self._gen_config}
