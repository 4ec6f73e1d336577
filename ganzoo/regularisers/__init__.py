"""Regularisers of D, switched on by a list in the model's arguments (``regularisers: [...]``)."""
from ganzoo.regularisers.base import Regulariser
from ganzoo.regularisers.consistency import BalancedConsistency

__all__ = ["Regulariser"]
__all__ += ["BalancedConsistency"]
