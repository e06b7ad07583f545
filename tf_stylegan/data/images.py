"""Decoding one source image into an RGB (or grayscale) uint8 square.

Every failure is a `BadImage` with a reason a person can act on. PIL does
the decoding (PNG, JPEG, WebP, BMP, GIF first frame), honouring EXIF
orientation, and every colour mode is reduced to 8-bit RGB: grayscale,
palette, CMYK, 16-bit, and alpha composited on white.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {"PNG", "JPEG", "MPO", "WEBP", "BMP", "GIF"}
EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}
TRANSFORMS = ("center-crop", "center-crop-wide", "pad")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
MAX_PIXELS = 1 << 26  # 8192 x 8192: larger sources are refused before they are decoded


class BadImage(ValueError):
    """A source file that cannot become a training image, and why."""


def decode(data: bytes) -> Image.Image:
    """Bytes -> a fully loaded PIL image (first frame), upright per EXIF."""
    if not data:
        raise BadImage("empty file (0 bytes)")
    try:
        img = Image.open(io.BytesIO(data))
        fmt = img.format
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise BadImage(f"too large to decode safely ({w}x{h} pixels; at most {MAX_PIXELS:,}), "
                           "or a decompression bomb")
        img.load()
    except UnidentifiedImageError:
        raise BadImage("not an image: the format is not recognised") from None
    except Image.DecompressionBombError as exc:
        raise BadImage(f"a decompression bomb ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, BadImage):
            raise
        raise BadImage(f"corrupt or truncated image ({exc})") from None
    if fmt not in FORMATS:
        raise BadImage(f"unsupported image format {fmt}; use PNG, JPEG, WebP, BMP or GIF")
    try:
        return ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"corrupt EXIF data ({exc})") from None


def source_channels(img: Image.Image) -> int:
    """1 for a grayscale source (including a gray palette), else 3."""
    if img.mode in GRAY_MODES:
        return 1
    if img.mode in ("P", "PA"):
        rgb = np.asarray(img.convert("RGB"))
        return 1 if np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2]) else 3
    return 3


def to_uint8(img: Image.Image, channels: int) -> np.ndarray:
    """Any mode -> uint8 [H, W, channels]; transparency composited on white."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img).astype(np.float64)
        peak = 65535.0 if arr.max(initial=0) > 255 else 255.0
        gray = np.clip(np.round(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
        img = Image.fromarray(gray, "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    img = img.convert("L" if channels == 1 else "RGB")
    arr = np.asarray(img, dtype=np.uint8)
    return arr[..., np.newaxis] if channels == 1 else arr


def fit(arr: np.ndarray, resolution: int, transform: str) -> np.ndarray:
    """Crops or pads to a square and resizes to `resolution` (Lanczos)."""
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    h, w, c = arr.shape
    fill = 255
    if transform == "center-crop":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        arr = arr[top : top + side, left : left + side]
        return _resize(arr, resolution, resolution)
    if transform == "pad":
        side = max(h, w)
        canvas = np.full((side, side, c), fill, np.uint8)
        top, left = (side - h) // 2, (side - w) // 2
        canvas[top : top + h, left : left + w] = arr
        return _resize(canvas, resolution, resolution)
    # center-crop-wide: a 2:1 crop, resized to [R/2, R] and centred on a square.
    ch = min(h, w // 2)
    cw = 2 * ch
    top, left = (h - ch) // 2, (w - cw) // 2
    wide = _resize(arr[top : top + ch, left : left + cw], resolution // 2, resolution)
    canvas = np.full((resolution, resolution, c), fill, np.uint8)
    top = (resolution - resolution // 2) // 2
    canvas[top : top + resolution // 2] = wide
    return canvas


def _resize(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    if arr.shape[0] == height and arr.shape[1] == width:
        return arr
    mode = "L" if arr.shape[2] == 1 else "RGB"
    img = Image.fromarray(arr[..., 0] if mode == "L" else arr, mode)
    out = np.asarray(img.resize((width, height), Image.LANCZOS), dtype=np.uint8)
    return out[..., np.newaxis] if mode == "L" else out


def load_image(
    data: bytes, resolution: int, transform: str, channels: int | None, min_size: int | None = None
) -> tuple[np.ndarray, int]:
    """Source bytes -> (uint8 [R, R, C], the source's own channel count), or BadImage.

    `channels` None keeps the source's channel count (1 or 3).
    """
    img = decode(data)
    w, h = img.size
    min_size = max(1, resolution // 4) if min_size is None else min_size
    if min(w, h) < min_size:
        raise BadImage(f"too small ({w}x{h}); images need at least {min_size} px per side")
    own = source_channels(img)
    return fit(to_uint8(img, channels or own), resolution, transform), own
