"""Regularisers of D, switched on by a list in the model's arguments (``regularisers: [...]``)."""
from ganzoo.regularisers.base import Regulariser

__all__ = ["Regulariser"]
