"""Training models and math: the GAN model base, the StyleGAN2 / ProGAN / DCGAN steps, losses, ADA, growing.

No file I/O and no command-line names: running a training lives in tf_stylegan.run.
"""

from tf_stylegan.training.base import GANModel, clone_generator
from tf_stylegan.training.dcgan import DCGAN
from tf_stylegan.training.progan import ProGAN
from tf_stylegan.training.stylegan2 import StyleGAN2, lazy_adam, lr_scale

__all__ = ["DCGAN", "GANModel", "ProGAN", "StyleGAN2", "clone_generator", "lazy_adam", "lr_scale"]
