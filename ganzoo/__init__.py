"""ganzoo: a PyTorch Lightning GAN library with a model zoo.

The public API is what this module re-exports; nothing else is promised.
"""
import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

#: where each public name lives; ``import ganzoo`` imports none of them (see ``__getattr__``)
_EXPORTS = {
    "ganzoo.augmentation": ("AdaptiveAugment", "DiffAugment"),
    "ganzoo.callbacks": (
        "DistributionMonitor", "GANCheckpoint", "GANProgressBar", "ImageMetrics", "MaxGeneratorSteps", "RunReport",
        "SampleGrid",
    ),
    "ganzoo.data": (
        "CIFAR10DataModule", "DigitsDataModule", "FashionMNISTDataModule", "Gaussian1D", "GaussianMixture2D",
        "Grid2D", "ImageDataModule", "ImageFolderDataModule", "MNISTDataModule", "Ring2D", "StackedMNISTDataModule",
        "SyntheticDataModule",
    ),
    "ganzoo.errors": ("ConfigError",),
    "ganzoo.losses": ("LOSSES", "GANLoss", "get_loss"),
    "ganzoo.loggers": ("TensorBoardLogger", "WandbLogger"),
    "ganzoo.metrics": ("ImageEvaluator", "gaussian_1d_metrics", "mode_coverage", "precision_recall_density_coverage"),
    "ganzoo.modules": (
        "ACGAN", "DCGAN", "ConditionalGAN", "DiscriminatorStep", "GANModule", "ProjectionGAN", "SNGAN", "VanillaGAN",
        "SelfConditionedGAN",
    ),
    "ganzoo.nets": (
        "DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "ResNetDiscriminator",
        "ResNetGenerator",
    ),
    "ganzoo.priors": ("PRIORS",),
    "ganzoo.registry": ("create_gan", "list_gans"),
    "ganzoo.regularisers": ("R1", "R2", "BalancedConsistency", "LeCam"),
}

if _TYPE_CHECKING:  # the same names imported statically, for type checkers and the API pages (griffe reads source)
    from ganzoo.augmentation import AdaptiveAugment, DiffAugment  # noqa: F401
    from ganzoo.callbacks import (  # noqa: F401
        DistributionMonitor, GANCheckpoint, GANProgressBar, ImageMetrics, MaxGeneratorSteps, RunReport, SampleGrid,
    )
    from ganzoo.data import (  # noqa: F401
        CIFAR10DataModule, DigitsDataModule, FashionMNISTDataModule, Gaussian1D, GaussianMixture2D, Grid2D,
        ImageDataModule, ImageFolderDataModule, MNISTDataModule, Ring2D, StackedMNISTDataModule,
        SyntheticDataModule,
    )
    from ganzoo.errors import ConfigError  # noqa: F401
    from ganzoo.losses import LOSSES, GANLoss, get_loss  # noqa: F401
    from ganzoo.loggers import TensorBoardLogger, WandbLogger  # noqa: F401
    from ganzoo.metrics import (  # noqa: F401
        ImageEvaluator, gaussian_1d_metrics, mode_coverage, precision_recall_density_coverage,
    )
    from ganzoo.modules import (  # noqa: F401
        ACGAN, DCGAN, ConditionalGAN, DiscriminatorStep, GANModule, ProjectionGAN, SNGAN, VanillaGAN,
        SelfConditionedGAN,
    )
    from ganzoo.nets import (  # noqa: F401
        DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, ResNetDiscriminator, ResNetGenerator,
    )
    from ganzoo.priors import PRIORS  # noqa: F401
    from ganzoo.registry import create_gan, list_gans  # noqa: F401
    from ganzoo.regularisers import R1, R2, BalancedConsistency, LeCam  # noqa: F401

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
    "SelfConditionedGAN",
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

# The public names are imported on first use (PEP 562), so that `import ganzoo.cli` and
# `ganzoo --help` import no torch or Lightning; `from ganzoo import VanillaGAN` works as before.
# The commands' old module names (``from ganzoo.generate import load_generator``) are the
# modules ganzoo/generate.py, ganzoo/evaluate.py and ganzoo/train_classifier.py, which stand for
# ganzoo.commands.<name> itself (a monkeypatch there reaches the command).
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
_COMMAND_MODULES = ("evaluate", "generate", "train_classifier")


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(_importlib.import_module(_WHERE[name]), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    if name in _COMMAND_MODULES:
        return _importlib.import_module(f"ganzoo.{name}")
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE) | set(_COMMAND_MODULES))


def import_public_api() -> None:
    """Imports every module behind ganzoo's public names, as ``import ganzoo`` once did.

    What needs every class to be imported calls it: the CLI's short class names
    (``--model VanillaGAN``) find subclasses among the imported classes, and a checkpoint's
    classes must be imported before it is loaded (:mod:`ganzoo.checkpoint_loading`).
    """
    for module, names in _EXPORTS.items():
        imported = _importlib.import_module(module)
        # defined here, as `from ... import` did: a checkpoint's class path `ganzoo.VanillaGAN` is looked up in it
        globals().update({name: getattr(imported, name) for name in names})
