"""Perceptual path length (StyleGAN, Section 3.2), as stylegan2-ada-pytorch computes it.

Pairs of latents a tiny step epsilon apart along a path between two random
latents, at a uniformly random position t ("full") or at the end points t = 0
("end"), interpolated with slerp in Z or lerp in W. Both images of a pair use
the same noise (the stored noise maps, redrawn for every batch). Images are
optionally cropped to the face (rows 3/8..7/8, columns 2/8..6/8), area-
downsampled to 256 px if larger, and measured with LPIPS-VGG16; the distance
is divided by epsilon^2. The result is the mean after dropping values below
the 1st and above the 99th percentile.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tf_stylegan.layers.noise import borrowed_noise
from tf_stylegan.metrics.lpips import LPIPSEmbedding
from tf_stylegan.metrics.stats import MetricError
from tf_stylegan.networks.latents import slerp

EPSILON = 1e-4


def crop_and_resize(images: tf.Tensor, crop: bool) -> tf.Tensor:
    """The official face crop and area downsampling to at most 256 px; NHWC in [-1, 1]."""
    if crop:
        size = images.shape[1] // 8
        images = images[:, size * 3:size * 7, size * 2:size * 6, :]
    factor = images.shape[1] // 256 if images.shape[1] else 1
    if factor > 1:
        images = tf.nn.avg_pool2d(images, factor, factor, "VALID")
    return images


def path_length_samples(G, embed: LPIPSEmbedding, num: int, space: str = "w", sampling: str = "end",
                        crop: bool = True, batch_size: int = 8, label_pool: np.ndarray | None = None,
                        seed: int = 0, epsilon: float = EPSILON, progress: bool = False) -> np.ndarray:
    """The per-pair distances (before percentile filtering)."""
    if space not in ("z", "w") or sampling not in ("full", "end"):
        raise MetricError(f"PPL: space must be z or w and sampling full or end, got {space!r}, {sampling!r}.")
    if G.c_dim and (label_pool is None or label_pool.shape[-1] != G.c_dim):
        raise MetricError(f"PPL: the generator is conditional (c_dim={G.c_dim}); give dataset labels of that width.")
    rng = np.random.RandomState(seed)

    @tf.function
    def pair_distance(z0, z1, c, t):
        if space == "w":
            ws = G.mapping(tf.concat([z0, z1], 0), tf.concat([c, c], 0) if G.c_dim else None)
            w0, w1 = tf.split(ws, 2)
            t3 = t[:, None, None]
            wt0, wt1 = w0 + (w1 - w0) * t3, w0 + (w1 - w0) * (t3 + epsilon)
        else:
            zt0, zt1 = slerp(z0, z1, t[:, None]), slerp(z0, z1, t[:, None] + epsilon)
            wt0, wt1 = tf.split(G.mapping(tf.concat([zt0, zt1], 0), tf.concat([c, c], 0) if G.c_dim else None), 2)
        images = G.synthesis(tf.concat([wt0, wt1], 0), noise_mode="const")
        images = crop_and_resize(tf.cast(images, tf.float32), crop)
        e0, e1 = tf.split(embed((images + 1.0) * 127.5), 2)
        return tf.reduce_sum(tf.square(e0 - e1), axis=1) / epsilon ** 2

    from tqdm import tqdm

    out = []
    with borrowed_noise(G.synthesis) as noise_layers:
        with tqdm(total=num, desc="path lengths", unit="pair", disable=not progress, leave=False) as bar:
            for start in range(0, num, batch_size):
                n = min(batch_size, num - start)
                t = rng.uniform(size=n).astype(np.float32) * (1.0 if sampling == "full" else 0.0)
                z = rng.standard_normal([2 * n, G.z_dim]).astype(np.float32)
                c = (label_pool[rng.randint(len(label_pool), size=n)] if G.c_dim
                     else np.zeros([n, 0])).astype(np.float32)
                for layer in noise_layers:  # fresh stored noise per batch, shared within each pair
                    layer.noise_const.assign(rng.standard_normal(layer.noise_const.shape).astype(np.float32))
                out.append(pair_distance(z[:n], z[n:], c, t).numpy())
                bar.update(n)
    return np.concatenate(out).astype(np.float64)


def filtered_mean(distances: np.ndarray) -> float:
    """Mean of the distances between the 1st (lower) and 99th (higher) percentiles."""
    if len(distances) == 0 or not np.all(np.isfinite(distances)):
        raise MetricError("PPL: the path lengths hold NaN or Inf; check the generator's output.")
    lo = np.percentile(distances, 1, method="lower")
    hi = np.percentile(distances, 99, method="higher")
    return float(distances[(distances >= lo) & (distances <= hi)].mean())
