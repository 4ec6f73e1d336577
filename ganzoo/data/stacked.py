"""Stacked MNIST: three MNIST digits in the R, G and B channels, 1,000 modes.

The mode-collapse benchmark of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
2018): a sample's class is ``100 d_R + 10 d_G + d_B``, and a GAN that covers the data
produces all 1,000 about equally often; see :func:`ganzoo.metrics.domain.stacked_mnist_modes`.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ganzoo.data.images import ImageDataModule, MNISTDataModule, _LabelledImages
from ganzoo.errors import check_positive_int


def stack_digits(images: Tensor, labels: Tensor, count: int, seed: int) -> _LabelledImages:
    """``count`` seeded triples of digits, one independent draw per channel.

    Args:
        images: single digits, uint8 ``(M, 1, S, S)``.
        labels: their digits 0..9, ``(M,)``.
        count: number of stacked images to make.
        seed: seed of the draw (with replacement).

    Returns:
        Images uint8 ``(count, 3, S, S)`` (scaled to [-1, 1] per item) with labels
        ``100 d_R + 10 d_G + d_B`` in 0..999.
    """
    index = torch.randint(0, len(labels), (count, 3), generator=torch.Generator().manual_seed(seed))
    stacked = images[index.reshape(-1), 0].reshape(count, 3, *images.shape[2:])
    digits = labels[index]
    return _LabelledImages(stacked, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])


class StackedMNISTDataModule(ImageDataModule):
    """Stacked MNIST built once in ``setup``, held in memory as uint8 (60,000 at 28 px: 141 MB).

    Training images stack digits of MNIST's train split; val and test (the same images)
    stack digits of the official test split, drawn with another seed. Batches: images
    ``(N, 3, S, S)`` in [-1, 1] with S = 28 or ``image_size``; labels 0..999.

    Args:
        data_dir: folder holding ``MNIST/raw/`` (torchvision layout).
        batch_size: images per batch.
        image_size: resize the digits to ``image_size`` x ``image_size``; None keeps 28.
        num_train: stacked training images.
        num_val: stacked val/test images.
        seed: seed of the draws: the same seed gives the same images.
        num_workers: DataLoader worker processes.
        download: download MNIST into ``data_dir`` in ``prepare_data`` (needs internet).
        subset: draw the training triples from part of MNIST's training digits only: a
            fraction in (0, 1) or a count (see :class:`~ganzoo.ImageDataModule`); val and
            test draw from the whole test split.
        subset_seed: seed of that part's draw.
        on_device: gather training batches by index on the trainer's device; see :class:`~ganzoo.ImageDataModule`.
    """

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 64,
        image_size: Optional[int] = None,
        num_train: int = 60_000,
        num_val: int = 10_000,
        seed: int = 0,
        num_workers: int = 0,
        download: bool = False,
        subset: Optional[float] = None,
        subset_seed: int = 0,
        on_device: bool = False,
    ):
        super().__init__(batch_size=batch_size, num_workers=num_workers, on_device=on_device)
        check_positive_int("num_train", num_train, "num_train=60000")
        check_positive_int("num_val", num_val, "num_val=10000")
        # the pool of single digits; a batch of 1 so a small subset of digits still makes many triples
        self.mnist = MNISTDataModule(data_dir=data_dir, batch_size=1, image_size=image_size, download=download,
                                     subset=subset, subset_seed=subset_seed)
        self.num_train = num_train
        self.num_val = num_val
        self.seed = seed
        self.image_shape = (3, *self.mnist.image_shape[1:])
        self.num_classes = 1000

    def prepare_data(self) -> None:
        """Downloads MNIST when ``download`` is true; fails in one line when it is missing."""
        self.mnist.prepare_data()

    def setup(self, stage: Optional[str] = None) -> None:
        if self.splits:
            return
        self.mnist.setup()
        train, test = self.mnist.splits["train"], self.mnist.splits["val"]
        # distinct seeds: val must not repeat the training triples' draw pattern
        held_out = stack_digits(test.images, test.labels, self.num_val, self.seed + 1)
        self._set_splits(stack_digits(train.images, train.labels, self.num_train, self.seed), held_out, held_out)
