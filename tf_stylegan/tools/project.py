"""Project an image into W (StyleGAN2, Appendix D) and report how well it is reproduced.

    python -m tf_stylegan.tools.project --network=G_ema.keras --target=face.png --outdir=out/proj \\
        [--lpips=vgg16-397923af.pth,vgg.pth] [--num-steps=1000] [--video]

Writes target.png, proj.png, projected_w.npz (w [w_dim], ws [num_ws, w_dim],
the noise maps) and, with --video, proj.mp4 (target beside the projection at
each step). Prints one JSON line with the final distance between the target
and its re-synthesis (Section 5.1's attribution test). Without LPIPS weights
the distance is the labelled multi-scale pixel fallback. A target of another
size is centre-cropped and resized to the network's resolution, with a warning.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np
from absl import flags

from tf_stylegan.tools._cli import NETWORK_HELP, check_writable, class_vector, load_generator, run

flags.DEFINE_string("network", None, NETWORK_HELP)
flags.DEFINE_string("target", None, "Image to project (PNG, JPEG, WebP, ...).")
flags.DEFINE_string("outdir", None, "Output directory.")
flags.DEFINE_integer("num_steps", 1000, "Optimisation steps.", lower_bound=1, upper_bound=1_000_000)
flags.DEFINE_integer("seed", 303, "Seed for w_avg sampling, initial noise maps and w noise.", lower_bound=0,
                     upper_bound=2**31 - 1)
flags.DEFINE_list("lpips", [], "LPIPS-VGG16 weights (torchvision vgg16 .pth, lpips v0.1 vgg.pth), or our .npz.")
flags.DEFINE_boolean("video", False, "Also write proj.mp4 of the optimisation.")
flags.DEFINE_integer("class", None, "Class index for class-conditional networks.")
flags.mark_flags_as_required(["network", "target", "outdir"])
FLAGS = flags.FLAGS


def load_target(path: str, resolution: int, channels: int) -> np.ndarray:
    """uint8 [R, R, C]; other sizes are centre-cropped and resized with a warning."""
    from tf_stylegan.data.images import BadImage, decode, fit, to_uint8

    try:
        with open(path, "rb") as f:
            img = decode(f.read())
    except OSError as exc:
        raise ValueError(f"--target={path}: cannot read it ({exc}).") from None
    except BadImage as exc:
        raise ValueError(f"--target={path}: {exc}.") from None
    arr = to_uint8(img, channels)
    if arr.shape[:2] != (resolution, resolution):
        logging.getLogger("tf_stylegan").warning("--target=%s is %dx%d; centre-cropping and resizing it to %dx%d.",
                                                 path, arr.shape[1], arr.shape[0], resolution, resolution)
        arr = fit(arr, resolution, "center-crop")
    return arr


def main(argv):
    from tqdm import tqdm

    from tf_stylegan.files import atomic_path
    from tf_stylegan.images import save_image, to_uint8
    from tf_stylegan.networks.projector import ProjectorOptions, project, synthesize

    check_writable(FLAGS.outdir, "outdir", is_dir=True)
    G = load_generator(FLAGS.network)
    c = class_vector(G, FLAGS["class"].value)
    target = load_target(FLAGS.target, G.img_resolution, G.img_channels)
    embed, metric = None, "pixel (multi-scale MSE fallback: no LPIPS weights given)"
    if FLAGS.lpips:
        from tf_stylegan.metrics import lpips

        embed, metric = lpips.load(*FLAGS.lpips), "lpips-vgg16"
    opts = ProjectorOptions(num_steps=FLAGS.num_steps, seed=FLAGS.seed)
    bar = tqdm(total=opts.num_steps, desc="projecting", unit="step")
    result = project(G, target, embed, opts, c, progress=lambda i, d: (bar.update(1), bar.set_postfix(dist=f"{d:.4f}")))
    bar.close()
    w = result["w"][-1]
    image = to_uint8(synthesize(G, w, result["noise"])[None]).numpy()[0]
    os.makedirs(FLAGS.outdir, exist_ok=True)
    save_image(target, os.path.join(FLAGS.outdir, "target.png"))
    save_image(image, os.path.join(FLAGS.outdir, "proj.png"))
    with atomic_path(os.path.join(FLAGS.outdir, "projected_w.npz")) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, w=w, ws=np.repeat(w[None], G.num_ws, 0),
                     **{f"noise/{k}": v for k, v in result["noise"].items()})
    if FLAGS.video:
        from tf_stylegan.video import write_video

        every = max(1, opts.num_steps // 100)
        frames = (np.concatenate([target, to_uint8(synthesize(G, result["w"][i])[None]).numpy()[0]], axis=1)
                  for i in range(0, opts.num_steps, every))
        write_video(frames, os.path.join(FLAGS.outdir, "proj.mp4"), fps=10, total=len(range(0, opts.num_steps,
                                                                                         every)))
    print(json.dumps({"target": FLAGS.target, "distance": float(result["distance"][-1]), "distance_metric": metric,
                      "steps": opts.num_steps, "outdir": FLAGS.outdir}))


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
