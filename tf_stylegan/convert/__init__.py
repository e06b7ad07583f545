"""Official checkpoints -> our networks, read safely (no TF1, no torch, no exec)."""

from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.load import load

__all__ = ["CheckpointError", "load"]
