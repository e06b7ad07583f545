"""The StyleGAN2 discriminator: orig / skip / resnet, mbstd, projection labels."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.layers import EqualizedConv2D, EqualizedDense, MinibatchStdDev
from tf_stylegan.layers.equalized import PACKAGE
from tf_stylegan.networks.mapping import MappingNetwork
from tf_stylegan.networks.synthesis import SQRT_HALF, block_dtype, channels_at, check_architecture, check_growing
from tf_stylegan.ops import downsample2d, setup_filter
from tf_stylegan.ops.box import downsample_box, fade


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiscriminatorBlock(keras.layers.Layer):
    """One resolution of D: (fromRGB) conv0, conv1 with 2x downsampling."""

    def __init__(
        self,
        in_channels: int,
        tmp_channels: int,
        out_channels: int,
        resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        activation: str = "lrelu",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        growing: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self.in_channels = int(in_channels)
        self.tmp_channels = int(tmp_channels)
        self.out_channels = int(out_channels)
        self.resolution = int(resolution)
        self.img_channels = int(img_channels)
        self.architecture = check_architecture(architecture)
        self.activation = activation
        self.resample_filter = [float(v) for v in resample_filter]
        self.conv_clamp = conv_clamp
        self.filter = setup_filter(self.resample_filter)
        self.growing = check_growing(growing, self.architecture)
        # A growing D takes images at every resolution, so every block has a fromRGB.
        self.has_fromrgb = self.in_channels == 0 or self.architecture == "skip" or self.growing
        common = dict(activation=activation, conv_clamp=conv_clamp, dtype=self.dtype_policy)
        if self.has_fromrgb:
            self.fromrgb = EqualizedConv2D(img_channels, tmp_channels, 1, name="fromrgb", **common)
        self.conv0 = EqualizedConv2D(tmp_channels, tmp_channels, 3, name="conv0", **common)
        self.conv1 = EqualizedConv2D(
            tmp_channels, out_channels, 3, down=2, resample_filter=self.resample_filter,
            name="conv1", **common,
        )
        if self.architecture == "resnet":
            self.skip = EqualizedConv2D(
                tmp_channels, out_channels, 1, bias=False, down=2,
                resample_filter=self.resample_filter, name="skip", dtype=self.dtype_policy,
            )

    def build(self, input_shape=None):
        for layer in self._sublayers():
            layer.build()
        self.built = True

    def _sublayers(self):
        names = ["fromrgb"] if self.has_fromrgb else []
        names += ["conv0", "conv1"] + (["skip"] if self.architecture == "resnet" else [])
        return [getattr(self, n) for n in names]

    def call(self, x, img):
        if x is not None:
            x = tf.cast(x, self.compute_dtype)
        if self.has_fromrgb and img is not None:
            img = tf.cast(img, self.compute_dtype)
            y = self.fromrgb(img)
            x = y if x is None else x + y
            img = downsample2d(img, self.filter) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=SQRT_HALF)
            x = self.conv0(x)
            x = self.conv1(x, gain=SQRT_HALF)
            x = y + x
        else:
            x = self.conv1(self.conv0(x))
        return x, img

    def get_config(self):
        return {
            **super().get_config(),
            "in_channels": self.in_channels,
            "tmp_channels": self.tmp_channels,
            "out_channels": self.out_channels,
            "resolution": self.resolution,
            "img_channels": self.img_channels,
            "architecture": self.architecture,
            "activation": self.activation,
            "resample_filter": self.resample_filter,
            "conv_clamp": self.conv_clamp,
            "growing": self.growing,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiscriminatorEpilogue(keras.layers.Layer):
    """The 4x4 head: (fromRGB) mbstd, conv, dense, output (projection with cmap)."""

    def __init__(
        self,
        in_channels: int,
        cmap_dim: int,
        img_channels: int,
        architecture: str = "resnet",
        mbstd_group_size: int | None = 4,
        mbstd_num_channels: int = 1,
        activation: str = "lrelu",
        conv_clamp: float | None = None,
        resolution: int = 4,
        growing: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self.in_channels = int(in_channels)
        self.cmap_dim = int(cmap_dim)
        self.img_channels = int(img_channels)
        self.architecture = check_architecture(architecture)
        self.mbstd_group_size = mbstd_group_size
        self.mbstd_num_channels = int(mbstd_num_channels)
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.resolution = int(resolution)
        self.growing = check_growing(growing, self.architecture)
        self.has_fromrgb = self.architecture == "skip" or self.growing
        if self.has_fromrgb:
            self.fromrgb = EqualizedConv2D(
                img_channels, in_channels, 1, activation=activation, name="fromrgb",
                dtype=self.dtype_policy,
            )
        self.mbstd = None
        if self.mbstd_num_channels > 0:
            self.mbstd = MinibatchStdDev(
                mbstd_group_size, mbstd_num_channels, name="mbstd", dtype=self.dtype_policy
            )
        self.conv = EqualizedConv2D(
            in_channels + self.mbstd_num_channels, in_channels, 3, activation=activation,
            conv_clamp=conv_clamp, name="conv", dtype=self.dtype_policy,
        )
        self.fc = EqualizedDense(
            in_channels * self.resolution**2, in_channels, activation=activation,
            name="fc", dtype=self.dtype_policy,
        )
        self.out = EqualizedDense(
            in_channels, 1 if self.cmap_dim == 0 else self.cmap_dim, name="out",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape=None):
        if self.has_fromrgb:
            self.fromrgb.build()
        for layer in (self.conv, self.fc, self.out):
            layer.build()
        self.built = True

    def call(self, x, img, cmap=None):
        if self.has_fromrgb and img is not None:  # skip; or a growing D at the 4x4 stage (x is None)
            y = self.fromrgb(tf.cast(img, self.compute_dtype))
            x = y if x is None else tf.cast(x, self.compute_dtype) + y
        x = tf.cast(x, self.compute_dtype)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(tf.reshape(x, [-1, self.in_channels * self.resolution**2]))  # (h, w, c) order
        x = self.out(x)
        if self.cmap_dim > 0:
            cmap = tf.cast(cmap, x.dtype)
            x = tf.reduce_sum(x * cmap, axis=1, keepdims=True) * (1.0 / np.sqrt(self.cmap_dim))
        return tf.cast(x, tf.float32)

    def get_config(self):
        return {
            **super().get_config(),
            "in_channels": self.in_channels,
            "cmap_dim": self.cmap_dim,
            "img_channels": self.img_channels,
            "architecture": self.architecture,
            "mbstd_group_size": self.mbstd_group_size,
            "mbstd_num_channels": self.mbstd_num_channels,
            "activation": self.activation,
            "conv_clamp": self.conv_clamp,
            "resolution": self.resolution,
            "growing": self.growing,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class Discriminator(keras.Model):
    """images [N, R, R, C] (+ c [N, c_dim]) -> logits [N, 1].

    Args:
      c_dim: label width; > 0 enables projection conditioning through a
        label mapping network producing cmap [N, cmap_dim].
      img_resolution, img_channels: input image size.
      architecture: "orig", "skip" or "resnet" (StyleGAN2 D default).
      channel_base, channel_max: feature maps per resolution.
      num_fp16_res, lowp_dtype: reduced precision for the top resolutions.
      conv_clamp: clamp conv outputs.
      cmap_dim: projection width (default: channels at 4x4).
      mbstd_group_size, mbstd_num_channels: minibatch stddev.
      mapping_layers, mapping_lr_multiplier: label mapping network.
      growing: progressive growing (configs A-D, "orig" only): a fromRGB at every
        resolution; `call(img, c, alpha)` takes images at any resolution, the top
        one fading in over the fromRGB of the 2x box-downsampled image.
    """

    def __init__(
        self,
        c_dim: int = 0,
        img_resolution: int = 1024,
        img_channels: int = 3,
        architecture: str = "resnet",
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 0,
        lowp_dtype: str | None = None,
        conv_clamp: float | None = None,
        cmap_dim: int | None = None,
        mbstd_group_size: int | None = 4,
        mbstd_num_channels: int = 1,
        activation: str = "lrelu",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        mapping_layers: int = 8,
        mapping_lr_multiplier: float = 0.01,
        growing: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        log2 = int(np.log2(img_resolution))
        if img_resolution < 4 or 2**log2 != img_resolution:
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}.")
        self.growing = check_growing(growing, architecture)
        self.c_dim = int(c_dim)
        self.img_resolution = int(img_resolution)
        self.img_channels = int(img_channels)
        self.block_resolutions = [2**i for i in range(log2, 2, -1)]
        ch = {r: channels_at(r, channel_base, channel_max) for r in self.block_resolutions + [4]}
        cmap_dim = ch[4] if cmap_dim is None else int(cmap_dim)
        cmap_dim = 0 if self.c_dim == 0 else cmap_dim
        for res in self.block_resolutions:
            block = DiscriminatorBlock(
                in_channels=ch[res] if res < img_resolution else 0,
                tmp_channels=ch[res], out_channels=ch[res // 2], resolution=res,
                img_channels=img_channels, architecture=architecture, activation=activation,
                resample_filter=resample_filter, conv_clamp=conv_clamp, growing=self.growing, name=f"b{res}",
                dtype=block_dtype(res, img_resolution, num_fp16_res, lowp_dtype, self.dtype_policy),
            )
            setattr(self, f"b{res}", block)
        self.mapping = None
        if self.c_dim > 0:
            self.mapping = MappingNetwork(
                z_dim=0, c_dim=self.c_dim, w_dim=cmap_dim, num_ws=None, w_avg_beta=None,
                num_layers=mapping_layers, lr_multiplier=mapping_lr_multiplier, name="mapping",
            )
        self.b4 = DiscriminatorEpilogue(
            ch[4], cmap_dim=cmap_dim, img_channels=img_channels, architecture=architecture,
            mbstd_group_size=mbstd_group_size, mbstd_num_channels=mbstd_num_channels,
            activation=activation, conv_clamp=conv_clamp, growing=self.growing, name="b4",
        )
        self._disc_config = dict(
            c_dim=self.c_dim, img_resolution=self.img_resolution, img_channels=self.img_channels,
            architecture=architecture, channel_base=int(channel_base), channel_max=int(channel_max),
            num_fp16_res=int(num_fp16_res), lowp_dtype=lowp_dtype, conv_clamp=conv_clamp,
            cmap_dim=None if cmap_dim == 0 else cmap_dim, mbstd_group_size=mbstd_group_size,
            mbstd_num_channels=int(mbstd_num_channels), activation=activation,
            resample_filter=[float(v) for v in resample_filter],
            mapping_layers=int(mapping_layers), mapping_lr_multiplier=float(mapping_lr_multiplier),
            growing=self.growing,
        )
        self.build()

    @property
    def blocks(self) -> list[DiscriminatorBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def build(self, input_shape=None):
        for block in self.blocks:
            block.build()
        if self.mapping is not None:
            self.mapping.build()
        self.b4.build()
        self.built = True

    def build_from_config(self, config):
        self.build()

    def call(self, img, c=None, training: bool = False, alpha=None):
        """Logits; a growing D takes any stage resolution, and `alpha` fades its top one in."""
        img = tf.convert_to_tensor(img)
        res = img.shape[1] if self.growing else self.img_resolution
        expected = [res, res, self.img_channels]
        if img.shape.rank != 4 or list(img.shape[1:]) != expected or res not in self.block_resolutions + [4]:
            raise ValueError(
                f"Discriminator: images have shape {img.shape}, expected [N, {', '.join(map(str, expected))}]"
                + (f" with the resolution a power of two in [4, {self.img_resolution}]." if self.growing else ".")
            )
        if alpha is not None and not self.growing:
            raise ValueError("Discriminator: alpha needs a growing network (growing=True).")
        x = None
        for block in self.blocks:
            if block.resolution > res:
                continue
            x_top, img_next = block(x, img)
            if block.resolution == res and alpha is not None:
                lower = self.b4 if res == 8 else getattr(self, f"b{res // 2}")
                low = lower.fromrgb(tf.cast(downsample_box(img), lower.compute_dtype))
                x_top = fade(tf.cast(low, x_top.dtype), x_top, alpha)
            x, img = x_top, img_next
        cmap = None
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"Discriminator: this network is conditional (c_dim={self.c_dim}); pass c.")
            cmap = self.mapping(None, c)
        return self.b4(x, img, cmap)

    def get_config(self):
        return {**super().get_config(), **self._disc_config}
