"""A folder of crafted good and bad image files, as users' folders contain them."""

import io
import os

import numpy as np
from PIL import Image

GOOD = [
    "anim.gif", "bmp.bmp", "cmyk.jpg", "exif_rotated.jpg", "gray16.png", "jpeg.jpg",
    "palette.png", "rgb.png", "rgba.png", "webp.webp", "wide.png",
]
BAD = {
    "empty.png": "empty file",
    "text.png": "not an image",
    "tiny.png": "too small",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
}
DUPLICATE = ("rgb_copy.png", "rgb.png")


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def pattern(size=(40, 40), seed=0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)


def write_crafted(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)

    def put(name, data):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)

    rgb = Image.fromarray(pattern())
    put("rgb.png", _encode(rgb, "PNG"))
    put("rgb_copy.png", _encode(rgb, "PNG"))
    put("jpeg.jpg", _encode(Image.fromarray(pattern(seed=1)), "JPEG", quality=90))
    put("webp.webp", _encode(Image.fromarray(pattern(seed=2)), "WEBP", lossless=True))
    put("bmp.bmp", _encode(Image.fromarray(pattern(seed=3)), "BMP"))
    frames = [Image.fromarray(pattern(seed=s)).convert("P") for s in (4, 5)]
    put("anim.gif", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    put("wide.png", _encode(Image.fromarray(pattern((80, 40), seed=6)), "PNG"))
    gray16 = (np.arange(40 * 40, dtype=np.uint16).reshape(40, 40) * 40).astype(np.uint16)
    put("gray16.png", _encode(Image.fromarray(gray16), "PNG"))
    put("cmyk.jpg", _encode(Image.fromarray(pattern(seed=7)).convert("CMYK"), "JPEG"))
    rgba = np.dstack([pattern(seed=8), np.where(np.arange(40)[None, :] < 20, 0, 255).repeat(40, 0)]).astype(np.uint8)
    put("rgba.png", _encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    pal = Image.fromarray(pattern(seed=9)).convert("P", palette=Image.ADAPTIVE, colors=16)
    put("palette.png", _encode(pal, "PNG", transparency=0))
    # Left half red, right half blue, stored sideways with EXIF "rotate 90 CW".
    lr = np.zeros((40, 40, 3), np.uint8)
    lr[:, :20, 0] = 255
    lr[:, 20:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 8  # orientation: the stored image is the upright one rotated 90 degrees CW
    put("exif_rotated.jpg", _encode(Image.fromarray(lr).transpose(Image.ROTATE_270), "JPEG", exif=exif, quality=95))
    put("empty.png", b"")
    put("text.png", b"hello, I am a text file with a .png name\n")
    put("tiny.png", _encode(Image.fromarray(pattern((1, 1))), "PNG"))
    png = _encode(Image.fromarray(pattern(seed=10)), "PNG")
    put("truncated.png", png[: len(png) // 2])
    jpg = _encode(Image.fromarray(pattern(seed=11)), "JPEG")
    put("truncated.jpg", jpg[: len(jpg) // 2])
