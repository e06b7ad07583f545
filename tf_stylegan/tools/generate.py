"""Generate images from a trained network or a randomly initialised preset.

    python -m tf_stylegan.tools.generate --network=G_ema.keras --seeds=0-63 \\
        --trunc=0.7 --outdir=out/ --grid=8x8
    python -m tf_stylegan.tools.generate --config=tiny --seeds=0-15 --outdir=out/

One PNG per seed (seed0000.png, ...) and, with --grid, one grid.png. The
network may be a .keras file or an official pickle (through
tf_stylegan.convert.load; its G_ema is used).
"""

from __future__ import annotations

import os

import numpy as np
from absl import flags

from tf_stylegan.tools._cli import NETWORK_HELP, check_finite, check_writable, class_vector, parse_seeds, run

flags.DEFINE_string("network", None, NETWORK_HELP)
flags.DEFINE_string("config", None, "Instead of --network: a preset name or JSON (random weights, for smoke tests).")
flags.DEFINE_integer("init_seed", 0, "Weight-initialisation seed with --config.", lower_bound=0,
                     upper_bound=2**31 - 1)
flags.DEFINE_string("seeds", "0-15", "Latent seeds: ranges and lists such as 0-63 or 1,5,9.")
flags.DEFINE_float("trunc", 1.0, "Truncation psi: 1 = none, smaller = closer to the average image.")
flags.DEFINE_integer("trunc_cutoff", None, "Truncate only the first N ws (coarse styles); default all.",
                     lower_bound=0)
flags.DEFINE_integer("class", None, "Class index for class-conditional networks.")
flags.DEFINE_alias("class_idx", "class")
flags.DEFINE_list("tags", None, "Tags for tag-conditioned networks, e.g. blonde_hair,blue_eyes (needs --data for "
                  "the vocabulary).")
flags.DEFINE_string("data", None, "With --tags: the training dataset (directory or bundled:NAME), whose label "
                    "names are the tag vocabulary.")
flags.DEFINE_enum("noise_mode", "const", ["const", "random", "none"], "Noise inputs: stored, fresh random, or off.")
flags.DEFINE_string("outdir", None, "Output directory (created if missing).")
flags.DEFINE_string("grid", None, "Also write grid.png with COLSxROWS cells, e.g. 8x8; 'auto' = square.")
flags.DEFINE_boolean("singles", True, "Write one PNG per seed.")
flags.DEFINE_integer("zoom", 1, "Enlarge the grid this many times (nearest neighbour).", lower_bound=1,
                     upper_bound=32)
flags.DEFINE_integer("batch", 8, "Images per forward pass.", lower_bound=1, upper_bound=4096)
check_finite("trunc", -10, 10)
flags.mark_flag_as_required("outdir")
FLAGS = flags.FLAGS


def load_generator():
    """The generator named by --network or built from --config."""
    import keras

    from tf_stylegan.tools import _cli

    if bool(FLAGS.network) == bool(FLAGS.config):
        raise ValueError("give exactly one of --network and --config.")
    if FLAGS.config:
        from tf_stylegan.networks.presets import load_preset

        keras.utils.set_random_seed(FLAGS.init_seed)
        G, _ = load_preset(FLAGS.config).build()
        return G
    return _cli.load_generator(FLAGS.network)


def tag_vector(G, tags: list[str], data: str | None):
    """The multi-hot c for --tags, checked against the dataset's vocabulary."""
    from tf_stylegan.data.pipeline import read_info

    if G.c_dim == 0:
        raise ValueError("--tags: this network is unconditional; leave --tags out.")
    if FLAGS["class"].value is not None:
        raise ValueError("--tags and --class conflict: give one.")
    if not data:
        raise ValueError("--tags needs --data (the training dataset) for the tag vocabulary.")
    vocab = list(read_info(data).get("label_names") or [])
    if len(vocab) != G.c_dim:
        raise ValueError(f"--data={data} has {len(vocab)} label names; the network's c_dim is {G.c_dim}.")
    unknown = [t for t in tags if t not in vocab]
    if unknown:
        raise ValueError(f"--tags: {unknown} are not in the vocabulary of {data}: {', '.join(vocab)}.")
    c = np.zeros([G.c_dim], np.float32)
    c[[vocab.index(t) for t in tags]] = 1
    return c


def main(argv):
    from tqdm import tqdm

    from tf_stylegan.images import parse_grid, save_image, tile, to_uint8, zoom

    check_writable(FLAGS.outdir, "outdir", is_dir=True)
    seeds = parse_seeds(FLAGS.seeds)
    if FLAGS.grid:  # a bad grid fails before anything is generated
        cols, rows = parse_grid(None if FLAGS.grid == "auto" else FLAGS.grid, len(seeds))
    G = load_generator()
    c = tag_vector(G, FLAGS.tags, FLAGS.data) if FLAGS.tags else class_vector(G, FLAGS["class"].value)
    images = []
    for start in tqdm(range(0, len(seeds), FLAGS.batch), desc="generating", unit="batch"):
        chunk = seeds[start : start + FLAGS.batch]
        z = np.stack([np.random.RandomState(s).randn(G.z_dim) for s in chunk]).astype(np.float32)
        img = G(
            z, None if c is None else np.repeat(c[None], len(chunk), 0), truncation_psi=FLAGS.trunc,
            truncation_cutoff=FLAGS.trunc_cutoff, noise_mode=FLAGS.noise_mode,
        )
        img = to_uint8(img).numpy()
        images.append(img)
        if FLAGS.singles:
            for seed, im in zip(chunk, img):
                save_image(im, os.path.join(FLAGS.outdir, f"seed{seed:04d}.png"))
    images = np.concatenate(images)
    if FLAGS.grid:
        path = os.path.join(FLAGS.outdir, "grid.png")
        save_image(zoom(tile(images, cols, rows), FLAGS.zoom), path)
        print(f"wrote {path} ({cols}x{rows})")
    if FLAGS.singles:
        print(f"wrote {len(images)} images to {FLAGS.outdir}")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
