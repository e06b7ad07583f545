#!/bin/sh
# Trains (or resumes) the run behind bundled:emoji32 for one sitting of MINUTES minutes.
#
#   scripts/pretrain_emoji32.sh OUTDIR [MINUTES]
#   INIT_FROM=bundled:emoji32 scripts/pretrain_emoji32.sh OUTDIR [MINUTES]   # a new run that continues a network
#   CONFIG=path/to/preset.json scripts/pretrain_emoji32.sh OUTDIR [MINUTES]     # other networks than cpu32's
#
# cpu32's networks on bundled:emoji64 at 32 px, bf16 (auto on this CPU), with a longer G_ema
# (5 kimg), a calmer ADA (p moves by 1 in 100 kimg) and the learning rates 0.002 it was trained
# with (cpu32's own are 0.005), FID of 2,000 samples every 50 kimg. Resume is exact, so sittings
# add up to one run; scripts/package_pretrained.py turns the run into tf_stylegan/pretrained/emoji32.
# A sitting may be ended with Ctrl-C or SIGTERM (the trainer checkpoints its step); it is still
# recorded in OUTDIR.sittings.
set -e
OUTDIR=${1:?usage: scripts/pretrain_emoji32.sh OUTDIR [MINUTES]}
MINUTES=${2:-120}
PY=${PYTHON:-.venv/bin/python}
INCEPTION=${INCEPTION:-.cache/weights/fid_helper_default_1.pt}   # from make test
INIT=${INIT_FROM:+--init_from=$INIT_FROM}   # G and G_ema start from its G_ema, D from its D; Adam and ADA start afresh
START=$(date +%s)
trap 'true' INT TERM   # the trainer stops on them; this shell waits for it and records the sitting
STATUS=0
if [ -f "$OUTDIR/options.json" ]; then
    if [ -n "${INIT_FROM:-}${CONFIG:-}" ]; then   # a resumed run keeps its networks and weights
        echo "$OUTDIR is a run already: resuming it takes neither CONFIG nor INIT_FROM" >&2; exit 2
    fi
    "$PY" -m tf_stylegan.tools.train --outdir="$OUTDIR" --resume=latest --minutes="$MINUTES" --progress=false || STATUS=$?
else
    "$PY" -m tf_stylegan.tools.train --config="${CONFIG:-cpu32}" --data=bundled:emoji64 --outdir="$OUTDIR" \
        --kimg=5000 --minutes="$MINUTES" --g_lr=0.002 --d_lr=0.002 --ema_kimg=5 --ada_kimg=100 --snap=50 \
        --metrics=fid2k_full --inception="$INCEPTION" \
        --checkpoint_every=500 --keep=2 --seed=0 --progress=false $INIT || STATUS=$?
fi
echo "$START $(date +%s)" >> "$OUTDIR.sittings"   # wall seconds of each sitting, for the record
exit $STATUS
