"""The paper's style-mixing grid: row seeds' images with some styles taken from column seeds.

    python -m tf_stylegan.tools.style_mixing --network=G_ema.keras --rows=85,100,75,458,1500 \\
        --cols=55,821,1789,293 --styles=coarse --trunc=0.7 --outdir=out/mix

The top row shows the column seeds, the left column the row seeds; cell
(r, c) is row seed r's ws with the --styles layers (coarse = 0-3, middle =
4-7, fine = 8 and up, or a range such as 0-6) taken from column seed c.
"""

from __future__ import annotations

import os

import numpy as np
from absl import flags

from tf_stylegan.tools._cli import (
    NETWORK_HELP,
    check_finite,
    check_writable,
    class_vector,
    load_generator,
    parse_seeds,
    run,
)

flags.DEFINE_string("network", None, NETWORK_HELP)
flags.DEFINE_string("rows", "85,100,75,458,1500", "Row seeds (the images whose styles are replaced).")
flags.DEFINE_string("cols", "55,821,1789,293", "Column seeds (the style donors).")
flags.DEFINE_string("styles", "coarse", "Layers taken from the column seed: coarse, middle, fine, 0-6, 0,1,2.")
flags.DEFINE_float("trunc", 1.0, "Truncation psi.")
check_finite("trunc", -10, 10)
flags.DEFINE_integer("class", None, "Class index for class-conditional networks.")
flags.DEFINE_enum("noise_mode", "const", ["const", "random", "none"], "Noise inputs.")
flags.DEFINE_string("outdir", None, "Output directory.")
flags.mark_flags_as_required(["network", "outdir"])
FLAGS = flags.FLAGS


def mixing_grid(G, row_seeds, col_seeds, layers, truncation_psi=1.0, c=None, noise_mode="const") -> np.ndarray:
    """uint8 grid [(R+1)*H, (C+1)*W, 3]: blank corner, column images on top, row images at left."""
    import tensorflow as tf

    from tf_stylegan.images import tile, to_uint8
    from tf_stylegan.networks.latents import mix_styles, z_from_seeds

    seeds = list(dict.fromkeys(list(row_seeds) + list(col_seeds)))
    cc = None if c is None else np.repeat(c[None], len(seeds), 0)
    ws = G.mapping(z_from_seeds(seeds, G.z_dim), cc, truncation_psi=truncation_psi)
    w_of = {s: ws[i:i + 1] for i, s in enumerate(seeds)}

    def render(w):
        return to_uint8(G.synthesis(w, noise_mode=noise_mode)).numpy()[0]

    size = G.img_resolution
    blank = np.full([size, size, G.img_channels], 255, np.uint8)
    cells = [blank] + [render(w_of[s]) for s in col_seeds]
    for r in row_seeds:
        cells.append(render(w_of[r]))
        mixed = tf.concat([mix_styles(w_of[r], w_of[s], layers) for s in col_seeds], 0)
        cells.extend(to_uint8(G.synthesis(mixed, noise_mode=noise_mode)).numpy())
    return tile(np.stack(cells), len(col_seeds) + 1, len(row_seeds) + 1)


def main(argv):
    from tf_stylegan.images import save_image
    from tf_stylegan.networks.latents import style_layers

    check_writable(FLAGS.outdir, "outdir", is_dir=True)
    rows, cols = parse_seeds(FLAGS.rows, "rows"), parse_seeds(FLAGS.cols, "cols")
    G = load_generator(FLAGS.network)
    layers = style_layers(FLAGS.styles, G.num_ws)
    grid = mixing_grid(G, rows, cols, layers, FLAGS.trunc, class_vector(G, FLAGS["class"].value), FLAGS.noise_mode)
    path = os.path.join(FLAGS.outdir, f"style_mixing_{FLAGS.styles.replace(',', '_')}.png")
    save_image(grid, path)
    print(f"wrote {path} (styles {layers[0]}..{layers[-1]} from the columns)")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
