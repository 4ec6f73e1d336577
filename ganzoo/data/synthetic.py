"""Synthetic LightningDataModules with exact ground truth; nothing is downloaded.

Each draws its train, validation and test sets once, from fixed seeds, exposes
``data_shape`` (the shape of one sample) and can score generated samples against
the true distribution through ``evaluate(samples)``.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ganzoo.data.resumable import training_loader
from ganzoo.errors import ConfigError, check_number
from ganzoo.metrics.toy import gaussian_1d_metrics, mode_coverage


class _Samples(Dataset):
    """A tensor of samples ``(N, *S)``, indexed one sample at a time."""

    def __init__(self, samples: Tensor):
        self.samples = samples

    def __len__(self) -> int:
        return self.samples.shape[0]

    def __getitem__(self, index: int) -> Tensor:
        return self.samples[index]

    def to(self, device: torch.device) -> "_Samples":
        """The same samples on ``device`` (``on_device``)."""
        return _Samples(self.samples.to(device))

    def gather(self, indices: Tensor) -> Tensor:
        """The batch at ``indices`` ``(N,)``, shape ``(N, *S)``."""
        return self.samples[indices]


def _positive(name: str, value, example: str) -> float:
    return check_number(name, value, example, low=0, low_open=True)


class SyntheticDataModule(LightningDataModule):
    """Base of the synthetic targets: subclasses define :meth:`sample` and :meth:`evaluate`.

    Args:
        batch_size: samples per batch.
        num_train: size of the training set, drawn once from the target.
        num_val: size of the validation and of the test set.
        seed: seed of the draws (train uses ``seed``, val ``seed + 1``, test ``seed + 2``).
        on_device: hold the training set on the trainer's device and gather each batch there by
            index, without a DataLoader (:class:`~ganzoo.data.resumable.IndexedBatches`: the same batches,
            so the same training); on by default: the toys are small, and it trains the quick start's
            MLPs about 10% faster on a CPU. ``False`` goes through a DataLoader.
    """

    #: how many generated samples :meth:`evaluate` is meant to see.
    num_eval_samples: int = 2500
    data_shape: tuple[int, ...] = ()
    #: unlabelled: the batches are samples alone.
    num_classes: int = 0

    def __init__(
        self, batch_size: int = 256, num_train: int = 50_000, num_val: int = 2_500, seed: int = 0, on_device: bool = True
    ):
        super().__init__()
        self.save_hyperparameters(logger=False)  # with the subclass's arguments; checkpoints record them
        _positive("batch_size", batch_size, "batch_size=256")
        _positive("num_train", num_train, "num_train=50000")
        _positive("num_val", num_val, "num_val=2500")
        if batch_size > num_train:
            raise ConfigError(
                f"batch_size {batch_size} is larger than num_train {num_train}; lower batch_size or raise num_train"
            )
        self.batch_size = batch_size
        self.num_train = num_train
        self.num_val = num_val
        self.seed = seed
        self.on_device = bool(on_device)
        self.splits: dict[str, Tensor] = {}

    def sample(self, n: int, rng: torch.Generator) -> Tensor:
        """Draws n samples of shape ``(n, *data_shape)`` from the target."""
        raise NotImplementedError

    def evaluate(self, samples: Tensor) -> dict[str, float]:
        """Metrics of generated samples ``(N, *data_shape)`` against the target."""
        raise NotImplementedError

    def target_metrics(self) -> dict[str, float]:
        """What :meth:`evaluate` gives, in expectation, for samples of the target itself."""
        raise NotImplementedError

    def setup(self, stage: Optional[str] = None) -> None:
        if self.splits:
            return
        sizes = {"train": self.num_train, "val": self.num_val, "test": self.num_val}
        for offset, (split, n) in enumerate(sizes.items()):
            self.splits[split] = self.sample(n, torch.Generator().manual_seed(self.seed + offset))

    def _loader(self, split: str) -> DataLoader:
        return DataLoader(_Samples(self.splits[split]), batch_size=self.batch_size)

    def train_dataloader(self) -> DataLoader:
        """Shuffled full batches, each epoch's order fixed by the seed, resumable mid-epoch (:mod:`ganzoo.data.resumable`)."""
        return training_loader(_Samples(self.splits["train"]), self.batch_size, self.trainer, self.on_device)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        """Batches whose sizes set how many samples ``predict`` generates (``num_val`` in all)."""
        return self._loader("test")


class Gaussian1D(SyntheticDataModule):
    """The classic first GAN target: N(mean, std^2) in one dimension.

    Args:
        mean: mean of the target.
        std: standard deviation of the target.
        **kwargs: batch and split sizes, seed (see :class:`SyntheticDataModule`).
    """

    num_eval_samples = 10_000
    data_shape = (1,)

    def __init__(self, mean: float = 4.0, std: float = 1.25, **kwargs):
        super().__init__(**kwargs)
        _positive("std", std, "std=1.25")
        self.mean = check_number("mean", mean, "mean=4.0")
        self.std = float(std)

    def sample(self, n: int, rng: torch.Generator) -> Tensor:
        return self.mean + self.std * torch.randn(n, 1, generator=rng)

    def density(self, x: np.ndarray) -> np.ndarray:
        """The target density at points x."""
        return np.exp(-0.5 * ((x - self.mean) / self.std) ** 2) / (self.std * math.sqrt(2 * math.pi))

    def evaluate(self, samples: Tensor) -> dict[str, float]:
        """``mean``, ``std``, ``ks`` and ``w1`` of the samples against N(mean, std^2)."""
        return gaussian_1d_metrics(samples, self.mean, self.std)

    def target_metrics(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std, "ks": 0.0, "w1": 0.0}


class GaussianMixture2D(SyntheticDataModule):
    """An equal-weight mixture of isotropic 2-D Gaussians at given centres.

    Args:
        centres: mode centres, shape ``(K, 2)``.
        std: standard deviation of every mode.
        **kwargs: batch and split sizes, seed (see :class:`SyntheticDataModule`).
    """

    num_eval_samples = 2500
    data_shape = (2,)

    def __init__(self, centres: list[list[float]], std: float, **kwargs):
        super().__init__(**kwargs)
        _positive("std", std, "std=0.05")
        for centre in centres:
            for coordinate in centre:
                check_number("centres", coordinate, "centres=[[0.0, 1.0], [1.0, 0.0]]")
        self.centres = torch.as_tensor(centres, dtype=torch.float32)
        self.std = float(std)

    @property
    def num_modes(self) -> int:
        return self.centres.shape[0]

    def sample(self, n: int, rng: torch.Generator) -> Tensor:
        modes = torch.randint(self.num_modes, (n,), generator=rng)
        return self.centres[modes] + self.std * torch.randn(n, 2, generator=rng)

    def evaluate(self, samples: Tensor) -> dict[str, float]:
        """``modes`` covered, % ``high_quality`` and ``mode_kl`` (VEEGAN/PacGAN protocol)."""
        return mode_coverage(samples, self.centres, self.std)

    def target_metrics(self) -> dict[str, float]:
        # the radius of a 2-D isotropic Gaussian is Rayleigh: P(r <= 3 std) = 1 - exp(-9/2)
        return {"modes": float(self.num_modes), "high_quality": 100 * (1 - math.exp(-4.5)), "mode_kl": 0.0}


class Ring2D(GaussianMixture2D):
    """``num_modes`` Gaussians evenly spaced on a circle (8 on radius 1, std 0.01 by default).

    Args:
        num_modes: number of modes on the circle.
        radius: radius of the circle.
        std: standard deviation of every mode.
        **kwargs: batch and split sizes, seed (see :class:`SyntheticDataModule`).
    """

    def __init__(self, num_modes: int = 8, radius: float = 1.0, std: float = 0.01, **kwargs):
        _positive("num_modes", num_modes, "num_modes=8")
        _positive("radius", radius, "radius=1.0")
        # 2*pi*k/K for k < K: linspace(0, 2*pi, K) would put the first and last mode on the same point.
        angles = 2 * math.pi * torch.arange(num_modes, dtype=torch.float64) / num_modes
        centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
        super().__init__(centres=centres.tolist(), std=std, **kwargs)


class Grid2D(GaussianMixture2D):
    """A ``size`` x ``size`` grid of Gaussians (25 at {-4, -2, 0, 2, 4}^2, std 0.05, by default).

    Args:
        size: modes per side.
        spacing: distance between neighbouring modes.
        std: standard deviation of every mode.
        **kwargs: batch and split sizes, seed (see :class:`SyntheticDataModule`).
    """

    def __init__(self, size: int = 5, spacing: float = 2.0, std: float = 0.05, **kwargs):
        _positive("size", size, "size=5")
        _positive("spacing", spacing, "spacing=2.0")
        axis = (torch.arange(size, dtype=torch.float64) - (size - 1) / 2) * spacing
        centres = torch.cartesian_prod(axis, axis)
        super().__init__(centres=centres.tolist(), std=std, **kwargs)
