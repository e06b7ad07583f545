"""tf_stylegan: style-based GANs (StyleGAN2 and ancestors) in Keras 3 / TF 2."""

__version__ = "0.1.0"
