"""Regularisers of D, switched on by a list in the model's arguments (``regularisers: [...]``)."""
from ganzoo.regularisers.base import Regulariser
from ganzoo.regularisers.consistency import BalancedConsistency
from ganzoo.regularisers.gradient import R1, R2
from ganzoo.regularisers.lecam import LeCam

__all__ = ["BalancedConsistency", "LeCam", "R1", "R2", "Regulariser"]
