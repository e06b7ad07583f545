"""Running training: options, the family table, the one driver and its callbacks.

    from tf_stylegan.run import train
    train({"config": "cpu32", "data": "bundled:emoji64", "outdir": "runs/emoji", "kimg": 36})

Every family (StyleGAN2 configs A-F, ProGAN, DCGAN/CGAN) is a preset with a
"family" key and runs through `Run`; the same callbacks work in `model.fit`.
The names below load on first use, so that reading the option schema (as
tools.train does to make its flags) loads no TensorFlow.
"""

import importlib

_WHERE = {
    **dict.fromkeys(["AccuracyRollback", "Checkpoint", "DivergenceRollback", "Export", "LRBalance", "LRSchedule",
                     "Metrics", "SnapshotGrid", "StatsLog", "TrainingError"], "callbacks"),
    **dict.fromkeys(["Run", "fit_loop", "train"], "driver"),
    **dict.fromkeys(["SCHEMA", "OptionError"], "options"),
    "Stopped": "stopping",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"tf_stylegan.run.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'tf_stylegan.run' has no attribute {name!r}")
