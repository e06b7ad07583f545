"""The original StyleGAN's synthesis network (AdaIN), for the StyleGAN2 paper's config A.

A learned 4x4 constant, then two AdaIN layers per resolution (the first of
each higher resolution upsamples), each fed its own w, and a 1x1 toRGB at
every resolution. It grows progressively like ProGAN: `call(ws, resolution=r,
alpha=a)` fades r in over the upsampled r/2 image. The call signature is that
of `SynthesisNetwork`, so `Generator(synthesis="adain")` trains through the
same StyleGAN2 model (mapping, style mixing, truncation, G_ema) unchanged.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.layers.adain import AdaINLayer
from tf_stylegan.layers.equalized import PACKAGE, EqualizedConv2D
from tf_stylegan.networks.synthesis import channels_at
from tf_stylegan.ops.box import fade, upsample_nearest


@keras.saving.register_keras_serializable(package=PACKAGE)
class AdaINSynthesis(keras.layers.Layer):
    """ws [N, num_ws, w_dim] -> images [N, r, r, C] for a stage resolution r (default the final one).

    Args:
      w_dim, img_resolution, img_channels, channel_base, channel_max, use_noise:
        as for `SynthesisNetwork`.
      seed: seed of the random-noise generator.
    """

    growing = True  # every resolution has a toRGB, so any stage can be shown

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int = 3, channel_base: int = 16384,
                 channel_max: int = 512, use_noise: bool = True, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        log2 = int(np.log2(img_resolution))
        if img_resolution < 4 or 2**log2 != img_resolution:
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}.")
        self.w_dim, self.img_resolution, self.img_channels = int(w_dim), int(img_resolution), int(img_channels)
        self.channel_base, self.channel_max, self.use_noise, self.seed = (
            int(channel_base), int(channel_max), bool(use_noise), seed)
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        ch = {r: channels_at(r, channel_base, channel_max) for r in self.block_resolutions}
        self.ch4 = ch[4]
        for r in self.block_resolutions:
            first = dict(conv=False) if r == 4 else dict(up=2)
            setattr(self, f"b{r}_layer0", AdaINLayer(ch[max(r // 2, 4)], ch[r], w_dim, r, use_noise=use_noise,
                                                     name=f"b{r}_layer0", **first))
            setattr(self, f"b{r}_layer1", AdaINLayer(ch[r], ch[r], w_dim, r, use_noise=use_noise,
                                                     name=f"b{r}_layer1"))
            setattr(self, f"b{r}_torgb", EqualizedConv2D(ch[r], img_channels, 1, name=f"b{r}_torgb"))
        self.num_ws = 2 * len(self.block_resolutions)
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    def build(self, input_shape=None):
        self.const = self.add_weight(name="const", shape=(4, 4, self.ch4), initializer="ones")
        for r in self.block_resolutions:
            for name in ("layer0", "layer1", "torgb"):
                getattr(self, f"b{r}_{name}").build()
        self.built = True

    def call(self, ws, noise_mode: str = "random", fused_modconv: bool | None = None,
             stateless_seed: tf.Tensor | None = None, resolution: int | None = None, alpha=None):
        """As `SynthesisNetwork.call`; `fused_modconv` has no meaning here and is ignored."""
        ws = tf.convert_to_tensor(ws)
        if ws.shape.rank != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"AdaINSynthesis: ws has shape {ws.shape}, expected [N, {self.num_ws}, {self.w_dim}].")
        resolution = resolution or self.img_resolution
        if resolution not in self.block_resolutions:
            raise ValueError(f"AdaINSynthesis: resolution {resolution} is not one of {self.block_resolutions}.")
        seed = None
        if noise_mode == "random":
            seed = self.seed_generator if stateless_seed is None else stateless_seed
        x = tf.tile(tf.cast(self.const, self.compute_dtype)[tf.newaxis], [tf.shape(ws)[0], 1, 1, 1])
        images = []
        for i, r in enumerate(r for r in self.block_resolutions if r <= resolution):
            for j in (0, 1):
                x = getattr(self, f"b{r}_layer{j}")(x, ws[:, 2 * i + j], noise_mode=noise_mode, seed=seed)
            images.append(tf.cast(getattr(self, f"b{r}_torgb")(x), tf.float32))
        img = images[-1]
        if alpha is not None and resolution > 4:
            img = fade(upsample_nearest(images[-2]), img, alpha)
        return img

    def get_config(self):
        return {**super().get_config(), "w_dim": self.w_dim, "img_resolution": self.img_resolution,
                "img_channels": self.img_channels, "channel_base": self.channel_base,
                "channel_max": self.channel_max, "use_noise": self.use_noise, "seed": self.seed}
