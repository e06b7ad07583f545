"""Keras layers of the style-based GANs (equalized LR, modulation, noise, norms)."""

from tf_stylegan.layers.equalized import EqualizedConv2D, EqualizedDense
from tf_stylegan.layers.modulated import ModulatedConv2D, ToRGB, modulated_conv2d
from tf_stylegan.layers.noise import NoiseInjection
from tf_stylegan.layers.normalization import MinibatchStdDev, PixelNorm, normalize_2nd_moment

__all__ = [
    "EqualizedConv2D",
    "EqualizedDense",
    "MinibatchStdDev",
    "ModulatedConv2D",
    "NoiseInjection",
    "PixelNorm",
    "ToRGB",
    "modulated_conv2d",
    "normalize_2nd_moment",
]
