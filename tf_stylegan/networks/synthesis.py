"""Synthesis network ws -> image: blocks from 4x4 up, orig / skip / resnet."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.layers import EqualizedConv2D, ModulatedConv2D, ToRGB
from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.ops import setup_filter, upsample2d
from tf_stylegan.ops.box import fade, upsample_nearest

ARCHITECTURES = ("orig", "skip", "resnet")
SQRT_HALF = float(np.sqrt(0.5))  # resnet branch gain; a Python float so Keras keeps it static
LOWP_DTYPES = (None, "mixed_bfloat16", "mixed_float16")


def check_architecture(architecture: str) -> str:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}.")
    return architecture


def check_growing(growing: bool, architecture: str) -> bool:
    """Progressive growing (the StyleGAN2 paper's configs A-D) runs on the "orig" architecture."""
    if growing and architecture != "orig":
        raise ValueError(f"progressive growing needs architecture 'orig' (configs A-D), got {architecture!r}.")
    return bool(growing)


def channels_at(res: int, channel_base: int, channel_max: int) -> int:
    """Feature maps at resolution `res`: min(channel_base / res, channel_max)."""
    return min(int(channel_base) // int(res), int(channel_max))


def lowp_resolution(img_resolution: int, num_fp16_res: int) -> int:
    """Lowest resolution that runs in reduced precision (the top num_fp16_res)."""
    return max(2 ** (int(np.log2(img_resolution)) + 1 - num_fp16_res), 8)


def block_dtype(res, img_resolution, num_fp16_res, lowp_dtype, default):
    """The dtype policy of the block at `res`: lowp for the top resolutions."""
    if lowp_dtype not in LOWP_DTYPES:
        raise ValueError(f"lowp_dtype must be one of {LOWP_DTYPES}, got {lowp_dtype!r}.")
    if lowp_dtype is not None and num_fp16_res > 0 and res >= lowp_resolution(img_resolution, num_fp16_res):
        return lowp_dtype
    return default


@keras.saving.register_keras_serializable(package=PACKAGE)
class SynthesisBlock(keras.layers.Layer):
    """One resolution of the synthesis network (official SynthesisBlock).

    The 4x4 block starts from a learned constant; others upsample in conv0.
    Uses `num_conv + num_torgb` consecutive ws; the ToRGB w is shared with the
    next block's first conv, as officially.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str = "skip",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        use_noise: bool = True,
        activation: str = "lrelu",
        growing: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # The image path stays float32 in reduced-precision blocks; cast by hand.
        self._convert_input_args = False
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        self.img_channels = int(img_channels)
        self.is_last = bool(is_last)
        self.architecture = check_architecture(architecture)
        self.resample_filter = [float(v) for v in resample_filter]
        self.conv_clamp = conv_clamp
        self.use_noise = bool(use_noise)
        self.activation = activation
        self.filter = setup_filter(self.resample_filter)
        self.num_conv = 1 if self.in_channels == 0 else 2
        self.growing = check_growing(growing, self.architecture)
        # A growing network shows every resolution in turn, so every block has a ToRGB.
        self.num_torgb = 1 if (self.is_last or self.architecture == "skip" or self.growing) else 0

        common = dict(
            w_dim=w_dim, resolution=resolution, use_noise=use_noise, activation=activation,
            resample_filter=self.resample_filter, conv_clamp=conv_clamp, dtype=self.dtype_policy,
        )
        if self.in_channels > 0:
            self.conv0 = ModulatedConv2D(in_channels, out_channels, up=2, name="conv0", **common)
        self.conv1 = ModulatedConv2D(out_channels, out_channels, name="conv1", **common)
        if self.num_torgb:
            self.torgb = ToRGB(
                out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp,
                name="torgb", dtype=self.dtype_policy,
            )
        if self.in_channels > 0 and self.architecture == "resnet":
            self.skip = EqualizedConv2D(
                in_channels, out_channels, kernel_size=1, bias=False, up=2,
                resample_filter=self.resample_filter, name="skip", dtype=self.dtype_policy,
            )

    def build(self, input_shape=None):
        if self.in_channels == 0:
            self.const = self.add_weight(
                name="const", shape=(4, 4, self.out_channels),
                initializer=keras.initializers.RandomNormal(stddev=1.0),
            )
        else:
            self.conv0.build()
            if self.architecture == "resnet":
                self.skip.build()
        self.conv1.build()
        if self.num_torgb:
            self.torgb.build()
        self.built = True

    def call(self, x, img, ws, noise_mode="random", fused_modconv=False, seed=None):
        ws = tf.cast(ws, self.compute_dtype)
        layer = dict(noise_mode=noise_mode, fused_modconv=fused_modconv, seed=seed)
        if self.in_channels == 0:
            x = tf.cast(self.const, self.compute_dtype)[tf.newaxis]
            x = tf.tile(x, [tf.shape(ws)[0], 1, 1, 1])
            x = self.conv1(x, ws[:, 0], **layer)
        else:
            x = tf.cast(x, self.compute_dtype)
            if self.architecture == "resnet":
                y = self.skip(x, gain=SQRT_HALF)
                x = self.conv0(x, ws[:, 0], **layer)
                x = self.conv1(x, ws[:, 1], gain=SQRT_HALF, **layer)
                x = y + x
            else:
                x = self.conv0(x, ws[:, 0], **layer)
                x = self.conv1(x, ws[:, 1], **layer)
        if img is not None:
            img = upsample2d(img, self.filter)
        if self.num_torgb:
            y = self.torgb(x, ws[:, self.num_conv], fused_modconv=fused_modconv)
            y = tf.cast(y, tf.float32)
            img = y if img is None else img + y
        return x, img

    def get_config(self):
        return {
            **super().get_config(),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "w_dim": self.w_dim,
            "resolution": self.resolution,
            "img_channels": self.img_channels,
            "is_last": self.is_last,
            "architecture": self.architecture,
            "resample_filter": self.resample_filter,
            "conv_clamp": self.conv_clamp,
            "use_noise": self.use_noise,
            "activation": self.activation,
            "growing": self.growing,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class SynthesisNetwork(keras.layers.Layer):
    """ws [N, num_ws, w_dim] -> images [N, R, R, C] float32 in about [-1, 1].

    Args:
      w_dim: width of w.
      img_resolution: output resolution (a power of two >= 4).
      img_channels: output channels.
      architecture: "orig", "skip" (StyleGAN2 G default) or "resnet".
      channel_base, channel_max: feature maps per resolution.
      num_fp16_res: how many top resolutions run in `lowp_dtype`.
      lowp_dtype: None (all float32), "mixed_bfloat16" (CPU) or "mixed_float16" (GPU).
      conv_clamp: clamp conv outputs to +-conv_clamp (as for fp16 training).
      use_noise: noise inputs.
      resample_filter: FIR taps.
      activation: conv activation.
      fused_modconv: default execution of the modulated convs (see layers).
      seed: seed of the random-noise generator.
      growing: progressive growing (configs A-D, "orig" only): a ToRGB at every
        resolution, and `call(..., resolution=r, alpha=a)` makes r x r images,
        with r fading in over the upsampled r/2 image while alpha < 1.
    """

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int = 3,
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
        seed: int | None = None,
        growing: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        log2 = int(np.log2(img_resolution))
        if img_resolution < 4 or 2**log2 != img_resolution:
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}.")
        self.w_dim = int(w_dim)
        self.img_resolution = int(img_resolution)
        self.img_channels = int(img_channels)
        self.architecture = check_architecture(architecture)
        self.channel_base = int(channel_base)
        self.channel_max = int(channel_max)
        self.num_fp16_res = int(num_fp16_res)
        self.lowp_dtype = lowp_dtype
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.use_noise = bool(use_noise)
        self.resample_filter = [float(v) for v in resample_filter]
        self.activation = activation
        self.fused_modconv = bool(fused_modconv)
        self.seed = seed
        self.growing = check_growing(growing, self.architecture)
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(
                in_channels=channels_at(res // 2, channel_base, channel_max) if res > 4 else 0,
                out_channels=channels_at(res, channel_base, channel_max),
                w_dim=w_dim, resolution=res, img_channels=img_channels,
                is_last=res == self.img_resolution, architecture=architecture,
                resample_filter=self.resample_filter, conv_clamp=self.conv_clamp,
                use_noise=use_noise, activation=activation, growing=self.growing, name=f"b{res}",
                dtype=block_dtype(res, img_resolution, self.num_fp16_res, lowp_dtype, self.dtype_policy),
            )
            setattr(self, f"b{res}", block)
            self.num_ws += block.num_conv
        self.num_ws += self.blocks[-1].num_torgb
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    @property
    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def build(self, input_shape=None):
        for block in self.blocks:
            block.build()
        self.built = True

    def call(
        self,
        ws,
        noise_mode: str = "random",
        fused_modconv: bool | None = None,
        stateless_seed: tf.Tensor | None = None,
        resolution: int | None = None,
        alpha=None,
    ):
        """ws -> images. With `stateless_seed` (a [2] seed tensor) random noise is a
        stateless draw: reproducible, and independent of the replica split.
        `resolution` and `alpha` select a stage of a growing network."""
        ws = tf.convert_to_tensor(ws)
        if ws.shape.rank != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(
                f"SynthesisNetwork: ws has shape {ws.shape}, expected [N, {self.num_ws}, {self.w_dim}]."
            )
        fused = self.fused_modconv if fused_modconv is None else bool(fused_modconv)
        seed = None
        if noise_mode == "random":
            seed = self.seed_generator if stateless_seed is None else stateless_seed
        resolution = self._check_stage(resolution, alpha)
        x = img = None
        images = []
        w_idx = 0
        for block in self.blocks:
            if block.resolution > resolution:
                break
            block_ws = ws[:, w_idx : w_idx + block.num_conv + block.num_torgb]
            x, img = block(x, None if self.growing else img, block_ws, noise_mode=noise_mode, fused_modconv=fused,
                           seed=seed)
            images.append(img)
            w_idx += block.num_conv
        if alpha is not None and resolution > 4:
            img = fade(upsample_nearest(images[-2]), img, alpha)
        return img

    def _check_stage(self, resolution: int | None, alpha) -> int:
        if not self.growing:
            if resolution not in (None, self.img_resolution) or alpha is not None:
                raise ValueError("SynthesisNetwork: resolution/alpha need a growing network (growing=True).")
            return self.img_resolution
        resolution = resolution or self.img_resolution
        if resolution not in self.block_resolutions:
            raise ValueError(f"SynthesisNetwork: resolution {resolution} is not one of {self.block_resolutions}.")
        return resolution

    def get_config(self):
        return {
            **super().get_config(),
            "w_dim": self.w_dim,
            "img_resolution": self.img_resolution,
            "img_channels": self.img_channels,
            "architecture": self.architecture,
            "channel_base": self.channel_base,
            "channel_max": self.channel_max,
            "num_fp16_res": self.num_fp16_res,
            "lowp_dtype": self.lowp_dtype,
            "conv_clamp": self.conv_clamp,
            "use_noise": self.use_noise,
            "resample_filter": self.resample_filter,
            "activation": self.activation,
            "fused_modconv": self.fused_modconv,
            "seed": self.seed,
            "growing": self.growing,
        }
