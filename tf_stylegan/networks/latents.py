"""Latent-space helpers shared by the tools and metrics: seeds, interpolation, style mixing, walks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

# The paper's style ranges (StyleGAN, Section 3.1): 4^2-8^2 coarse, 16^2-32^2 middle, 64^2 and up fine.
STYLE_RANGES = {"coarse": (0, 4), "middle": (4, 8), "fine": (8, None)}


def z_from_seeds(seeds: Sequence[int], z_dim: int) -> np.ndarray:
    """One z per seed, as the official tools draw them (RandomState(seed).randn)."""
    return np.stack([np.random.RandomState(int(s)).randn(z_dim) for s in seeds]).astype(np.float32)


def style_layers(spec: str, num_ws: int) -> list[int]:
    """'coarse' | 'middle' | 'fine' | '0-3' | '0,2,5' -> the ws indices (checked against num_ws)."""
    spec = spec.strip()
    if spec in STYLE_RANGES:
        lo, hi = STYLE_RANGES[spec]
        layers = list(range(lo, min(num_ws, hi if hi is not None else num_ws)))
    else:
        layers = []
        try:
            for part in spec.split(","):
                if "-" in part:
                    lo, hi = (int(v) for v in part.split("-", 1))
                    layers.extend(range(lo, hi + 1))
                elif part.strip():
                    layers.append(int(part))
        except ValueError:
            raise ValueError(f"styles {spec!r}: use coarse, middle, fine, a range such as 0-6, or a list.") from None
    bad = [i for i in layers if not 0 <= i < num_ws]
    if not layers or bad:
        raise ValueError(f"styles {spec!r}: this network has ws 0..{num_ws - 1}"
                         + (f"; {bad} are out of range." if bad else "; the selection is empty."))
    return sorted(set(layers))


def mix_styles(ws: tf.Tensor, donor_ws: tf.Tensor, layers: Sequence[int]) -> tf.Tensor:
    """ws with the given layers taken from donor_ws ([N, num_ws, w_dim] each)."""
    mask = np.zeros([1, ws.shape[1], 1], bool)
    mask[:, list(layers)] = True
    return tf.where(mask, donor_ws, ws)


def lerp(a, b, t):
    return a + (b - a) * t


def slerp(a: tf.Tensor, b: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
    """Spherical interpolation of the directions of a and b (unit-length result)."""
    a = tf.math.l2_normalize(a, axis=-1)
    b = tf.math.l2_normalize(b, axis=-1)
    d = tf.reduce_sum(a * b, axis=-1, keepdims=True)
    p = t * tf.acos(tf.clip_by_value(d, -1.0, 1.0))
    c = tf.math.l2_normalize(b - d * a, axis=-1)
    return tf.math.l2_normalize(a * tf.cos(p) + c * tf.sin(p), axis=-1)


def interpolate(keyframes: np.ndarray, steps: int, kind: str = "lerp", loop: bool = False) -> np.ndarray:
    """Frames along keyframes [K, ..., D]: `steps` per segment; loop returns to the first.

    kind "slerp" interpolates directions and keeps the keyframes' mean norm
    (for z, whose norm concentrates near sqrt(z_dim)); "lerp" is linear (for w).
    """
    if kind not in ("lerp", "slerp"):
        raise ValueError(f"interpolation {kind!r}: use lerp or slerp.")
    if steps < 1 or len(keyframes) < 2:
        raise ValueError("interpolation needs at least 2 keyframes and 1 step per segment.")
    keys = np.concatenate([keyframes, keyframes[:1]]) if loop else keyframes
    t = (np.arange(steps, dtype=np.float32) / steps)[:, None]
    frames = []
    for a, b in zip(keys[:-1], keys[1:]):
        a_, b_ = np.broadcast_to(a, (steps, *a.shape)), np.broadcast_to(b, (steps, *b.shape))
        tt = t.reshape([steps] + [1] * a.ndim)
        if kind == "slerp":
            norm = np.linalg.norm(keyframes, axis=-1).mean()
            frames.append(slerp(a_, b_, tt).numpy() * norm)
        else:
            frames.append(lerp(a_, b_, tt))
    if not loop:
        last = keys[-1:]
        if kind == "slerp":
            last = last / np.linalg.norm(last, axis=-1, keepdims=True) * np.linalg.norm(keyframes, axis=-1).mean()
        frames.append(last)
    return np.concatenate(frames).astype(np.float32)
