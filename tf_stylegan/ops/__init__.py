"""Low-level ops: reference (pure TF) and, when built, compiled custom ops."""

from tf_stylegan.ops._dispatch import override_impl
from tf_stylegan.ops.bias_act import ACTIVATIONS, bias_act
from tf_stylegan.ops.conv2d_resample import conv2d_resample
from tf_stylegan.ops.upfirdn2d import (
    downsample2d,
    filter2d,
    setup_filter,
    upfirdn2d,
    upsample2d,
)

__all__ = [
    "ACTIVATIONS",
    "bias_act",
    "conv2d_resample",
    "downsample2d",
    "filter2d",
    "override_impl",
    "setup_filter",
    "upfirdn2d",
    "upsample2d",
]
