"""Export a generator for serving: a TF Serving SavedModel, a TFLite file or ONNX.

    python -m tf_stylegan.tools.export --network=G_ema.keras --format=saved_model --out=saved_models/faces/1
    python -m tf_stylegan.tools.export --network=G_ema.keras --format=tflite --quantization=float16 --out=g.tflite
    python -m tf_stylegan.tools.export --network=G_ema.keras --format=onnx --out=g.onnx   # + g.mapping/.synthesis

    python -m tf_stylegan.tools.export --network=G_ema.keras --format=ada_pkl --out=network-ada.pkl

SavedModel signatures: serving_default (z [, c], truncation_psi -> uint8
images), mapping (-> ws) and synthesis (ws -> images), with a dynamic batch.
TFLite: z [, c] -> uint8 images with --trunc fixed; float32, float16 or
dynamic-range int8 weights. ONNX: the SavedModel's signatures, one file each
(see tf_stylegan/export/onnx.py). All use the reference ops only.
"""

from __future__ import annotations

import os

from absl import flags

from tf_stylegan.tools._cli import NETWORK_HELP, check_writable, load_generator, max_read_bytes, run

flags.DEFINE_string("network", None, NETWORK_HELP)
flags.DEFINE_enum("format", "saved_model", ["saved_model", "tflite", "onnx", "ada_pkl"],
                  "What to write: a SavedModel, a TFLite file, or a stylegan2-ada-pytorch layout pickle (plain "
                  "dicts of numpy arrays plus init kwargs, for the PyTorch tools).")
flags.DEFINE_enum("quantization", "float32", ["float32", "float16", "int8"], "TFLite weight precision.")
flags.DEFINE_float("trunc", 1.0, "TFLite: the truncation psi baked into the file.")
flags.DEFINE_enum("precision", "fp32", ["fp32", "bf16"], "SavedModel: fp32 (exact), or bf16 (StyleGAN2: the "
                  "synthesis in bfloat16, about 2x faster on CPUs with AVX512-BF16, >= 40 dB PSNR of fp32).")
flags.DEFINE_string("out", None, "Output: a SavedModel directory (NAME/VERSION for TF Serving) or a .tflite file. "
                    "It must be new or empty; see --overwrite.")
flags.DEFINE_boolean("overwrite", False, "Replace an earlier export at --out: a SavedModel folder only if this "
                     "package wrote it (it carries our marker), or the file itself.")
flags.mark_flags_as_required(["network", "out"])
FLAGS = flags.FLAGS


def main(argv):
    if FLAGS["precision"].present and FLAGS.format != "saved_model":
        raise ValueError(f"--precision: applies to --format=saved_model only, not {FLAGS.format}.")
    if FLAGS.format == "saved_model":
        from tf_stylegan.export.saved_model import check_export_folder

        check_export_folder(FLAGS.out, FLAGS.overwrite)  # before the network is loaded: fail fast
    elif os.path.lexists(FLAGS.out) and not FLAGS.overwrite:
        raise ValueError(f"--out={FLAGS.out}: exists; pass --overwrite to replace it, or choose a new name.")
    elif os.path.isdir(FLAGS.out):
        raise ValueError(f"--out={FLAGS.out}: is a folder; give a file name.")
    check_writable(FLAGS.out, "out")
    if FLAGS.format == "tflite" and not FLAGS.out.endswith(".tflite"):
        raise ValueError(f"--out={FLAGS.out}: a TFLite file should end in .tflite.")
    if FLAGS.format == "onnx":
        if not FLAGS.out.endswith(".onnx"):
            raise ValueError(f"--out={FLAGS.out}: an ONNX file should end in .onnx.")
        from tf_stylegan.export.onnx import require_tf2onnx

        require_tf2onnx()  # a missing converter fails before the network is loaded
    if FLAGS.format == "ada_pkl":
        from tf_stylegan.convert import load
        from tf_stylegan.convert.to_ada import save_ada_pickle

        nets = load(FLAGS.network, max_bytes=max_read_bytes())
        if "G_ema" not in nets:
            raise ValueError(f"--network={FLAGS.network}: holds no generator.")
        save_ada_pickle(FLAGS.out, nets["G_ema"], nets.get("G"), nets.get("D"))
        print(f"wrote {FLAGS.out} ({', '.join(k for k in ('G', 'D', 'G_ema') if k in nets)})")
        return
    G = load_generator(FLAGS.network)
    if FLAGS.format == "saved_model":
        from tf_stylegan.export import export_saved_model

        export_saved_model(G, FLAGS.out, overwrite=FLAGS.overwrite, precision=FLAGS.precision)
    elif FLAGS.format == "onnx":
        from tf_stylegan.export.onnx import export_onnx

        for path in export_onnx(G, FLAGS.out, overwrite=FLAGS.overwrite):
            print(f"wrote {path}")
        return
    else:
        from tf_stylegan.export.tflite import export_tflite

        export_tflite(G, FLAGS.out, FLAGS.quantization, FLAGS.trunc)
    print(f"wrote {FLAGS.out}")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
