"""Compute FID, KID and precision/recall of a generator against a dataset.

    python -m tf_stylegan.tools.evaluate --network=out/G_ema.keras --data=bundled:emoji64 \
        --metrics=fid2k_full,kid2k_full,pr2k3_full
    ... --metrics=ppl2_wend_1k --lpips=vgg16-397923af.pth,vgg.pth

Writes one JSON line per metric, in the official layout, to --out (default:
metric-<name>.jsonl beside the network) and prints it. The network can be a
.keras file or an official pickle (its G_ema is used). The FID Inception
comes from --inception or the cache (see tools.fetch_weights). A network made
below the dataset's resolution (a 32 px cpu32 run on a 64 px set) is compared
with the reals box-filtered to its resolution, as its run trained on them.
"""

from __future__ import annotations

import json
import os

from absl import flags

from tf_stylegan.tools._cli import NETWORK_HELP, check_finite, load_generator, run

flags.DEFINE_string("network", None, NETWORK_HELP)
flags.DEFINE_string("data", None, "Dataset directory (tools.dataset) or bundled:emoji64.")
flags.DEFINE_list("metrics", ["fid50k_full"], "Metrics, e.g. fid50k_full,kid50k_full,pr50k3_full (counts may vary).")
flags.DEFINE_string("inception", None, "FID Inception weights (default: the cache; see tools.fetch_weights).")
flags.DEFINE_list("lpips", [], "LPIPS-VGG16 weights for PPL: torchvision's vgg16 .pth and lpips' v0.1 vgg.pth "
                  "(or one .npz of ours).")
flags.DEFINE_string("cache_dir", None, "Cache for weights and dataset features.")
flags.DEFINE_enum("precision", "auto", ["auto", "fp32", "bf16"], "Feature network precision. auto: bf16 on CPUs "
                  "with AVX512-BF16/AMX (2x faster; bench/metrics.py measures its FID error), else fp32.")
flags.DEFINE_integer("batch", 64, "Images per feature-network batch.", lower_bound=1, upper_bound=4096)
flags.DEFINE_integer("max_real", None, "Use at most this many real images (default: all).", lower_bound=2)
flags.DEFINE_float("trunc", 1.0, "Truncation psi for the generated images.")
check_finite("trunc", -10, 10)
flags.DEFINE_enum("labels", "tags", ["tags", "category", "skin_tone", "none"], "Label kind of bundled data.")
flags.DEFINE_integer("seed", 0, "Seed for latents, labels and KID subsets.", lower_bound=0,
                     upper_bound=2**31 - 1)
flags.DEFINE_string("out", None, "JSON-lines file to append to (default: metric-<name>.jsonl beside --network).")
flags.mark_flags_as_required(["network", "data"])
FLAGS = flags.FLAGS


def main(argv):
    from tf_stylegan.metrics import weights
    from tf_stylegan.metrics.suite import Evaluator, needs_inception, parse_metric

    for name in FLAGS.metrics:
        parse_metric(name)  # bad names fail before any work
    G = load_generator(FLAGS.network)
    from tf_stylegan.run.precision import choose

    precision, why = choose(FLAGS.precision, backward=False)  # forward passes only
    precision = "fp32" if precision == "fp16" else precision  # the feature network has no float16 path
    print(f"precision: {precision} ({why})")
    evaluator = Evaluator(
        FLAGS.data,
        weights.inception_path(FLAGS.inception, FLAGS.cache_dir) if needs_inception(FLAGS.metrics) else None,
        weights.cache_dir(FLAGS.cache_dir), lpips_paths=tuple(FLAGS.lpips),
        dtype="mixed_bfloat16" if precision == "bf16" else "float32", batch_size=FLAGS.batch,
        max_real=FLAGS.max_real, labels=FLAGS.labels, seed=FLAGS.seed)
    for record in evaluator.evaluate(G, FLAGS.metrics, snapshot=os.path.basename(FLAGS.network),
                                     truncation_psi=FLAGS.trunc):
        line = json.dumps(record)
        print(line)
        out = FLAGS.out or os.path.join(os.path.dirname(os.path.abspath(FLAGS.network)),
                                        f"metric-{record['metric']}.jsonl")
        with open(out, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
