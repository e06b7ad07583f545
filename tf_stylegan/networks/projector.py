"""Projection of an image into W (StyleGAN2, Appendix D), as the official projector does it.

Start from w_avg (10,000 samples), add ramped Gaussian noise to w, optimise w
and the noise maps with Adam (lr 0.1, ramped up over the first 5% and down,
cosine, over the last 25%), the noise maps under the multi-scale
autocorrelation regulariser (weight 1e5) and renormalised after every step.
The distance is LPIPS-VGG16 when its weights are given; otherwise a clearly
labelled fallback: multi-scale pixel MSE (the image and its 2x, 4x, ...
box-filtered versions down to 8 px), which recovers colours and layout but not
perceptual detail.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.layers.noise import borrowed_noise


@dataclasses.dataclass
class ProjectorOptions:
    num_steps: int = 1000
    w_avg_samples: int = 10000
    initial_learning_rate: float = 0.1
    initial_noise_factor: float = 0.05
    lr_rampdown_length: float = 0.25
    lr_rampup_length: float = 0.05
    noise_ramp_length: float = 0.75
    regularize_noise_weight: float = 1e5
    seed: int = 123


def learning_rate(step: int, opts: ProjectorOptions) -> float:
    t = step / opts.num_steps
    ramp = min(1.0, (1.0 - t) / opts.lr_rampdown_length)
    ramp = 0.5 - 0.5 * np.cos(ramp * np.pi)
    return opts.initial_learning_rate * ramp * min(1.0, t / opts.lr_rampup_length)


def noise_regularizer(noise_maps: list[tf.Variable]) -> tf.Tensor:
    """Sum over maps and scales (down to 8 px) of squared mean autocorrelations at a 1-pixel shift."""
    total = tf.constant(0.0)
    for v in noise_maps:
        x = v[tf.newaxis, :, :, tf.newaxis]
        while True:
            total += tf.reduce_mean(x * tf.roll(x, 1, axis=2)) ** 2 + tf.reduce_mean(x * tf.roll(x, 1, axis=1)) ** 2
            if x.shape[1] <= 8:
                break
            x = tf.nn.avg_pool2d(x, 2, 2, "VALID")
    return total


def pixel_embedding(images_255: tf.Tensor) -> tf.Tensor:
    """The fallback 'distance features': the image and its box-filtered pyramid, in [0, 1], flattened."""
    x = images_255 / 255.0
    parts = []
    while True:
        parts.append(tf.reshape(x, [tf.shape(x)[0], -1]) / np.sqrt(x.shape[1] * x.shape[2]))
        if x.shape[1] <= 8:
            break
        x = tf.nn.avg_pool2d(x, 2, 2, "VALID")
    return tf.concat(parts, axis=1)


def _to_256(images_255: tf.Tensor) -> tf.Tensor:
    factor = images_255.shape[1] // 256
    return tf.nn.avg_pool2d(images_255, factor, factor, "VALID") if factor > 1 else images_255


def project(G, target_uint8: np.ndarray, embed: Callable | None = None, opts: ProjectorOptions | None = None,
            c: np.ndarray | None = None, progress: Callable[[int, float], None] | None = None) -> dict:
    """Projects one uint8 image [R, R, C] (R = G's resolution). Returns
    {"w": [num_steps, w_dim] per-step w, "noise": {layer: map}, "distance": [num_steps]}."""
    opts = opts or ProjectorOptions()
    r = G.img_resolution
    if target_uint8.shape != (r, r, G.img_channels):
        raise ValueError(f"target image is {target_uint8.shape}; the generator makes {(r, r, G.img_channels)}.")
    embed = embed or pixel_embedding
    rng = np.random.RandomState(opts.seed)
    z = rng.standard_normal([opts.w_avg_samples, G.z_dim]).astype(np.float32)
    cc = None if c is None else np.repeat(np.asarray(c, np.float32)[None], len(z), 0)
    w_samples = G.mapping(z, cc).numpy()[:, 0]
    w_avg = w_samples.mean(0, keepdims=True)
    w_std = float(np.sqrt(np.sum((w_samples - w_avg) ** 2) / opts.w_avg_samples))

    restore = contextlib.ExitStack()  # G's stored noise maps come back when the projection ends
    noise_layers = restore.enter_context(borrowed_noise(G.synthesis))
    noise_maps = [layer.noise_const for layer in noise_layers]
    for v in noise_maps:
        v.assign(rng.standard_normal(v.shape).astype(np.float32))
    w_opt = keras.Variable(w_avg, name="w_opt")
    optimizer = keras.optimizers.Adam(learning_rate=opts.initial_learning_rate, beta_1=0.9, beta_2=0.999)

    def prepare(images):
        images = _to_256((tf.cast(images, tf.float32) + 1.0) * 127.5)
        return tf.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images

    target = prepare(tf.constant(target_uint8[None], tf.float32) / 127.5 - 1.0)
    target_features = embed(target)

    @tf.function
    def step(w_noise_scale, lr, noise_draw):
        with tf.GradientTape() as tape:
            tape.watch([v.value for v in noise_maps])  # non-trainable buffers: watched by hand
            ws = tf.repeat((w_opt + noise_draw * w_noise_scale)[:, None, :], G.num_ws, axis=1)
            synth = prepare(G.synthesis(ws, noise_mode="const"))
            dist = tf.reduce_sum(tf.square(target_features - embed(synth)))
            loss = dist + noise_regularizer(noise_maps) * opts.regularize_noise_weight
        variables = [w_opt, *noise_maps]
        grads = tape.gradient(loss, [v.value for v in variables])
        optimizer.learning_rate.assign(lr)
        optimizer.apply(grads, variables)
        for v in noise_maps:  # renormalise each map to zero mean, unit variance
            centred = v - tf.reduce_mean(v)
            v.assign(centred * tf.math.rsqrt(tf.reduce_mean(tf.square(centred))))
        return dist

    ws_out, dists = np.zeros([opts.num_steps, G.w_dim], np.float32), np.zeros([opts.num_steps], np.float32)
    with restore:
        for i in range(opts.num_steps):
            t = i / opts.num_steps
            scale = w_std * opts.initial_noise_factor * max(0.0, 1.0 - t / opts.noise_ramp_length) ** 2
            draw = rng.standard_normal(w_avg.shape).astype(np.float32)
            dists[i] = float(step(tf.constant(scale, tf.float32), tf.constant(learning_rate(i, opts), tf.float32),
                                  tf.constant(draw)))
            ws_out[i] = w_opt.numpy()[0]
            if progress is not None:
                progress(i, float(dists[i]))
        noise = {layer.path or layer.name: layer.noise_const.numpy() for layer in noise_layers}
    return {"w": ws_out, "noise": noise, "distance": dists}


def synthesize(G, w: np.ndarray, noise: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """G's image [R, R, C] in [-1, 1] for one w [w_dim], with the projected noise maps if given."""
    with borrowed_noise(G.synthesis) as noise_layers:
        for layer in noise_layers:
            key = layer.path or layer.name
            if noise and key in noise:
                layer.noise_const.assign(noise[key])
        ws = np.repeat(np.asarray(w, np.float32)[None, None], G.num_ws, axis=1)
        return G.synthesis(ws, noise_mode="const").numpy()[0]
