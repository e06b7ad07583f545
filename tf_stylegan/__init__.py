"""tf_stylegan: style-based GANs (StyleGAN2 and ancestors) in Keras 3 / TF 2.

Importing the package registers its Keras layers and models, so that
`keras.models.load_model("G.keras")` works after `import tf_stylegan`.
"""

from tf_stylegan import networks  # noqa: F401  (registers the serializable classes)

__version__ = "0.1.0"
