"""Exports of trained generators: SavedModel (TF Serving), TFLite (tflite.py) and ONNX (onnx.py)."""

from tf_stylegan.export.saved_model import export_saved_model

__all__ = ["export_saved_model"]
