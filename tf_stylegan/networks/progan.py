"""ProGAN (Karras et al. 2018): the progressively grown generator and discriminator.

Both networks hold every resolution from 4x4 to `img_resolution` and run up to
the resolution of the current training stage (see training/progressive.py):

G: z -> pixel norm -> dense to 4x4 -> conv; then per resolution nearest-
neighbour 2x upsampling and two 3x3 convs; LeakyReLU(0.2) and pixel norm after
every conv; a 1x1 toRGB (linear) at each resolution.
D: a 1x1 fromRGB at each resolution; per resolution two 3x3 convs and 2x2
average pooling; at 4x4 minibatch stddev, a 3x3 conv, a dense layer and the
(linear) score.

Every weight uses the equalized learning rate (runtime He scaling, the same
layers as StyleGAN2). With `alpha` given, the newest resolution fades in: G
blends its toRGB output with the upsampled toRGB of the resolution below, and
D blends its top block with the fromRGB of the 2x-downsampled image.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.layers import EqualizedConv2D, EqualizedDense, MinibatchStdDev, PixelNorm
from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.networks.synthesis import channels_at
from tf_stylegan.ops.box import downsample_box, fade, upsample_nearest


def _resolutions(img_resolution: int) -> list[int]:
    log2 = int(np.log2(img_resolution))
    if img_resolution < 4 or 2**log2 != img_resolution:
        raise ValueError(f"ProGAN: img_resolution must be a power of two >= 4, got {img_resolution}.")
    return [2**i for i in range(2, log2 + 1)]


def _check_resolution(resolution: int, img_resolution: int, who: str) -> int:
    if resolution not in _resolutions(img_resolution):
        raise ValueError(f"{who}: resolution {resolution} is not a power of two in [4, {img_resolution}].")
    return int(resolution)


def _check_unconditional(c, who: str) -> None:
    if c is not None:
        raise ValueError(f"{who} is unconditional; it takes no labels (train StyleGAN2 with --cond for tags).")


@keras.saving.register_keras_serializable(package=PACKAGE)
class ProGANGenerator(keras.Model):
    """z [N, z_dim] -> images [N, r, r, C] for a stage resolution r <= img_resolution.

    Args:
      z_dim: latent width.
      img_resolution, img_channels: the final image size.
      channel_base, channel_max: feature maps at resolution r: min(channel_base / r, channel_max).
      normalize_latents: pixel-normalise z first (the paper does).
    """

    def __init__(self, z_dim: int = 512, img_resolution: int = 64, img_channels: int = 3,
                 channel_base: int = 16384, channel_max: int = 512, normalize_latents: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.z_dim, self.c_dim = int(z_dim), 0
        self.img_resolution, self.img_channels = int(img_resolution), int(img_channels)
        self.channel_base, self.channel_max = int(channel_base), int(channel_max)
        self.normalize_latents = bool(normalize_latents)
        self.resolutions = _resolutions(self.img_resolution)
        ch = {r: channels_at(r, channel_base, channel_max) for r in self.resolutions}
        self.norm = PixelNorm(name="pixel_norm")
        self.dense = EqualizedDense(self.z_dim, 16 * ch[4], activation="lrelu", name="dense")
        for r in self.resolutions:  # attributes named by resolution, so checkpoints track them
            names = ["conv"] if r == 4 else ["conv0", "conv1"]
            for i, n in enumerate(names):
                setattr(self, f"b{r}_{n}", EqualizedConv2D(ch[r // 2] if (r > 4 and i == 0) else ch[r], ch[r], 3,
                                                           activation="lrelu", name=f"b{r}_{n}"))
            setattr(self, f"b{r}_torgb", EqualizedConv2D(ch[r], self.img_channels, 1, name=f"b{r}_torgb"))
        self.ch = ch
        self.build()

    def convs(self, r: int) -> list[EqualizedConv2D]:
        return [getattr(self, f"b{r}_{n}") for n in (["conv"] if r == 4 else ["conv0", "conv1"])]

    def torgb(self, r: int) -> EqualizedConv2D:
        return getattr(self, f"b{r}_torgb")

    def build(self, input_shape=None):
        self.dense.build()
        for r in self.resolutions:
            for layer in self.convs(r) + [self.torgb(r)]:
                layer.build()
        self.built = True

    def build_from_config(self, config):
        self.build()

    def _features(self, z, resolution: int) -> list[tf.Tensor]:
        """Feature maps at every resolution up to `resolution` (the last two are needed for a fade)."""
        z = tf.cast(z, self.compute_dtype)
        if self.normalize_latents:
            z = self.norm(z)
        x = tf.reshape(self.dense(z), [-1, 4, 4, self.ch[4]])
        feats = []
        for r in self.resolutions:
            if r > resolution:
                break
            if r > 4:
                x = upsample_nearest(x)
            for conv in self.convs(r):
                x = self.norm(conv(x))
            feats.append(x)
        return feats

    def call(self, z, c=None, resolution: int | None = None, alpha=None, truncation_psi: float = 1.0,
             noise_mode: str = "const", training: bool = False, **kwargs):
        """Images at `resolution` (default: the final one). With `alpha` (0..1) that
        resolution fades in over the 2x-upsampled output of the one below.
        `truncation_psi` and `noise_mode` exist for the StyleGAN2 call signature."""
        _check_unconditional(c, "ProGANGenerator")
        resolution = _check_resolution(resolution or self.img_resolution, self.img_resolution, "ProGANGenerator")
        feats = self._features(z, resolution)
        img = tf.cast(self.torgb(resolution)(feats[-1]), tf.float32)
        if alpha is not None and resolution > 4:
            low = tf.cast(self.torgb(resolution // 2)(feats[-2]), tf.float32)
            img = fade(upsample_nearest(low), img, alpha)
        return img

    def get_config(self):
        return {**super().get_config(), "z_dim": self.z_dim, "img_resolution": self.img_resolution,
                "img_channels": self.img_channels, "channel_base": self.channel_base,
                "channel_max": self.channel_max, "normalize_latents": self.normalize_latents}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ProGANDiscriminator(keras.Model):
    """images [N, r, r, C] -> scores [N, 1] (WGAN critic), for any stage resolution r.

    Args:
      img_resolution, img_channels: the final image size.
      channel_base, channel_max: feature maps per resolution, as in G.
      mbstd_group_size, mbstd_num_channels: minibatch standard deviation at 4x4.
    """

    def __init__(self, img_resolution: int = 64, img_channels: int = 3, channel_base: int = 16384,
                 channel_max: int = 512, mbstd_group_size: int | None = 4, mbstd_num_channels: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.c_dim = 0
        self.img_resolution, self.img_channels = int(img_resolution), int(img_channels)
        self.channel_base, self.channel_max = int(channel_base), int(channel_max)
        self.mbstd_group_size, self.mbstd_num_channels = mbstd_group_size, int(mbstd_num_channels)
        self.resolutions = _resolutions(self.img_resolution)
        ch = {r: channels_at(r, channel_base, channel_max) for r in self.resolutions}
        for r in self.resolutions:  # attributes named by resolution, so checkpoints track them
            setattr(self, f"b{r}_fromrgb", EqualizedConv2D(self.img_channels, ch[r], 1, activation="lrelu",
                                                           name=f"b{r}_fromrgb"))
            if r > 4:
                setattr(self, f"b{r}_conv0", EqualizedConv2D(ch[r], ch[r], 3, activation="lrelu", name=f"b{r}_conv0"))
                setattr(self, f"b{r}_conv1", EqualizedConv2D(ch[r], ch[r // 2], 3, activation="lrelu",
                                                             name=f"b{r}_conv1"))
        self.mbstd = MinibatchStdDev(mbstd_group_size, self.mbstd_num_channels, name="mbstd")
        self.conv4 = EqualizedConv2D(ch[4] + self.mbstd_num_channels, ch[4], 3, activation="lrelu", name="b4_conv")
        self.fc = EqualizedDense(16 * ch[4], ch[4], activation="lrelu", name="b4_fc")
        self.out = EqualizedDense(ch[4], 1, name="b4_out")
        self.ch = ch
        self.build()

    def fromrgb(self, r: int) -> EqualizedConv2D:
        return getattr(self, f"b{r}_fromrgb")

    def convs(self, r: int) -> list[EqualizedConv2D]:
        return [getattr(self, f"b{r}_conv0"), getattr(self, f"b{r}_conv1")] if r > 4 else []

    def build(self, input_shape=None):
        for r in self.resolutions:
            for layer in [self.fromrgb(r)] + self.convs(r):
                layer.build()
        for layer in (self.conv4, self.fc, self.out):
            layer.build()
        self.built = True

    def build_from_config(self, config):
        self.build()

    def _block(self, x, r: int):
        for conv in self.convs(r):
            x = conv(x)
        return downsample_box(x)

    def call(self, img, c=None, alpha=None, training: bool = False, **kwargs):
        """Scores of images at any resolution in [4, img_resolution]; with `alpha`
        the top resolution fades in over the 2x-downsampled image's fromRGB."""
        _check_unconditional(c, "ProGANDiscriminator")
        img = tf.convert_to_tensor(img)
        if img.shape.rank != 4 or img.shape[-1] != self.img_channels or img.shape[1] != img.shape[2]:
            raise ValueError(f"ProGANDiscriminator: images have shape {img.shape}, expected "
                             f"[N, r, r, {self.img_channels}] with r a power of two in [4, {self.img_resolution}].")
        resolution = _check_resolution(img.shape[1], self.img_resolution, "ProGANDiscriminator")
        img = tf.cast(img, self.compute_dtype)
        x = self.fromrgb(resolution)(img)
        for r in [r for r in reversed(self.resolutions) if 4 < r <= resolution]:
            x = self._block(x, r)
            if r == resolution and alpha is not None:
                x = fade(self.fromrgb(r // 2)(downsample_box(img)), x, alpha)
        x = self.conv4(self.mbstd(x))
        x = self.fc(tf.reshape(x, [-1, 16 * self.ch[4]]))
        return tf.cast(self.out(x), tf.float32)

    def get_config(self):
        return {**super().get_config(), "img_resolution": self.img_resolution, "img_channels": self.img_channels,
                "channel_base": self.channel_base, "channel_max": self.channel_max,
                "mbstd_group_size": self.mbstd_group_size, "mbstd_num_channels": self.mbstd_num_channels}
