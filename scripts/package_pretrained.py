"""Turns a training run into a bundled network: tf_stylegan/pretrained/<name>/.

    .venv/bin/python scripts/package_pretrained.py --run=RUN_DIR --name=emoji32 \
        [--inception=.cache/weights/fid_helper_default_1.pt]

Writes G_ema.keras and D.keras from the run's latest checkpoint, with their
weights stored in float16 (they load into float32 networks), and
record.json: the command that trained it (scripts/pretrain_emoji32.sh), the
dataset, kimg, the hours of its sittings (RUN_DIR.sittings), its FID curve
(metric-fid2k_full.jsonl, each point with the resolution at which the reals
were compared) and, with --inception, the FID of the packaged
G_ema measured again after loading it back through `bundled:<name>`, so the
record shows that packaging kept it.

A run that continued an earlier network (INIT_FROM=bundled:<name>) is packaged
with --continues=<that network's record.json>: kimg and hours then count both
runs, the curve's kimg continue from the earlier run's, and the earlier record
is kept whole under "earlier".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
KIND = "bundled_network"  # the marker of a folder this script packaged (and may replace)


def fid_curve(run: str) -> list[dict]:
    path = os.path.join(run, "metric-fid2k_full.jsonl")
    if not os.path.isfile(path):
        return []
    rows = [json.loads(line) for line in open(path)]
    return [{"kimg": round(r["nimg"] / 1000, 1), "fid2k_full": round(r["results"]["fid2k_full"], 2),
             **({"real_resolution": r["real_resolution"]} if "real_resolution" in r else {})} for r in rows]


def save_half(model, path: str) -> None:
    """`model` as a .keras file whose float32 weights are stored as float16 (refused where one overflows)."""
    import h5py
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        full = os.path.join(tmp, "model.keras")
        model.save(full)
        with zipfile.ZipFile(full) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == "model.weights.h5":
                    data = _halve_h5(data, h5py, np)
                dst.writestr(info.filename, data)


def _halve_h5(data: bytes, h5py, np) -> bytes:
    source, out = h5py.File(io.BytesIO(data), "r"), io.BytesIO()
    with h5py.File(out, "w") as target:
        def copy(name, obj):
            if isinstance(obj, h5py.Dataset):
                value = obj[()]
                if getattr(value, "dtype", None) == np.float32:
                    if np.abs(value).max(initial=0) > np.finfo(np.float16).max:
                        raise SystemExit(f"{name}: a weight beyond float16's range; keep this network in float32.")
                    value = value.astype(np.float16)
                target.create_dataset(name, data=value)
            else:
                target.require_group(name)
            for key, attr in obj.attrs.items():
                target[name].attrs[key] = attr
        source.visititems(copy)
        for key, attr in source.attrs.items():
            target.attrs[key] = attr
    return out.getvalue()


def sitting_hours(run: str) -> float | None:
    path = run.rstrip("/") + ".sittings"
    if not os.path.isfile(path):
        return None
    seconds = sum(int(end) - int(start) for start, end in (line.split() for line in open(path) if line.strip()))
    return round(seconds / 3600, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--command", default="scripts/pretrain_emoji32.sh OUTDIR MINUTES (sittings until FID stops "
                                             "improving; resume is exact)")
    parser.add_argument("--inception")
    parser.add_argument("--continues", help="record.json of the network that this run started from (--init_from)")
    args = parser.parse_args()
    earlier = read_earlier(args.continues, args.run) if args.continues else None

    from tf_stylegan.convert import load
    from tf_stylegan.convert.pretrained import PRETRAINED_DIR
    from tf_stylegan.files import check_output_folder, partial_folder, replace_folder, write_marker

    nets = load(args.run)
    options = read_options(args.run)
    folder = os.path.join(PRETRAINED_DIR, args.name)
    check_output_folder(folder, KIND, overwrite=True)  # new, empty, or a network packaged before
    tmp = partial_folder(folder, KIND)
    for part in ("G_ema", "D"):
        save_half(nets[part], os.path.join(tmp, f"{part}.keras"))
    curve = fid_curve(args.run)
    opts = options.get("options", options)
    record = {
        "name": f"bundled:{args.name}", "command": args.command, "data": opts.get("data"),
        "config": opts.get("config"), "resolution": int(nets["G_ema"].img_resolution),
        "kimg": round(load_step_nimg(args.run) / 1000, 1),
        "hours": sitting_hours(args.run), "fid_curve": curve,
        "options_given": {k: opts[k] for k in sorted(options.get("given", opts)) if k in opts and k != "outdir"},
    }
    if earlier:
        record.update(continued(record, earlier))
    with open(os.path.join(tmp, "record.json"), "w") as f:
        json.dump(record, f, indent=1)
    write_marker(tmp, KIND)
    replace_folder(tmp, folder)
    if args.inception:
        from tf_stylegan.metrics.suite import Evaluator

        G = load(f"bundled:{args.name}")["G_ema"]
        evaluator = Evaluator(opts.get("data", "bundled:emoji64"), args.inception, progress=False)
        record["fid2k_full_packaged"] = round(evaluator.evaluate(G, ["fid2k_full"])[0]["results"]["fid2k_full"], 2)
        with open(os.path.join(folder, "record.json"), "w") as f:
            json.dump(record, f, indent=1)
    print(json.dumps(record, indent=1))


def read_options(run: str) -> dict:
    """The run's options.json as written (its resolved options under "options", the given keys under "given")."""
    with open(os.path.join(run, "options.json")) as f:
        return json.load(f)


def read_earlier(path: str, run: str) -> dict:
    """The record of the network that `run` continued; refused unless the run really started from a network."""
    options = read_options(run)
    if not options.get("options", options).get("init_from"):
        raise SystemExit(f"--continues: {run} did not start from a network (no init_from in its options.json).")
    with open(path) as f:
        earlier = json.load(f)
    for key in ("kimg", "hours", "fid_curve"):
        if key not in earlier:
            raise SystemExit(f"--continues: {path} has no {key!r}; it is not a record of a bundled network.")
    return earlier


def continued(record: dict, earlier: dict) -> dict:
    """The fields of `record` that change when its run continued the network of `earlier`."""
    offset = earlier["kimg"]
    return {
        "kimg": round(offset + record["kimg"], 1),
        "hours": round((earlier["hours"] or 0) + (record["hours"] or 0), 2),
        "fid_curve": [{**row, "kimg": round(offset + row["kimg"], 1)} for row in record["fid_curve"]],
        "earlier": earlier,
    }


def load_step_nimg(run: str) -> int:
    """Images shown at the run's latest checkpoint (from its last stats line at or before it)."""
    from tf_stylegan.files import checkpoint_steps

    step = checkpoint_steps(os.path.join(run, "checkpoints"))[-1]
    nimg = 0
    for line in open(os.path.join(run, "stats.jsonl")):
        row = json.loads(line)
        if row.get("step", 0) <= step and "nimg" in row:
            nimg = row["nimg"]
    return nimg


if __name__ == "__main__":
    main()
