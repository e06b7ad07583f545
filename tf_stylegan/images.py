"""Image edges of the package: float [-1, 1] inside, uint8 [0, 255] outside."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tf_stylegan.files import atomic_path


def to_uint8(images) -> tf.Tensor:
    """[-1, 1] float NHWC -> uint8 NHWC as the official tools do: x * 127.5 + 128,
    clipped to [0, 255], truncated (so an image read as u / 127.5 - 1 maps back to u)."""
    images = tf.convert_to_tensor(images, tf.float32)
    return tf.cast(tf.floor(tf.clip_by_value(images * 127.5 + 128.0, 0, 255)), tf.uint8)


MAX_GRID_SIDE = 256


def parse_grid(spec: str | None, count: int) -> tuple[int, int]:
    """'8x4' -> (columns 8, rows 4); None -> the squarest grid holding `count`."""
    if not spec:
        cols = max(1, math.ceil(math.sqrt(count)))
        return cols, max(1, math.ceil(count / cols))
    try:
        cols, rows = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise ValueError(f"grid must look like 8x4 (columns x rows), got {spec!r}.") from None
    if not (1 <= cols <= MAX_GRID_SIDE and 1 <= rows <= MAX_GRID_SIDE):
        raise ValueError(f"grid must have 1 to {MAX_GRID_SIDE} columns and rows, got {spec!r}.")
    return cols, rows


def tile(images: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """uint8 [N, H, W, C] -> one [rows*H, cols*W, C] image (blank cells stay black)."""
    n, h, w, c = images.shape
    canvas = np.zeros((rows * h, cols * w, c), dtype=images.dtype)
    for i in range(min(n, cols * rows)):
        r, k = divmod(i, cols)
        canvas[r * h : (r + 1) * h, k * w : (k + 1) * w] = images[i]
    return canvas


def zoom(image: np.ndarray, factor: int) -> np.ndarray:
    """A uint8 HWC image enlarged `factor` times by nearest neighbour (pixel art stays crisp)."""
    if factor < 1:
        raise ValueError(f"zoom must be >= 1, got {factor}.")
    return image if factor == 1 else np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def save_image(image: np.ndarray, path: str) -> None:
    """Writes a uint8 HWC image (PNG/JPEG/WebP by extension) atomically."""
    from PIL import Image

    if image.shape[-1] == 1:
        image = image[..., 0]
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp)
