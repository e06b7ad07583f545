"""GAN losses: StyleGAN2's non-saturating logistic, R1 and path length; the relativistic pairing loss
of R3GAN; ProGAN's WGAN-GP with drift."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def g_nonsaturating(fake_logits: tf.Tensor) -> tf.Tensor:
    """Per-sample G loss softplus(-D(G(z)))."""
    return tf.nn.softplus(-fake_logits)


def d_logistic(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Per-sample D loss softplus(D(G(z))) + softplus(-D(x))."""
    return tf.nn.softplus(fake_logits) + tf.nn.softplus(-real_logits)


def g_relativistic(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Per-sample G loss softplus(D(x) - D(G(z))) of the relativistic pairing GAN (R3GAN, Huang et al.
    2024): each generated image is scored against the real one it is paired with."""
    return tf.nn.softplus(real_logits - fake_logits)


def d_relativistic(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Per-sample D loss softplus(D(G(z)) - D(x)) of the relativistic pairing GAN."""
    return tf.nn.softplus(fake_logits - real_logits)


def r1_penalty(D, real_img: tf.Tensor, real_c, **d_kwargs) -> tuple[tf.Tensor, tf.Tensor]:
    """(per-sample |grad_x D(x)|^2, D(x)) on real images (R1, Mescheder et al. 2018); on generated
    images the same term is R2."""
    with tf.GradientTape() as tape:
        tape.watch(real_img)
        logits = tf.cast(D(real_img, real_c, **d_kwargs), tf.float32)
        total = tf.reduce_sum(logits)
    grads = tf.cast(tape.gradient(total, real_img), tf.float32)
    return tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]), logits


def path_lengths(synthesis, ws: tf.Tensor, pl_noise: tf.Tensor, stateless_seed, **synthesis_kwargs) -> tf.Tensor:
    """Per-sample |J_w^T y| with y ~ N(0, I)/sqrt(H W): the path-length statistic."""
    with tf.GradientTape() as tape:
        tape.watch(ws)
        img = synthesis(ws, noise_mode="random", stateless_seed=stateless_seed, **synthesis_kwargs)
        dot = tf.reduce_sum(tf.cast(img, tf.float32) * pl_noise)
    grads = tf.cast(tape.gradient(dot, ws), tf.float32)
    return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=2), axis=1))


def pl_noise_scale(resolution: int) -> float:
    return float(1.0 / np.sqrt(resolution * resolution))


def d_wgan(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """Per-sample WGAN critic loss D(G(z)) - D(x); G's loss is -D(G(z))."""
    return fake_scores - real_scores


def gradient_penalty(D, real_img: tf.Tensor, fake_img: tf.Tensor, mixing: tf.Tensor, target: float = 1.0,
                     **d_kwargs) -> tf.Tensor:
    """Per-sample WGAN-GP term (|grad D(x_hat)| - target)^2 / target^2 (Gulrajani et al. 2017), at
    x_hat = lerp(real, fake, mixing) with `mixing` [N, 1, 1, 1] in [0, 1], as ProGAN computes it."""
    mixed = real_img + (fake_img - real_img) * mixing
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        total = tf.reduce_sum(tf.cast(D(mixed, **d_kwargs), tf.float32))
    grads = tf.cast(tape.gradient(total, mixed), tf.float32)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
    return tf.square(norms - target) / (target**2)


def drift_penalty(real_scores: tf.Tensor) -> tf.Tensor:
    """Per-sample D(x)^2: ProGAN's drift term, which keeps the critic's scores near 0."""
    return tf.square(real_scores)
