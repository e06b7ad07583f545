"""Latent-walk videos: interpolation through z or w, and coarse style mixing.

    python -m tf_stylegan.tools.video --network=G_ema.keras --seeds=0-7 --loop --grid=2x2 --out=out/walk.mp4
    python -m tf_stylegan.tools.video --network=G_ema.keras --mode=style-mix --source=42 --seeds=0-7 \\
        --styles=coarse --out=out/coarse.mp4

interp: keyframes are the seeds' latents (cell i of --grid uses seeds + 1000 i),
slerp in z or lerp in w. style-mix: the --source seed's face stays; the
--styles layers follow a walk through the seeds' w (the "coarse style mixing"
video). MP4 through imageio-ffmpeg; use a .gif name for a GIF.
"""

from __future__ import annotations

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
flags.DEFINE_enum("mode", "interp", ["interp", "style-mix"], "Interpolation walk, or coarse style mixing.")
flags.DEFINE_string("seeds", "0-7", "Keyframe seeds, visited in order.")
flags.DEFINE_enum("space", "w", ["z", "w"], "Interpolate in z (slerp) or w (lerp).")
flags.DEFINE_enum("interp", None, ["lerp", "slerp"], "Override the interpolation (default: slerp in z, lerp in w).")
flags.DEFINE_boolean("loop", False, "Return to the first keyframe (a seamless loop).")
flags.DEFINE_string("grid", "1x1", "COLSxROWS walks side by side.")
flags.DEFINE_integer("source", 0, "style-mix: the seed whose face is kept.", lower_bound=0, upper_bound=2**32 - 1)
flags.DEFINE_string("styles", "coarse", "style-mix: the layers that walk (coarse, middle, fine, 0-3, ...).")
flags.DEFINE_float("fps", 30.0, "Frames per second.", lower_bound=1, upper_bound=240)
flags.DEFINE_float("seconds", 1.0, "Seconds per keyframe segment.", lower_bound=0.05, upper_bound=600)
flags.DEFINE_float("trunc", 1.0, "Truncation psi.")
flags.DEFINE_integer("class", None, "Class index for class-conditional networks.")
flags.DEFINE_integer("batch", 8, "Frames per forward pass.", lower_bound=1, upper_bound=4096)
check_finite("trunc", -10, 10)
check_finite("fps", 1, 240)
check_finite("seconds", 0.05, 600)
flags.DEFINE_string("out", None, "Output .mp4 or .gif.")
flags.DEFINE_integer("zoom", 1, "Enlarge every frame this many times (nearest neighbour).", lower_bound=1,
                     upper_bound=32)
flags.mark_flags_as_required(["network", "out"])
FLAGS = flags.FLAGS
MAX_FRAMES = 100_000  # frames times grid cells: about an hour of a single walk at 30 fps


def walk_ws(G, seeds, steps, space="w", kind=None, loop=False, truncation_psi=1.0, c=None) -> np.ndarray:
    """ws [T, num_ws, w_dim] along the seeds' keyframes."""
    from tf_stylegan.networks.latents import interpolate, z_from_seeds

    z = z_from_seeds(seeds, G.z_dim)
    cc = None if c is None else np.repeat(c[None], len(z), 0)
    if space == "z":
        zs = interpolate(z, steps, kind or "slerp", loop)
        cz = None if c is None else np.repeat(c[None], len(zs), 0)
        return G.mapping(zs, cz, truncation_psi=truncation_psi).numpy()
    ws = G.mapping(z, cc, truncation_psi=truncation_psi).numpy()
    return interpolate(ws, steps, kind or "lerp", loop)


def render(G, ws: np.ndarray, batch: int):
    """uint8 images for ws, batch by batch."""
    from tf_stylegan.images import to_uint8

    for i in range(0, len(ws), batch):
        yield from to_uint8(G.synthesis(ws[i:i + batch], noise_mode="const")).numpy()


def main(argv):
    from tf_stylegan.images import parse_grid, tile, zoom
    from tf_stylegan.networks.latents import mix_styles, style_layers, z_from_seeds
    from tf_stylegan.video import write_video

    check_writable(FLAGS.out, "out")
    seeds = parse_seeds(FLAGS.seeds)
    if len(seeds) < 2:
        raise ValueError("--seeds: a walk needs at least 2 keyframes, e.g. 0-7.")
    cols, rows = parse_grid(FLAGS.grid, 1)
    steps = max(1, int(round(FLAGS.fps * FLAGS.seconds)))
    if len(seeds) * steps * cols * rows > MAX_FRAMES:
        raise ValueError(f"--seeds/--fps/--seconds/--grid: {len(seeds) * steps * cols * rows:,} frames to render; "
                         f"at most {MAX_FRAMES:,}.")
    G = load_generator(FLAGS.network)
    c = class_vector(G, FLAGS["class"].value)
    if FLAGS.mode == "style-mix":
        layers = style_layers(FLAGS.styles, G.num_ws)
        walk = walk_ws(G, seeds, steps, FLAGS.space, FLAGS.interp, FLAGS.loop, FLAGS.trunc, c)
        source = G.mapping(z_from_seeds([FLAGS.source], G.z_dim), None if c is None else c[None],
                           truncation_psi=FLAGS.trunc).numpy()
        ws = mix_styles(np.repeat(source, len(walk), 0), walk, layers).numpy()
        frames = render(G, ws, FLAGS.batch)
        total = len(ws)
    else:
        cells = [walk_ws(G, [s + 1000 * i for s in seeds], steps, FLAGS.space, FLAGS.interp, FLAGS.loop,
                         FLAGS.trunc, c) for i in range(cols * rows)]
        total = len(cells[0])
        streams = [render(G, ws, FLAGS.batch) for ws in cells]
        frames = (tile(np.stack(f), cols, rows) for f in zip(*streams))
    write_video((zoom(f, FLAGS.zoom) for f in frames), FLAGS.out, FLAGS.fps, total=total)
    print(f"wrote {FLAGS.out} ({total} frames at {FLAGS.fps:g} fps)")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
