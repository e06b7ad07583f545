"""Official checkpoints -> our networks, read safely (no TF1, no torch, no exec).

`load` imports TensorFlow and Keras when first used, so that the readers
(`safe_pickle`, `torch_tensors`) stay importable on their own.
"""

from tf_stylegan.convert.errors import CheckpointError

__all__ = ["CheckpointError", "load"]


def __getattr__(name: str):
    if name == "load":
        from tf_stylegan.convert.loader import load

        return load
    raise AttributeError(f"module 'tf_stylegan.convert' has no attribute {name!r}")
