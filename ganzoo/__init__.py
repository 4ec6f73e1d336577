"""ganzoo: a PyTorch Lightning GAN library with a model zoo.

The public API is what this module re-exports; nothing else is promised.
"""
from ganzoo.callbacks import DistributionMonitor, GANCheckpoint, MaxGeneratorSteps
from ganzoo.data import Gaussian1D, GaussianMixture2D, Grid2D, Ring2D, SyntheticDataModule
from ganzoo.errors import ConfigError
from ganzoo.losses import LOSSES, GANLoss, get_loss
from ganzoo.metrics import gaussian_1d_metrics, mode_coverage
from ganzoo.modules import GANModule, VanillaGAN
from ganzoo.nets import MLPDiscriminator, MLPGenerator
from ganzoo.priors import PRIORS
from ganzoo.registry import create_gan, list_gans

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DistributionMonitor",
    "GANCheckpoint",
    "GANLoss",
    "GANModule",
    "Gaussian1D",
    "GaussianMixture2D",
    "Grid2D",
    "LOSSES",
    "MLPDiscriminator",
    "MLPGenerator",
    "MaxGeneratorSteps",
    "PRIORS",
    "Ring2D",
    "SyntheticDataModule",
    "VanillaGAN",
    "create_gan",
    "gaussian_1d_metrics",
    "get_loss",
    "list_gans",
    "mode_coverage",
]
