"""Training: the StyleGAN2 keras.Model, losses, checkpoints and callbacks."""

from tf_stylegan.training.callbacks import Checkpoint, LRBalance, SnapshotGrid
from tf_stylegan.training.stylegan2 import StyleGAN2, clone_generator, lazy_adam, lr_scale

__all__ = ["Checkpoint", "LRBalance", "SnapshotGrid", "StyleGAN2", "clone_generator", "lazy_adam", "lr_scale"]
