"""Augmentations of what D sees in training, switched on by the model's ``augmentation`` argument."""
from ganzoo.augmentation.adaptive import AdaptiveAugment
from ganzoo.augmentation.base import Augmentation
from ganzoo.augmentation.diffaugment import DiffAugment

__all__ = ["AdaptiveAugment", "Augmentation", "DiffAugment"]
