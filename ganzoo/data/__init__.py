"""LightningDataModules."""
from ganzoo.data.images import (
    CIFAR10DataModule,
    DigitsDataModule,
    FashionMNISTDataModule,
    ImageDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
)
from ganzoo.data.stacked import StackedMNISTDataModule
from ganzoo.data.synthetic import Gaussian1D, GaussianMixture2D, Grid2D, Ring2D, SyntheticDataModule

__all__ = [
    "CIFAR10DataModule",
    "DigitsDataModule",
    "FashionMNISTDataModule",
    "Gaussian1D",
    "GaussianMixture2D",
    "Grid2D",
    "ImageDataModule",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "Ring2D",
    "StackedMNISTDataModule",
    "SyntheticDataModule",
]
