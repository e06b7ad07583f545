"""Running training: options, the family table, the one driver and its callbacks.

    from tf_stylegan.run import train
    train({"config": "cpu32", "data": "bundled:emoji64", "outdir": "runs/emoji", "kimg": 36})

Every family (StyleGAN2 configs A-F, ProGAN, DCGAN/CGAN) is a preset with a
"family" key and runs through `Run`; the same callbacks work in `model.fit`.
"""

from tf_stylegan.run.callbacks import (
    AccuracyRollback,
    Checkpoint,
    DivergenceRollback,
    Export,
    LRBalance,
    LRSchedule,
    Metrics,
    SnapshotGrid,
    StatsLog,
    TrainingError,
)
from tf_stylegan.run.driver import Run, fit_loop, train
from tf_stylegan.run.options import SCHEMA, OptionError

__all__ = [
    "SCHEMA", "AccuracyRollback", "Checkpoint", "DivergenceRollback", "Export", "LRBalance", "LRSchedule", "Metrics",
    "OptionError", "Run", "SnapshotGrid", "StatsLog", "TrainingError", "fit_loop", "train",
]
