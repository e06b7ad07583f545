"""Exports of trained generators (SavedModel for TF Serving)."""

from tf_stylegan.export.saved_model import export_saved_model

__all__ = ["export_saved_model"]
