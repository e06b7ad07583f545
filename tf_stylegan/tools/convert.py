"""Convert an official StyleGAN2 checkpoint to Keras `.keras` files.

    python -m tf_stylegan.tools.convert --src=network.pkl --outdir=out/

Reads NVlabs TF1 pickles and stylegan2-ada-pytorch pickles without TF1 or
PyTorch and without executing anything from the file, and writes G.keras,
D.keras and G_ema.keras (load them with `keras.models.load_model` or
`tf_stylegan.convert.load`).
"""

from __future__ import annotations

import os

from absl import flags

from tf_stylegan.tools._cli import max_read_bytes, run

flags.DEFINE_string("src", None, "Checkpoint to convert: an NVlabs TF1 .pkl or a stylegan2-ada-pytorch .pkl.")
flags.DEFINE_string("outdir", None, "Directory for G.keras, D.keras and G_ema.keras (created if missing).")
flags.DEFINE_list("networks", ["G", "D", "G_ema"], "Which networks to write.")
flags.DEFINE_boolean("overwrite", False, "Replace G.keras, D.keras and G_ema.keras if --outdir already has them.")
flags.mark_flags_as_required(["src", "outdir"])
FLAGS = flags.FLAGS


def main(argv):
    from tqdm import tqdm

    from tf_stylegan.convert import load
    from tf_stylegan.files import save_model_atomic

    existing = [k for k in FLAGS.networks if os.path.lexists(os.path.join(FLAGS.outdir, f"{k}.keras"))]
    if existing and not FLAGS.overwrite:
        raise ValueError(f"--outdir={FLAGS.outdir}: already has {', '.join(k + '.keras' for k in existing)}; pass "
                         "--overwrite to replace them, or choose another folder.")
    nets = load(FLAGS.src, max_bytes=max_read_bytes())
    unknown = sorted(set(FLAGS.networks) - set(nets))
    if unknown:
        raise ValueError(f"--networks: {unknown} not in the checkpoint (it has {sorted(nets)}).")
    os.makedirs(FLAGS.outdir, exist_ok=True)
    for key in tqdm(FLAGS.networks, desc="writing", unit="net"):
        path = os.path.join(FLAGS.outdir, f"{key}.keras")
        save_model_atomic(nets[key], path)
        tqdm.write(f"{key}: {nets[key].count_params():,} parameters -> {path}")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
