"""Rebuild the bundled emoji datasets from their artwork and Unicode's emoji data.

    apt-get install fonts-noto-color-emoji unicode-data   # Debian
    .venv/bin/python scripts/build_emoji.py --set=emoji64
    npm pack @lobehub/fluent-emoji-3d@1.1.0               # or its tarball from registry.npmjs.org
    .venv/bin/python scripts/build_emoji.py --set=fluent64 --artwork=lobehub-fluent-emoji-3d-1.1.0.tgz

Both sets hold the same emoji: the face and person emoji of emoji-test.txt
(smileys, people, gestures, roles, fantasy characters; every skin tone), at
64x64 on white, with labels from emoji-test.txt (a coarse category, the skin
tone and the gender). emoji64 renders them from the Noto Color Emoji font;
fluent64 reads Microsoft's Fluent Emoji 3D images (MIT) from the npm package's
tarball, a different artist and a 3D style, so that choices are not tuned to
one set. Writes tf_stylegan/data/bundled/<set>.npz (deterministic for the same
inputs).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import tarfile

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
EMOJI_TEST = "/usr/share/unicode/emoji/emoji-test.txt"
BUNDLED_DIR = os.path.join(os.path.dirname(__file__), "..", "tf_stylegan", "data", "bundled")
SETS = ("emoji64", "fluent64")

# emoji-test.txt subgroup -> our coarse category.
CATEGORIES = {
    "face-smiling": "smiley", "face-affection": "smiley", "face-tongue": "smiley",
    "face-hand": "smiley", "face-neutral-skeptical": "smiley", "face-sleepy": "smiley",
    "face-unwell": "smiley", "face-hat": "smiley", "face-glasses": "smiley",
    "face-concerned": "smiley", "face-negative": "smiley", "face-costume": "smiley",
    "person": "person", "person-gesture": "gesture", "person-role": "role",
    "person-fantasy": "fantasy",
}
CATEGORY_NAMES = ["smiley", "person", "gesture", "role", "fantasy"]
SKIN_TONES = {"1F3FB": "light", "1F3FC": "medium-light", "1F3FD": "medium", "1F3FE": "medium-dark", "1F3FF": "dark"}
SKIN_NAMES = ["no-skin-tone", "light", "medium-light", "medium", "medium-dark", "dark"]
GENDER_NAMES = ["neutral", "man", "woman"]
TAG_VOCAB = CATEGORY_NAMES + SKIN_NAMES + GENDER_NAMES


def read_emoji_test(path: str):
    """Yields (codepoints, name, subgroup) for fully-qualified emoji of our subgroups."""
    subgroup = None
    for line in open(path, encoding="utf-8"):
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
            continue
        if subgroup not in CATEGORIES or "; fully-qualified" not in line:
            continue
        codes = line.split(";")[0].split()
        name = re.sub(r"^.*?E\d+\.\d+\s+", "", line.split("#", 1)[1]).strip()
        yield codes, name, subgroup


def gender_of(name: str) -> str:
    words = re.findall(r"[a-z]+", name.lower())
    if "man" in words or "men" in words or "boy" in words or "prince" in words or "king" in words:
        return "man"
    if "woman" in words or "women" in words or "girl" in words or "princess" in words or "queen" in words:
        return "woman"
    return "neutral"


def render(codes, font, resolution: int) -> np.ndarray | None:
    """The emoji drawn with the font, or None where the font has no single glyph for it."""
    text = "".join(chr(int(c, 16)) for c in codes)
    canvas = Image.new("RGBA", (160, 160), (255, 255, 255, 0))
    ImageDraw.Draw(canvas).text((0, 0), text, font=font, embedded_color=True)
    bbox = canvas.getbbox()
    if bbox is None:
        return None
    glyph = canvas.crop(bbox)
    if glyph.width > 140:  # a sequence the font has no single glyph for
        return None
    return on_white_square(glyph, resolution)


class ArtworkTarball:
    """Emoji images in an npm tarball, named by their lowercase codepoints joined with "-"."""

    def __init__(self, path: str):
        self.tar = tarfile.open(path)
        self.members = {}
        for m in self.tar.getmembers():
            stem, _, ext = os.path.basename(m.name).rpartition(".")
            if m.isfile() and ext in ("png", "webp") and m.size < 16 << 20:
                self.members[stem.lower()] = m

    def read(self, codes, resolution: int) -> np.ndarray | None:
        names = ("-".join(codes).lower(), "-".join(c for c in codes if c != "FE0F").lower())
        member = next((self.members[n] for n in names if n in self.members), None)
        if member is None:
            return None
        with Image.open(io.BytesIO(self.tar.extractfile(member).read())) as image:
            image = image.convert("RGBA")
            bbox = image.getbbox()
            return None if bbox is None else on_white_square(image.crop(bbox), resolution)


def on_white_square(glyph: Image.Image, resolution: int) -> np.ndarray:
    """An RGBA glyph centred on a white square, resized to resolution (Lanczos)."""
    side = max(glyph.size)
    square = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    square.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    white = Image.new("RGBA", square.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, square).convert("RGB")
    return np.asarray(rgb.resize((resolution, resolution), Image.LANCZOS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=SETS, required=True)
    parser.add_argument("--font", default=FONT, help="emoji64: the Noto Color Emoji font")
    parser.add_argument("--artwork", help="fluent64: the @lobehub/fluent-emoji-3d npm tarball")
    parser.add_argument("--emoji-test", default=EMOJI_TEST)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--out", help="default: tf_stylegan/data/bundled/<set>.npz")
    args = parser.parse_args()
    out = args.out or os.path.join(BUNDLED_DIR, f"{args.set}.npz")
    if args.set == "emoji64":
        font = ImageFont.truetype(args.font, 109)
        draw = lambda codes: render(codes, font, args.resolution)  # noqa: E731
    else:
        if not args.artwork:
            parser.error("--set=fluent64 needs --artwork=PATH of the npm tarball")
        artwork = ArtworkTarball(args.artwork)
        draw = lambda codes: artwork.read(codes, args.resolution)  # noqa: E731
    images, names, codes_out, category, skin, gender = [], [], [], [], [], []
    skipped = 0
    for codes, name, subgroup in read_emoji_test(args.emoji_test):
        img = draw(codes)
        if img is None:
            skipped += 1
            continue
        tones = [SKIN_TONES[c] for c in codes if c in SKIN_TONES]
        if len(set(tones)) > 1:  # mixed-tone pairs: no single skin-tone label
            skipped += 1
            continue
        images.append(img)
        names.append(name)
        codes_out.append(" ".join(codes))
        category.append(CATEGORY_NAMES.index(CATEGORIES[subgroup]))
        skin.append(SKIN_NAMES.index(tones[0]) if tones else 0)
        gender.append(GENDER_NAMES.index(gender_of(name)))
    images = np.stack(images)
    tags = np.zeros([len(images), len(TAG_VOCAB)], np.uint8)
    rows = np.arange(len(images))
    tags[rows, np.array(category)] = 1
    tags[rows, len(CATEGORY_NAMES) + np.array(skin)] = 1
    tags[rows, len(CATEGORY_NAMES) + len(SKIN_NAMES) + np.array(gender)] = 1
    buf = io.BytesIO()
    np.savez_compressed(
        buf, images=images, names=np.array(names), codepoints=np.array(codes_out),
        category=np.array(category, np.int32), category_names=np.array(CATEGORY_NAMES),
        skin_tone=np.array(skin, np.int32), skin_tone_names=np.array(SKIN_NAMES),
        gender=np.array(gender, np.int32), gender_names=np.array(GENDER_NAMES),
        tags=tags, tag_vocab=np.array(TAG_VOCAB),
    )
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, out)
    print(f"{len(images)} images ({skipped} skipped) -> {out} ({len(buf.getvalue()) / 1e6:.1f} MB)")
    for i, n in enumerate(CATEGORY_NAMES):
        print(f"  {n}: {int(np.sum(np.array(category) == i))}")


if __name__ == "__main__":
    main()
