"""ganzoo: a PyTorch Lightning GAN library with a model zoo.

The public API is what this module re-exports; nothing else is promised.
"""
from ganzoo.augmentation import AdaptiveAugment, DiffAugment
from ganzoo.callbacks import (
    DistributionMonitor,
    GANCheckpoint,
    GANProgressBar,
    ImageMetrics,
    MaxGeneratorSteps,
    RunReport,
    SampleGrid,
)
from ganzoo.data import (
    CIFAR10DataModule,
    DigitsDataModule,
    FashionMNISTDataModule,
    Gaussian1D,
    GaussianMixture2D,
    Grid2D,
    ImageDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
    Ring2D,
    StackedMNISTDataModule,
    SyntheticDataModule,
)
from ganzoo.errors import ConfigError
from ganzoo.losses import LOSSES, GANLoss, get_loss
from ganzoo.loggers import TensorBoardLogger, WandbLogger
from ganzoo.metrics import ImageEvaluator, gaussian_1d_metrics, mode_coverage
from ganzoo.metrics.prdc import precision_recall_density_coverage
from ganzoo.modules import ACGAN, DCGAN, ConditionalGAN, DiscriminatorStep, GANModule, ProjectionGAN, VanillaGAN
from ganzoo.modules import SNGAN
from ganzoo.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from ganzoo.nets import ResNetDiscriminator, ResNetGenerator
from ganzoo.priors import PRIORS
from ganzoo.registry import create_gan, list_gans
from ganzoo.regularisers import R1, R2, BalancedConsistency, LeCam

__version__ = "0.1.0"

__all__ = [
    "ACGAN",
    "AdaptiveAugment",
    "BalancedConsistency",
    "CIFAR10DataModule",
    "ConditionalGAN",
    "ConfigError",
    "DCGAN",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "DigitsDataModule",
    "DiffAugment",
    "DiscriminatorStep",
    "DistributionMonitor",
    "FashionMNISTDataModule",
    "GANCheckpoint",
    "GANLoss",
    "GANModule",
    "GANProgressBar",
    "Gaussian1D",
    "GaussianMixture2D",
    "Grid2D",
    "ImageDataModule",
    "ImageEvaluator",
    "ImageFolderDataModule",
    "ImageMetrics",
    "LOSSES",
    "LeCam",
    "MLPDiscriminator",
    "MLPGenerator",
    "MNISTDataModule",
    "MaxGeneratorSteps",
    "PRIORS",
    "ProjectionGAN",
    "R1",
    "R2",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "Ring2D",
    "RunReport",
    "SNGAN",
    "SampleGrid",
    "StackedMNISTDataModule",
    "SyntheticDataModule",
    "TensorBoardLogger",
    "VanillaGAN",
    "WandbLogger",
    "create_gan",
    "gaussian_1d_metrics",
    "get_loss",
    "list_gans",
    "mode_coverage",
    "precision_recall_density_coverage",
]

# The commands moved to ganzoo.commands; their old module names stay importable as the same modules
# (``from ganzoo.generate import load_generator``, and a monkeypatch there reaches the command).
import sys as _sys  # noqa: E402

from ganzoo.commands import evaluate as _evaluate, generate as _generate, train_classifier as _train_classifier  # noqa: E402

_sys.modules.update({f"ganzoo.{m.__name__.rpartition('.')[2]}": m for m in (_evaluate, _generate, _train_classifier)})
evaluate, generate, train_classifier = _evaluate, _generate, _train_classifier
del _sys, _evaluate, _generate, _train_classifier
