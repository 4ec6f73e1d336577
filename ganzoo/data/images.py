"""Image LightningDataModules: torchvision sets, any folder of images, scikit-learn's digits.

Every module yields batches ``(images, labels)``: images float32 in [-1, 1], shape
``(N, C, H, W)``; labels int64, shape ``(N,)``. ``image_shape``, ``data_shape`` (the
same ``(C, H, W)``) and ``num_classes`` are set by ``__init__``, before ``setup``, so
the CLI can link them into a model. Their common base, :class:`ImageDataModule`, and
its datasets live in :mod:`ganzoo.data.image_base`.

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
from torch import Tensor
from torchvision import transforms

from ganzoo.data.image_base import (  # noqa: F401 - ImageDataModule, check_image_files and _LabelledImages: re-exported
    IMAGE_EXTENSIONS,
    ImageDataModule,
    _fraction,
    _ImageFiles,
    _LabelledImages,
    _optional_size,
    _reason,
    _resize,
    _split,
    check_image_files,
)
from ganzoo.errors import ConfigError, check_positive_int


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
