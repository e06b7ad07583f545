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

from tf_stylegan.tools._cli import parse_seeds, run

flags.DEFINE_string("network", None, "Generator: a .keras file or an official .pkl (its G_ema).")
flags.DEFINE_string("config", None, "Instead of --network: a preset name or JSON (random weights, for smoke tests).")
flags.DEFINE_integer("init_seed", 0, "Weight-initialisation seed with --config.")
flags.DEFINE_string("seeds", "0-15", "Latent seeds: ranges and lists such as 0-63 or 1,5,9.")
flags.DEFINE_float("trunc", 1.0, "Truncation psi: 1 = none, smaller = closer to the average image.")
flags.DEFINE_integer("trunc_cutoff", None, "Truncate only the first N ws (coarse styles); default all.")
flags.DEFINE_integer("class_idx", None, "Class index for class-conditional networks.")
flags.DEFINE_enum("noise_mode", "const", ["const", "random", "none"], "Noise inputs: stored, fresh random, or off.")
flags.DEFINE_string("outdir", None, "Output directory (created if missing).")
flags.DEFINE_string("grid", None, "Also write grid.png with COLSxROWS cells, e.g. 8x8; 'auto' = square.")
flags.DEFINE_boolean("singles", True, "Write one PNG per seed.")
flags.DEFINE_integer("batch", 8, "Images per forward pass.")
flags.mark_flag_as_required("outdir")
FLAGS = flags.FLAGS


def load_generator():
    """The generator named by --network or built from --config."""
    import keras

    if bool(FLAGS.network) == bool(FLAGS.config):
        raise ValueError("give exactly one of --network and --config.")
    if FLAGS.config:
        from tf_stylegan.networks.presets import load_preset

        keras.utils.set_random_seed(FLAGS.init_seed)
        G, _ = load_preset(FLAGS.config).build()
        return G
    from tf_stylegan.convert import load

    nets = load(FLAGS.network)
    if "G_ema" not in nets:
        raise ValueError(f"{FLAGS.network}: holds no generator (it has {sorted(nets)}).")
    return nets["G_ema"]


def labels_for(G, count: int):
    if G.c_dim == 0:
        if FLAGS.class_idx is not None:
            raise ValueError("--class_idx: this network is unconditional.")
        return None
    if FLAGS.class_idx is None or not 0 <= FLAGS.class_idx < G.c_dim:
        raise ValueError(f"--class_idx: this network is conditional; give 0..{G.c_dim - 1}.")
    c = np.zeros([count, G.c_dim], np.float32)
    c[:, FLAGS.class_idx] = 1
    return c


def main(argv):
    from tqdm import tqdm

    from tf_stylegan.images import parse_grid, save_image, tile, to_uint8

    seeds = parse_seeds(FLAGS.seeds)
    G = load_generator()
    images = []
    for start in tqdm(range(0, len(seeds), FLAGS.batch), desc="generating", unit="batch"):
        chunk = seeds[start : start + FLAGS.batch]
        z = np.stack([np.random.RandomState(s).randn(G.z_dim) for s in chunk]).astype(np.float32)
        img = G(
            z, labels_for(G, len(chunk)), truncation_psi=FLAGS.trunc,
            truncation_cutoff=FLAGS.trunc_cutoff, noise_mode=FLAGS.noise_mode,
        )
        img = to_uint8(img).numpy()
        images.append(img)
        if FLAGS.singles:
            for seed, im in zip(chunk, img):
                save_image(im, os.path.join(FLAGS.outdir, f"seed{seed:04d}.png"))
    images = np.concatenate(images)
    if FLAGS.grid:
        cols, rows = parse_grid(None if FLAGS.grid == "auto" else FLAGS.grid, len(images))
        path = os.path.join(FLAGS.outdir, "grid.png")
        save_image(tile(images, cols, rows), path)
        print(f"wrote {path} ({cols}x{rows})")
    print(f"wrote {len(images)} images to {FLAGS.outdir}")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
