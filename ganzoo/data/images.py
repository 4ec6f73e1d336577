"""Image LightningDataModules: torchvision sets, any folder of images, scikit-learn's digits.

Every module yields batches ``(images, labels)``: images float32 in [-1, 1], shape
``(N, C, H, W)``; labels int64, shape ``(N,)``. ``image_shape``, ``data_shape`` (the
same ``(C, H, W)``) and ``num_classes`` are set by ``__init__``, before ``setup``, so
the CLI can link them into a model.

GAN training never fits a held-out split: validation and test batches serve to
monitor D on real images it has not trained on. So the torchvision modules use the
official test split for both, and the others one seeded held-out fraction for both.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
import torchvision
from lightning.pytorch import LightningDataModule
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
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


class _TorchvisionDataModule(ImageDataModule):
    """A torchvision dataset held in memory as uint8 ``(N, C, H, W)``, resized once in ``setup``.

    Train is the official train split; val and test are both the official test split.
    """

    dataset_class: type = None
    #: ``(C, H, W)`` of the stored images.
    native_shape: tuple[int, int, int] = ()
    #: the file whose absence the error names, relative to ``data_dir``.
    expected_file: str = ""

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 128,
        image_size: Optional[int] = None,
        num_workers: int = 0,
        download: bool = False,
        subset: Optional[float] = None,
        subset_seed: int = 0,
        classes: Optional[list[int]] = None,
        on_device: bool = False,
    ):
        super().__init__(batch_size, num_workers, subset, subset_seed, classes, on_device)
        _optional_size("image_size", image_size, "image_size=32")
        self.data_dir = data_dir
        self.image_size = image_size
        self.download = download
        channels, height, width = self.native_shape
        self.image_shape = (channels, image_size, image_size) if image_size else (channels, height, width)
        self._set_num_classes(10)

    def _dataset(self, train: bool):
        root = os.path.abspath(os.path.expanduser(self.data_dir))
        try:
            return self.dataset_class(self.data_dir, train=train, download=self.download)
        except RuntimeError as err:
            if "Dataset not found" not in str(err):
                raise
            raise ConfigError(
                f"{self.dataset_class.__name__} not found under {root!r} "
                f"(expected {os.path.join(root, self.expected_file)}); "
                "put the files there or pass --data.download true (needs internet)"
            ) from None
        except Exception as err:  # torchvision asserts on a file that is not in its format
            raise ConfigError(
                f"{self.dataset_class.__name__} file {self._unreadable_file(root)!r} is corrupt or not in the "
                f"dataset's format ({_reason(err)}); delete it and download it again"
            ) from None

    def _unreadable_file(self, root: str) -> str:
        """The first raw file of an MNIST-like dataset that does not read, else the dataset's folder."""
        from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

        folder = os.path.join(root, os.path.dirname(self.expected_file))
        for name, _ in getattr(self.dataset_class, "resources", []):
            path = os.path.join(folder, os.path.splitext(os.path.basename(name))[0])
            try:
                read_sn3_pascalvincent_tensor(path, strict=False)
            except Exception:
                return path
        return folder

    def prepare_data(self) -> None:
        """Downloads both splits when ``download`` is true; fails in one line when they are missing."""
        self._dataset(train=True)
        self._dataset(train=False)

    def setup(self, stage: Optional[str] = None) -> None:
        if self.splits:
            return
        train, test = self._tensors(train=True), self._tensors(train=False)
        self._set_splits(train, test, test)

    def _tensors(self, train: bool) -> _LabelledImages:
        dataset = self._dataset(train)
        images = torch.as_tensor(dataset.data)
        images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2)
        if self.image_size:
            images = _resize(images, self.image_size)
        return _LabelledImages(images.contiguous(), torch.as_tensor(dataset.targets))


class MNISTDataModule(_TorchvisionDataModule):
    """MNIST handwritten digits: 60,000 train, 10,000 val/test (the official test split).

    Images ``(N, 1, 28, 28)`` (or ``image_size`` square) in [-1, 1]; labels 0..9.

    Args:
        data_dir: folder holding ``MNIST/raw/`` (torchvision layout).
        batch_size: images per batch.
        image_size: resize to ``image_size`` x ``image_size`` once in ``setup``; None keeps 28.
        num_workers: DataLoader worker processes.
        download: download into ``data_dir`` in ``prepare_data`` (needs internet).
        subset: train on a seeded part of the training split, a fraction in (0, 1) or a
            count; see :class:`ImageDataModule`.
        subset_seed: seed of the subset's draw.
        classes: keep only these labels, renumbered 0..K-1 in this order.
    """

    dataset_class = torchvision.datasets.MNIST
    native_shape = (1, 28, 28)
    expected_file = os.path.join("MNIST", "raw", "train-images-idx3-ubyte")


class FashionMNISTDataModule(_TorchvisionDataModule):
    """Fashion-MNIST clothing images: 60,000 train, 10,000 val/test (the official test split).

    Images ``(N, 1, 28, 28)`` (or ``image_size`` square) in [-1, 1]; labels 0..9.

    Args:
        data_dir: folder holding ``FashionMNIST/raw/`` (torchvision layout).
        batch_size: images per batch.
        image_size: resize to ``image_size`` x ``image_size`` once in ``setup``; None keeps 28.
        num_workers: DataLoader worker processes.
        download: download into ``data_dir`` in ``prepare_data`` (needs internet).
        subset: train on a seeded part of the training split, a fraction in (0, 1) or a
            count; see :class:`ImageDataModule`.
        subset_seed: seed of the subset's draw.
        classes: keep only these labels, renumbered 0..K-1 in this order.
    """

    dataset_class = torchvision.datasets.FashionMNIST
    native_shape = (1, 28, 28)
    expected_file = os.path.join("FashionMNIST", "raw", "train-images-idx3-ubyte")


class CIFAR10DataModule(_TorchvisionDataModule):
    """CIFAR-10 colour images: 50,000 train, 10,000 val/test (the official test split).

    Images ``(N, 3, 32, 32)`` (or ``image_size`` square) in [-1, 1]; labels 0..9.

    Args:
        data_dir: folder holding ``cifar-10-batches-py/`` (torchvision layout).
        batch_size: images per batch.
        image_size: resize to ``image_size`` x ``image_size`` once in ``setup``; None keeps 32.
        num_workers: DataLoader worker processes.
        download: download into ``data_dir`` in ``prepare_data`` (needs internet).
        subset: train on a seeded part of the training split, a fraction in (0, 1) or a
            count; see :class:`ImageDataModule`.
        subset_seed: seed of the subset's draw.
        classes: keep only these labels, renumbered 0..K-1 in this order.
    """

    dataset_class = torchvision.datasets.CIFAR10
    native_shape = (3, 32, 32)
    expected_file = os.path.join("cifar-10-batches-py", "data_batch_1")


def _scan_images(root: Path) -> list[Path]:
    """Image files under root, recursively, sorted; a one-line error when there are none."""
    if not root.is_dir():
        raise ConfigError(f"image folder {str(root)!r} does not exist; data_dir must be a folder of image files")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise ConfigError(
            f"no images under {str(root)!r}; data_dir must hold {', '.join(IMAGE_EXTENSIONS)} files "
            "(directly or in one subfolder per class)"
        )
    return files


class ImageFolderDataModule(ImageDataModule):
    """Any folder of images (e.g. CelebA's ``img_align_celeba``), read with PIL per item.

    Images are found recursively (.png .jpg .jpeg .bmp .webp, any case). When every one
    lies in an immediate subfolder of ``data_dir``, the sorted subfolder names are the
    classes (labels 0..K-1); otherwise ``num_classes`` is 0 and every label 0. A seeded
    ``val_fraction`` of the images is held out as val and test (the same images).

    Batches: images ``(N, channels, image_size, image_size)`` in [-1, 1]; labels ``(N,)``.

    Args:
        data_dir: the folder of images.
        batch_size: images per batch.
        image_size: side of the square output images.
        channels: 1 (grayscale) or 3 (RGB).
        crop_size: centre-crop this square first, then resize to ``image_size``; None
            resizes the shorter side to ``image_size``, then centre-crops (DCGAN's CelebA recipe).
        val_fraction: fraction of the images held out, in [0, 1).
        seed: seed of the held-out draw.
        num_workers: DataLoader worker processes.
        subset: train on a seeded part of the training split, a fraction in (0, 1) or a
            count; see :class:`ImageDataModule`.
        subset_seed: seed of the subset's draw.
        classes: keep only these labels, renumbered 0..K-1 in this order (a subfolder's label is its index in sorted order).
    """

    def __init__(
        self,
        data_dir: str,
        batch_size: int = 128,
        image_size: int = 64,
        channels: int = 3,
        crop_size: Optional[int] = None,
        val_fraction: float = 0.01,
        seed: int = 0,
        num_workers: int = 0,
        subset: Optional[float] = None,
        subset_seed: int = 0,
        classes: Optional[list[int]] = None,
    ):
        super().__init__(batch_size, num_workers, subset, subset_seed, classes)
        check_positive_int("image_size", image_size, "image_size=64")
        _optional_size("crop_size", crop_size, "crop_size=108")
        _fraction("val_fraction", val_fraction, "val_fraction=0.01")
        if channels not in (1, 3) or isinstance(channels, bool):
            raise ConfigError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}; e.g. channels=3")
        self.data_dir = data_dir
        self.image_size = image_size
        self.channels = channels
        self.crop_size = crop_size
        self.val_fraction = val_fraction
        self.seed = seed
        self.image_shape = (channels, image_size, image_size)
        root = Path(data_dir).expanduser()
        self.files = _scan_images(root)
        self.classes, self.labels = self._classes(root, self.files)
        self._set_num_classes(len(self.classes))
        if self.class_filter is not None:  # the kept subfolders, in their new label order
            self.classes = [self.classes[c] for c in self.class_filter]

    @staticmethod
    def _classes(root: Path, files: list[Path]) -> tuple[list[str], list[int]]:
        """Subfolder classes and per-file labels; ``([], zeros)`` unless every file is in a subfolder."""
        if not all(len(f.relative_to(root).parts) == 2 for f in files):
            return [], [0] * len(files)
        classes = sorted({f.parent.name for f in files})
        index = {name: label for label, name in enumerate(classes)}
        return classes, [index[f.parent.name] for f in files]

    def transform(self) -> transforms.Compose:
        """PIL image -> PIL image ``image_size`` x ``image_size`` (crop then resize, or resize then crop)."""
        size = self.image_size
        if self.crop_size is None:
            steps = [transforms.Resize(size), transforms.CenterCrop(size)]
        else:
            steps = [transforms.CenterCrop(self.crop_size), transforms.Resize((size, size))]
        return transforms.Compose(steps)

    def setup(self, stage: Optional[str] = None) -> None:
        if self.splits:
            return
        check_image_files(self.files)
        train, val = _split(len(self.files), self.val_fraction, self.seed)
        mode = "L" if self.channels == 1 else "RGB"

        def subset(indices: Tensor) -> _ImageFiles:
            idx = indices.tolist()
            return _ImageFiles([self.files[i] for i in idx], [self.labels[i] for i in idx], self.transform(), mode)

        held_out = subset(val)
        self._set_splits(subset(train), held_out, held_out)


class DigitsDataModule(ImageDataModule):
    """scikit-learn's real 8x8 handwritten digits (1,797 images, UCI), held in memory; works offline.

    Pixel values 0..16 are scaled to [-1, 1]. A seeded ``val_fraction`` is held out as
    val and test (the same images). Batches: images ``(N, 1, S, S)`` with S = 8 or
    ``image_size``, in [-1, 1]; labels 0..9.

    Args:
        batch_size: images per batch.
        image_size: resize to ``image_size`` x ``image_size`` (bilinear) once; None keeps 8.
        val_fraction: fraction of the images held out, in [0, 1).
        seed: seed of the held-out draw.
        num_workers: DataLoader worker processes.
        subset: train on a seeded part of the training split, a fraction in (0, 1) or a
            count; see :class:`ImageDataModule`.
        subset_seed: seed of the subset's draw.
        classes: keep only these labels, renumbered 0..K-1 in this order.
            :meth:`evaluate`'s classifier is fitted on every training digit whatever
            ``subset`` and ``classes`` keep, so its metrics stay comparable.
        on_device: gather training batches by index on the trainer's device; see :class:`ImageDataModule`.
    """

    def __init__(
        self,
        batch_size: int = 128,
        image_size: Optional[int] = None,
        val_fraction: float = 0.1,
        seed: int = 0,
        num_workers: int = 0,
        subset: Optional[float] = None,
        subset_seed: int = 0,
        classes: Optional[list[int]] = None,
        on_device: bool = False,
    ):
        super().__init__(batch_size, num_workers, subset, subset_seed, classes, on_device)
        _optional_size("image_size", image_size, "image_size=16")
        _fraction("val_fraction", val_fraction, "val_fraction=0.1")
        self.image_size = image_size
        self.val_fraction = val_fraction
        self.seed = seed
        side = image_size or 8
        self.image_shape = (1, side, side)
        self._set_num_classes(10)

    #: generated samples :meth:`evaluate` sees at each validation.
    num_eval_samples: int = 1000

    def evaluate(self, samples: Tensor) -> dict[str, float]:
        """Classifier metrics of generated digits ``(N, 1, S, S)`` in [-1, 1].

        A small MLP fitted on the training split's 8x8 pixels (97.8% accuracy on the
        180 held-out digits of the default split) classifies the samples, brought back to 8x8; see
        :func:`ganzoo.metrics.classifier_metrics` for ``classifier_score`` (at most 10),
        ``confidence``, ``classes_covered`` and ``class_kl``. :meth:`target_metrics`
        gives the same for the held-out real digits.
        """
        from ganzoo.metrics.classifier import classifier_metrics

        pixels = samples.detach().float().cpu().clamp(-1, 1).add(1).div(2)
        if pixels.shape[-1] != 8:
            pixels = F.interpolate(pixels, size=(8, 8), mode="bilinear", antialias=True, align_corners=False)
        return classifier_metrics(self._classifier().predict_proba(pixels.reshape(len(pixels), 64).numpy()))

    def target_metrics(self) -> dict[str, float]:
        """:meth:`evaluate` of the held-out real digits, at this module's image size."""
        self.setup("fit")
        return self.evaluate(self.splits["val"].images)

    def _classifier(self):
        if getattr(self, "_mlp", None) is None:
            from sklearn.neural_network import MLPClassifier
            from threadpoolctl import threadpool_limits

            self.setup("fit")
            # the original 8x8 pixels in [0, 1] of every training digit (whatever subset and classes keep)
            self._mlp = MLPClassifier((128,), max_iter=500, random_state=0)
            # One BLAS thread: 500 Adam epochs amplify the rounding of a multi-threaded matmul, and the
            # fitted classifier (so every metric) would depend on the machine's thread count.
            with threadpool_limits(limits=1):
                self._mlp.fit(self._pixels_8x8[self._train_index].numpy(), self._train_labels.numpy())
        return self._mlp

    def setup(self, stage: Optional[str] = None) -> None:
        if self.splits:
            return
        from sklearn.datasets import load_digits  # imported here: it adds ~1 s to `import ganzoo`

        digits = load_digits()
        images = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16
        self._pixels_8x8 = images.reshape(len(images), 64)
        if self.image_size:
            images = _resize(images, self.image_size).clamp(0, 1)
        images, labels = images * 2 - 1, torch.as_tensor(digits.target, dtype=torch.int64)
        train, val = _split(len(labels), self.val_fraction, self.seed)
        self._train_index, self._train_labels = train, labels[train]
        held_out = _LabelledImages(images[val], labels[val])
        self._set_splits(_LabelledImages(images[train], labels[train]), held_out, held_out)
