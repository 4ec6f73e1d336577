"""Augmentations of what D sees in training, switched on by the model's ``augmentation`` argument."""
from ganzoo.augmentation.base import Augmentation

__all__ = ["Augmentation"]
