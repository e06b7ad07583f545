"""tf_stylegan: style-based GANs (StyleGAN2 and ancestors) in Keras 3 / TF 2.

`import tf_stylegan` is cheap: it loads no TensorFlow. The subpackages load
on first use (`tf_stylegan.convert.load(...)`, `tf_stylegan.run.train(...)`),
and importing `tf_stylegan.networks` (which every loader and tool does)
registers the Keras layers and models, so that `keras.models.load_model`
reads our `.keras` files afterwards.
"""

import importlib

__version__ = "0.1.0"
SUBPACKAGES = ("convert", "data", "export", "layers", "metrics", "networks", "ops", "run", "training", "tools")


def __getattr__(name: str):
    if name in SUBPACKAGES:
        return importlib.import_module(f"tf_stylegan.{name}")
    raise AttributeError(f"module 'tf_stylegan' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *SUBPACKAGES])
