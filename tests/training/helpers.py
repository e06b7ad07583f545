"""Tiny networks and data for fast training tests."""

import numpy as np
import tensorflow as tf

from tf_stylegan.networks import Discriminator, Generator
from tf_stylegan.training import StyleGAN2

NETS = dict(img_resolution=8, channel_base=64, channel_max=16)


def tiny_gan(c_dim=0, **gan_kwargs):
    G = Generator(z_dim=8, w_dim=8, c_dim=c_dim, mapping_layers=2, name="generator", **NETS)
    D = Discriminator(c_dim=c_dim, mbstd_group_size=2, mapping_layers=1, name="discriminator", **NETS)
    gan_kwargs.setdefault("r1_gamma", 1.0)
    return StyleGAN2(G, D, **gan_kwargs)


def tiny_data(batch=4, c_dim=0, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.uniform(-1, 1, size=(64, 8, 8, 3)).astype(np.float32)
    labels = np.eye(max(c_dim, 1), dtype=np.float32)[rng.randint(0, max(c_dim, 1), 64)][:, :c_dim]
    return tf.data.Dataset.from_tensor_slices((images, labels)).repeat().batch(batch, drop_remainder=True)


def values(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after))
