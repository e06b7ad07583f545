"""Data: the dataset tool's builder, the tf.data pipeline and the bundled dataset."""

from tf_stylegan.data.pipeline import load, read_info
from tf_stylegan.data.writer import DatasetError, build_dataset

__all__ = ["DatasetError", "build_dataset", "load", "read_info"]
