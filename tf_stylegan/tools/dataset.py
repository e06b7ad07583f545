"""Build a training dataset from a folder or zip of images (and labels).

    python -m tf_stylegan.tools.dataset --source=faces/ --dest=data/faces64 --resolution=64 \\
        [--transform=center-crop|center-crop-wide|pad] [--labels=tags.txt --tag_vocab=vocab.txt] \\
        [--mirror_check] [--strict]

Reads PNG, JPEG, WebP, BMP and GIF (first frame), upright per EXIF, and turns
grayscale, palette, RGBA (on white), CMYK and 16-bit images into 8-bit RGB.
Writes sharded TFRecords, dataset.json and report.json; bad files and
duplicates are left out and listed (or, with --strict, stop the build).
Labels: a stylegan2-ada style dataset.json ({"labels": [["path", class], ...]},
also picked up from the source's root) or a tag file with lines
"path: tag, tag, ...". Running it again on unchanged input does nothing.
"""

from __future__ import annotations

from absl import flags

from tf_stylegan.tools._cli import run

flags.DEFINE_string("source", None, "Folder (searched recursively) or .zip of images.")
flags.DEFINE_string("dest", None, "Output dataset directory: new, empty, or an earlier build of this tool "
                    "(written atomically; never the source or a folder inside it).")
flags.DEFINE_integer("resolution", None, "Output resolution, a power of two (e.g. 64, 256).", lower_bound=4,
                     upper_bound=8192)
flags.DEFINE_enum("transform", "center-crop", ["center-crop", "center-crop-wide", "pad"],
                  "Make non-square images square: crop the centre, crop a centred 2:1 band, or pad with white.")
flags.DEFINE_string("labels", None, "Class labels (.json, stylegan2-ada style) or a tag file ('path: tag, tag').")
flags.DEFINE_string("tag_vocab", None, "Tag vocabulary, one tag per line (fixes the multi-hot order).")
flags.DEFINE_enum("channels", "3", ["3", "1", "auto"],
                  "3: convert everything to RGB; 1: to grayscale; auto: keep the images' own count (must agree).")
flags.DEFINE_integer("min_size", None, "Smallest accepted source side in px (default resolution/4).",
                     lower_bound=1)
flags.DEFINE_boolean("mirror_check", False, "Report images that are horizontal mirrors of other images.")
flags.DEFINE_boolean("strict", False, "Stop at the first bad or duplicate file instead of leaving it out.")
flags.DEFINE_integer("workers", None, "Decoding processes (default: all cores).", lower_bound=1)
flags.DEFINE_boolean("follow_symlinks", False, "Read symlinks that point outside --source (refused by default).")
flags.mark_flags_as_required(["source", "dest", "resolution"])
FLAGS = flags.FLAGS


def main(argv):
    from tf_stylegan.data.writer import build_dataset

    channels = None if FLAGS.channels == "auto" else int(FLAGS.channels)
    info, _ = build_dataset(  # its errors are ValueErrors: printed, exit status 2
        FLAGS.source, FLAGS.dest, FLAGS.resolution, transform=FLAGS.transform, labels=FLAGS.labels,
        tag_vocab=FLAGS.tag_vocab, channels=channels, strict=FLAGS.strict,
        mirror_check=FLAGS.mirror_check, min_size=FLAGS.min_size, workers=FLAGS.workers,
        follow_symlinks=FLAGS.follow_symlinks,
    )
    print(f"{FLAGS.dest}: {info['num_images']} images at {info['resolution']}px, "
          f"{info['channels']} channels, labels: {info['label_kind']} ({info['label_dim']})")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
