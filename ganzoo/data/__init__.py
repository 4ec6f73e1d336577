"""LightningDataModules."""
from ganzoo.data.synthetic import Gaussian1D, GaussianMixture2D, Grid2D, Ring2D, SyntheticDataModule

__all__ = ["Gaussian1D", "GaussianMixture2D", "Grid2D", "Ring2D", "SyntheticDataModule"]
