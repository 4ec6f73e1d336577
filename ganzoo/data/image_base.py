"""What every image datamodule shares: :class:`ImageDataModule` (splits, subsets, class filters,
loaders) and the datasets behind it (images held in memory, image files read per item).

The datamodules themselves, torchvision's sets, any folder of images and scikit-learn's
digits, are :mod:`ganzoo.data.images`'; it re-exports this module's public names.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningDataModule
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import pil_to_tensor

from ganzoo.data import subsets
from ganzoo.data.resumable import training_loader
from ganzoo.errors import ConfigError, check_nonnegative_int, check_number, check_positive_int

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def _optional_size(name: str, value, example: str) -> None:
    if value is not None:
        check_positive_int(name, value, example)


def _fraction(name: str, value, example: str) -> None:
    check_number(name, value, example, low=0, high=1, high_open=True)


def _resize(images: Tensor, size: int, chunk: int = 4096) -> Tensor:
    """Resizes ``(N, C, H, W)`` images to ``(N, C, size, size)``, bilinear with antialiasing.

    uint8 images come back as rounded uint8; float images as floats. Chunks bound memory.
    """
    out = []
    for part in images.split(chunk):
        resized = F.interpolate(part.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out.append(resized.round().clamp(0, 255).to(torch.uint8) if images.dtype == torch.uint8 else resized)
    return torch.cat(out)


def _split(n: int, val_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Seeded indices ``(train, val)`` of n items; val holds ``round(n * val_fraction)`` (at least 1 if > 0)."""
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[n_val:], order[:n_val]


class _LabelledImages(Dataset):
    """Images ``(N, C, H, W)`` with labels ``(N,)``; uint8 images are scaled to [-1, 1] per item.

    Float images are returned as they are (already in [-1, 1]).
    """

    def __init__(self, images: Tensor, labels: Tensor):
        self.images = images
        self.labels = labels.to(torch.int64)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        image = self.images[index]
        if image.dtype == torch.uint8:
            image = image.float() / 127.5 - 1
        return image, self.labels[index]

    def to(self, device: torch.device) -> "_LabelledImages":
        """The same images and labels on ``device`` (``on_device``)."""
        return _LabelledImages(self.images.to(device), self.labels.to(device))

    def gather(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """The batch at ``indices`` ``(N,)``, as ``__getitem__`` and collate make it: images ``(N, C, H, W)``, labels ``(N,)``."""
        images = self.images[indices]
        if images.dtype == torch.uint8:
            images = images.float() / 127.5 - 1
        return images, self.labels[indices]

    def select(self, indices: Tensor, relabel: Optional[Tensor] = None) -> "_LabelledImages":
        """The items at ``indices`` ``(M,)``, their labels mapped through ``relabel`` when given."""
        labels = self.labels[indices]
        return _LabelledImages(self.images[indices], labels if relabel is None else relabel[labels])


class _ImageFiles(Dataset):
    """Image files read with PIL per item: ``(C, S, S)`` in [-1, 1] and an int label."""

    def __init__(self, files: list[Path], labels: list[int], transform, mode: str):
        self.files = files
        self.labels = labels
        self.transform = transform
        self.mode = mode

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        try:
            with Image.open(self.files[index]) as image:
                image = self.transform(image.convert(self.mode))
        except (OSError, SyntaxError, ValueError) as err:  # PIL's errors for truncated or damaged data
            raise ConfigError(
                f"image file '{self.files[index]}' cannot be decoded ({_reason(err)}); remove or replace it "
                "(setup checks every file's header, the damage lies past it) and resume from the last checkpoint"
            ) from None
        return pil_to_tensor(image).float() / 127.5 - 1, self.labels[index]

    def select(self, indices: Tensor, relabel: Optional[Tensor] = None) -> "_ImageFiles":
        """The files at ``indices`` ``(M,)``, their labels mapped through ``relabel`` when given."""
        idx = indices.tolist()
        labels = [self.labels[i] for i in idx]
        labels = labels if relabel is None else relabel[torch.as_tensor(labels, dtype=torch.int64)].tolist()
        return _ImageFiles([self.files[i] for i in idx], labels, self.transform, self.mode)


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def check_image_files(files: list[Path]) -> None:
    """Fails with one line naming the first file that is empty, not an image, or fails PIL's ``verify``.

    ``verify`` reads the header and, for PNG, checks every chunk's checksum without
    decompressing: about 0.03 ms a JPEG and 0.1 ms a PNG (a fifth of a decode), so some
    20 s for CelebA's 200,000 files. Damage that only decoding shows (a truncated JPEG)
    stops training with one line naming the file (:class:`_ImageFiles`).
    """
    for path in files:
        try:
            if path.stat().st_size == 0:
                raise OSError("the file is empty")
            with Image.open(path) as image:
                image.verify()
        except (OSError, SyntaxError, ValueError) as err:
            raise ConfigError(
                f"image file '{path}' cannot be read ({_reason(err)}); remove or replace it, "
                f"or move it out of data_dir ({len(files)} image files there)"
            ) from None


class ImageDataModule(LightningDataModule):
    """Base of the image datamodules: loaders over ``splits``, which subclasses fill in ``setup``.

    Batches are ``(images, labels)``: images float32 in [-1, 1], shape ``(N, C, H, W)``;
    labels int64, shape ``(N,)``. Training batches are shuffled and full (``drop_last``);
    validation, test and predict batches are in order.

    Every image datamodule takes a training subset and a class filter (see
    :mod:`ganzoo.data.subsets`): ``classes`` keeps the listed classes in every split and
    renumbers them 0..K-1 in the order given (``num_classes`` becomes K); ``subset`` then
    keeps a seeded draw of the training split only (val and test stay whole).

    Args:
        batch_size: images per batch.
        num_workers: DataLoader worker processes (0 loads in the main process).
        subset: train on part of the training split: a fraction in (0, 1) or a count >= 1
            (``600``); ``None`` trains on all of it.
        subset_seed: seed of the subset's draw: the same seed keeps the same images, and a
            smaller subset is part of a larger one of the same seed.
        classes: keep only these labels, renumbered 0..K-1 in this order (``[3, 7]``: digit 3
            is label 0, digit 7 label 1); ``None`` keeps every class.
        on_device: hold the training images on the trainer's device and gather each batch there by
            index, without a DataLoader (:class:`~ganzoo.data.resumable.IndexedBatches`: the same
            batches in the same order); for the sets held in memory (not ImageFolderDataModule).
    """

    #: ``(C, H, W)`` of one image, set by ``__init__``.
    image_shape: tuple[int, int, int] = ()
    #: number of classes (0 when the images are unlabelled and every label is 0).
    num_classes: int = 0

    def __init__(
        self,
        batch_size: int = 128,
        num_workers: int = 0,
        subset: Optional[float] = None,
        subset_seed: int = 0,
        classes: Optional[list[int]] = None,
        on_device: bool = False,
    ):
        super().__init__()
        # the subclass's arguments too; checkpoints record them, so `ganzoo evaluate` can rebuild the data
        self.save_hyperparameters(logger=False)
        check_positive_int("batch_size", batch_size, "batch_size=128")
        check_nonnegative_int("num_workers", num_workers, "num_workers=4")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.on_device = bool(on_device)
        self.subset = subsets.check_subset(subset)
        self.subset_seed = check_nonnegative_int("subset_seed", subset_seed, "subset_seed=0")
        #: the ``classes`` argument: labels kept, in the order that renumbers them (set by :meth:`_set_num_classes`).
        self.class_filter: Optional[list[int]] = None
        self._requested_classes = classes
        #: indices into the full training split of the images trained on, once set up with a subset or a class filter.
        self.train_indices: Optional[Tensor] = None
        self.splits: dict[str, Dataset] = {}

    def _set_num_classes(self, total: int) -> None:
        """``num_classes`` from the dataset's ``total`` classes and ``classes`` (checked here, one line)."""
        self.class_filter = subsets.check_classes(self._requested_classes, total, type(self).__name__)
        self._total_classes = total
        self.num_classes = len(self.class_filter) if self.class_filter is not None else total

    @property
    def data_shape(self) -> tuple[int, int, int]:
        """The shape of one sample, ``image_shape``; ``GANModule`` checks its networks against it."""
        return tuple(self.image_shape)

    def _set_splits(self, train: Dataset, val: Dataset, test: Dataset) -> None:
        """The splits after the class filter (all of them) and the subset (training only)."""
        train, held_out = self._select(train, val, test)
        if len(train) < self.batch_size:
            chosen = " chosen by subset and classes" if self.train_indices is not None else ""
            raise ConfigError(
                f"batch_size {self.batch_size} is larger than the {len(train)} training images{chosen} of "
                f"{type(self).__name__}; lower batch_size"
            )
        self.splits = {"train": train, **held_out}

    def _select(self, train, val, test) -> tuple[Dataset, dict[str, Dataset]]:
        """Applies ``classes`` and ``subset``; val and test are often one dataset, filtered once."""
        if self._requested_classes is not None and not hasattr(self, "_total_classes"):
            self._set_num_classes(self.num_classes)  # a subclass of ours that set num_classes itself
        if self.class_filter is None and self.subset is None:
            return train, {"val": val, "test": test}
        relabel = None
        candidates = torch.arange(len(train))
        held_out = {"val": val, "test": test}
        if self.class_filter is not None:
            relabel = subsets.relabelling(self.class_filter, self._total_classes)
            candidates = candidates[relabel[torch.as_tensor(train.labels, dtype=torch.int64)] >= 0]
            kept = {key: d.select(torch.nonzero(relabel[torch.as_tensor(d.labels)] >= 0).reshape(-1), relabel)
                    for key, d in {id(val): val, id(test): test}.items()}  # fmt: skip
            held_out = {"val": kept[id(val)], "test": kept[id(test)]}
        if self.subset is not None:
            candidates = subsets.subset_indices(candidates, self.subset, self.subset_seed, type(self).__name__)
        self.train_indices = candidates
        return train.select(candidates, relabel), held_out

    def _loader_options(self) -> dict:
        return {
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
            "pin_memory": torch.cuda.is_available(),
        }

    def _loader(self, split: str) -> DataLoader:
        return DataLoader(self.splits[split], batch_size=self.batch_size, **self._loader_options())

    def train_dataloader(self) -> DataLoader:
        """Shuffled full batches, each epoch's order fixed by the seed, resumable mid-epoch (:mod:`ganzoo.data.resumable`)."""
        return training_loader(self.splits["train"], self.batch_size, self.trainer, self.on_device, **self._loader_options())

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        """The validation batches: ``predict`` generates as many samples as they hold."""
        return self._loader("val")
