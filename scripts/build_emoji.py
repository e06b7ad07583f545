"""Rebuild the bundled emoji64 dataset from Noto Color Emoji and Unicode's emoji data.

    apt-get install fonts-noto-color-emoji unicode-data   # Debian
    .venv/bin/python scripts/build_emoji64.py

Renders the face and person emoji (smileys, people, gestures, roles, fantasy
characters; every skin tone) at 64x64 on white, and takes their labels from
emoji-test.txt: a coarse category, the skin tone and the gender. Writes
tf_stylegan/data/bundled/emoji64.npz (deterministic for the same inputs).
"""

from __future__ import annotations

import argparse
import io
import os
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
EMOJI_TEST = "/usr/share/unicode/emoji/emoji-test.txt"
OUT = os.path.join(os.path.dirname(__file__), "..", "tf_stylegan", "data", "bundled", "emoji64.npz")

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
    text = "".join(chr(int(c, 16)) for c in codes)
    canvas = Image.new("RGBA", (160, 160), (255, 255, 255, 0))
    ImageDraw.Draw(canvas).text((0, 0), text, font=font, embedded_color=True)
    bbox = canvas.getbbox()
    if bbox is None:
        return None
    glyph = canvas.crop(bbox)
    if glyph.width > 140:  # a sequence the font has no single glyph for
        return None
    side = max(glyph.size)
    square = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    square.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    white = Image.new("RGBA", square.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, square).convert("RGB")
    return np.asarray(rgb.resize((resolution, resolution), Image.LANCZOS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--font", default=FONT)
    parser.add_argument("--emoji-test", default=EMOJI_TEST)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    font = ImageFont.truetype(args.font, 109)
    images, names, codes_out, category, skin, gender = [], [], [], [], [], []
    skipped = 0
    for codes, name, subgroup in read_emoji_test(args.emoji_test):
        img = render(codes, font, args.resolution)
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
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, args.out)
    print(f"{len(images)} images ({skipped} skipped) -> {args.out} ({len(buf.getvalue()) / 1e6:.1f} MB)")
    for i, n in enumerate(CATEGORY_NAMES):
        print(f"  {n}: {int(np.sum(np.array(category) == i))}")


if __name__ == "__main__":
    main()
