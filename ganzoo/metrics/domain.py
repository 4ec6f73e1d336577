"""The domain evaluator: a small classifier trained on a dataset's own labelled images.

Where ImageNet features say little (digits) or the Inception weights are not at hand,
a :class:`DomainClassifier` trained by ``ganzoo train-classifier`` gives

- features for a Fréchet distance in its feature space: pass
  :meth:`DomainClassifier.feature_extractor` to torchmetrics'
  ``FrechetInceptionDistance(feature=...)``;
- class probabilities for :func:`ganzoo.metrics.classifier.classifier_metrics` (the
  Inception Score formula with this classifier) and :func:`conditional_accuracy`;
- mode counting on Stacked MNIST (:func:`stacked_mnist_modes`; VEEGAN, Srivastava et
  al. 2017; PacGAN, Lin et al. 2018).

Classifiers ship in ``ganzoo/assets/classifiers/``: ``mnist`` (28 px) and ``digits``
(scikit-learn's digits at 16 px). Their files hold only tensors, strings and numbers,
read with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import math
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import ConfigError
from ganzoo.nets.classifier import DigitClassifier

#: where the shipped classifier files lie, ``<name>.pt``.
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "classifiers"
#: names :func:`load_domain_classifier` reads from :data:`ASSETS`.
SHIPPED = ("digits", "mnist")
FORMAT = "ganzoo.domain_classifier/1"
_NET_ARGS = ("image_shape", "num_classes", "width", "feature_dim", "dropout")


def _ganzoo_version() -> str:
    try:
        return metadata.version("ganzoo")
    except metadata.PackageNotFoundError:
        return "unknown"


class DomainClassifier(nn.Module):
    """A trained :class:`~ganzoo.nets.classifier.DigitClassifier` and what it was trained on.

    Always in eval mode and without gradients: a fixed measuring instrument. Every method
    takes images in [-1, 1], float, shape ``(N, C, S, S)`` of any square size S; they are
    resized (bilinear, antialiased) to the size the classifier was trained at, and run
    in batches of ``batch_size`` under ``torch.no_grad()``, on the images' device (move
    the classifier there with ``.to(device)``).

    Args:
        net: the trained network.
        dataset: name of the data it was trained on, e.g. ``"mnist"``.
        test_accuracy: its accuracy on that data's test split, measured after training.
        recipe: how it was trained (command, epochs, optimizer, ...), for the record.
        version: ganzoo version that trained it (default: this one).
        batch_size: images per forward pass.
    """

    def __init__(
        self,
        net: DigitClassifier,
        dataset: str,
        test_accuracy: float = math.nan,
        recipe: Optional[dict[str, Any]] = None,
        version: Optional[str] = None,
        batch_size: int = 1000,
    ):
        super().__init__()
        self.net = net
        self.dataset = dataset
        self.image_shape = tuple(net.image_shape)
        self.num_classes = net.num_classes
        #: F, the size of :meth:`features` (torchmetrics' FID reads it).
        self.num_features = net.feature_dim
        self.test_accuracy = float(test_accuracy)
        self.recipe = dict(recipe or {})
        self.version = version or _ganzoo_version()
        self.batch_size = batch_size
        self.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> "DomainClassifier":
        """Stays in eval mode: BatchNorm and dropout must not change what it measures."""
        return super().train(False)

    def _prepared(self, images: Tensor) -> Tensor:
        """``images`` checked and resized to ``image_shape``."""
        channels, side, _ = self.image_shape
        if images.dim() != 4 or not images.is_floating_point():
            raise ConfigError(
                f"the {self.dataset} classifier takes float images in [-1, 1] of shape (N, C, S, S), got "
                f"{images.dtype} {tuple(images.shape)}; convert bytes with images.float() / 127.5 - 1"
            )
        if images.shape[1] != channels or images.shape[2] != images.shape[3]:
            raise ConfigError(
                f"the {self.dataset} classifier takes square {channels}-channel images, got shape "
                f"{tuple(images.shape)}; pass (N, {channels}, S, S) images (Stacked MNIST: use stacked_mnist_modes)"
            )
        if images.shape[-1] != side:
            images = F.interpolate(images, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        return images

    @torch.no_grad()
    def _batched(self, fn, images: Tensor) -> Tensor:
        return torch.cat([fn(self._prepared(part)) for part in images.split(self.batch_size)])

    def features(self, images: Tensor) -> Tensor:
        """Penultimate features ``(N, F)`` of images ``(N, C, S, S)`` in [-1, 1]."""
        return self._batched(self.net.features, images)

    def forward(self, images: Tensor) -> Tensor:
        """Class logits ``(N, K)`` of images ``(N, C, S, S)`` in [-1, 1]."""
        return self._batched(self.net, images)

    def probs(self, images: Tensor) -> Tensor:
        """Class probabilities ``(N, K)`` (rows sum to 1) of images ``(N, C, S, S)`` in [-1, 1]."""
        return self(images).softmax(dim=1)

    def feature_extractor(self) -> "DomainFeatures":
        """This classifier as a module whose ``forward`` gives :meth:`features` (for torchmetrics' FID)."""
        return DomainFeatures(self)

    def save(self, path: str) -> Path:
        """Writes the weights and the metadata as a plain dict (tensors, strings, numbers); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "format": FORMAT,
            "dataset": self.dataset,
            "net": {name: getattr(self.net, name) for name in _NET_ARGS},
            "state_dict": {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()},
            "test_accuracy": self.test_accuracy,
            "recipe": self.recipe,
            "ganzoo_version": self.version,
        }
        state["net"]["image_shape"] = list(self.image_shape)
        torch.save(state, path)
        return path

    @classmethod
    def load(cls, path: str) -> "DomainClassifier":
        """A classifier written by :meth:`save`, on the CPU; never unpickles anything but plain data."""
        if not Path(path).is_file():
            raise ConfigError(f"domain classifier file '{path}' not found; pass a file written by ganzoo train-classifier")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or state.get("format") != FORMAT:
                raise ValueError(f"no '{FORMAT}' format tag")
            net = DigitClassifier(**{**state["net"], "image_shape": tuple(state["net"]["image_shape"])})
            net.load_state_dict(state["state_dict"])
        except Exception as err:
            reason = f"{type(err).__name__}: {err}".splitlines()[0]
            raise ConfigError(
                f"'{path}' is not a ganzoo domain classifier file ({reason}); write one with ganzoo train-classifier"
            ) from None
        return cls(net, state["dataset"], state["test_accuracy"], state["recipe"], state["ganzoo_version"])


class DomainFeatures(nn.Module):
    """A :class:`DomainClassifier` whose ``forward`` gives its features ``(N, F)``.

    torchmetrics' ``FrechetInceptionDistance(feature=...)`` calls ``forward`` on the
    images it is given and reads ``num_features``; give it images in [-1, 1] (its
    ``normalize`` flag does not touch the images of a custom extractor)::

        fid = FrechetInceptionDistance(feature=load_domain_classifier("mnist").feature_extractor())
    """

    def __init__(self, classifier: DomainClassifier):
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.num_features

    def train(self, mode: bool = True) -> "DomainFeatures":
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        return self.classifier.features(images)


def load_domain_classifier(name_or_path: str) -> DomainClassifier:
    """A shipped classifier by name (``"mnist"``, ``"digits"``) or one written by ``train-classifier``, by path."""
    if name_or_path in SHIPPED:
        return DomainClassifier.load(str(ASSETS / f"{name_or_path}.pt"))
    if not Path(name_or_path).is_file():
        raise ConfigError(
            f"domain classifier {name_or_path!r} is neither a shipped one nor a file; "
            f"choose one of: {', '.join(SHIPPED)}, or pass the path of a file written by ganzoo train-classifier"
        )
    return DomainClassifier.load(name_or_path)


def conditional_accuracy(probs: Tensor, labels: Tensor) -> float:
    """Fraction of samples whose most probable class is the class they were asked for.

    Args:
        probs: class probabilities (or logits) of conditional samples, shape ``(N, K)``.
        labels: the classes requested, int in [0, K), shape ``(N,)``.
    """
    if probs.dim() != 2 or labels.shape != probs.shape[:1]:
        raise ConfigError(
            f"conditional_accuracy needs probs (N, K) and labels (N,), got {tuple(probs.shape)} and "
            f"{tuple(labels.shape)}; pass one requested label per sample"
        )
    return (probs.argmax(dim=1) == labels.to(probs.device)).float().mean().item()


def mode_metrics(mode_ids: Tensor, num_modes: int = 1000) -> dict[str, float]:
    """Mode coverage of a histogram of mode ids.

    Args:
        mode_ids: the mode of each sample, int in [0, num_modes), shape ``(N,)``.
        num_modes: M, the number of modes of the real data (all equally likely).

    Returns:
        ``modes_covered``: modes with at least one sample, 0..M; ``mode_kl``: KL(q || uniform)
        of the samples' mode histogram q, from 0 (balanced) to log M (a single mode).
    """
    ids = mode_ids.reshape(-1).long().cpu()
    if ids.numel() == 0 or ids.min() < 0 or ids.max() >= num_modes:
        raise ConfigError(f"mode ids must be a non-empty tensor of ints in [0, {num_modes}); check the ids passed")
    q = torch.bincount(ids, minlength=num_modes).double() / ids.numel()
    return {"modes_covered": float((q > 0).sum()), "mode_kl": _kl_to_uniform(q)}


def _kl_to_uniform(q: Tensor) -> float:
    """KL(q || uniform) of a histogram ``q`` (summing to 1) over its ``len(q)`` bins."""
    seen = q > 0
    return float((q[seen] * (q[seen] * q.numel()).log()).sum())


def stacked_mnist_modes(classifier: DomainClassifier, images: Tensor, batch_size: int = 1000) -> dict[str, float]:
    """Modes of Stacked MNIST samples: each channel's digit by an MNIST classifier.

    Mode ``100 d_R + 10 d_G + d_B`` of 1,000; see :func:`mode_metrics` for ``modes_covered``
    and ``mode_kl``, and :func:`digit_kl` for ``digit_kl``, the channels' own share of ``mode_kl``.

    Args:
        classifier: a 1-channel, 10-class digit classifier (``load_domain_classifier("mnist")``).
        images: samples in [-1, 1], shape ``(N, 3, S, S)`` (channels R, G, B).
        batch_size: samples per forward pass (3 channel images each).
    """
    if classifier.image_shape[0] != 1 or classifier.num_classes != 10:
        raise ConfigError(
            f"stacked_mnist_modes needs a 1-channel 10-class digit classifier, got the {classifier.dataset} one "
            f"({classifier.image_shape[0]} channels, {classifier.num_classes} classes); use load_domain_classifier('mnist')"
        )
    if images.dim() != 4 or images.shape[1] != 3:
        raise ConfigError(f"Stacked MNIST images must be (N, 3, S, S), got {tuple(images.shape)}; stack R, G, B digits")
    digits = torch.cat([
        classifier(part.reshape(-1, 1, *part.shape[2:])).argmax(dim=1).reshape(-1, 3)
        for part in images.split(batch_size)
    ])
    modes = mode_metrics(digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])
    return {**modes, "digit_kl": digit_kl(digits)}


def digit_kl(digits: Tensor, num_classes: int = 10) -> float:
    """The part of a Stacked MNIST mode KL that comes from each channel's own digit histogram.

    ``sum_c KL(q_c || uniform)`` over the channels' digit histograms ``q_c``. The mode KL
    of :func:`mode_metrics` splits exactly into this and ``KL(q || q_R q_G q_B)``, the
    dependence between the channels (combinations of digits drawn more or less often than
    their digits' frequencies predict): a G that draws some digits more often in every
    channel (ambiguous strokes read as one digit) has a large ``digit_kl``; one that drops
    combinations while every digit keeps its share has a small one.

    Args:
        digits: each sample's class per channel, int in [0, num_classes), shape ``(N, C)``.
        num_classes: classes per channel; each histogram is compared to the uniform one, as
            ``mode_kl`` compares the modes'.
    """
    if digits.dim() != 2 or digits.numel() == 0 or digits.min() < 0 or digits.max() >= num_classes:
        raise ConfigError(f"digits must be a non-empty (N, C) tensor of ints in [0, {num_classes}), "
                          f"got shape {tuple(digits.shape)}; pass one class per sample and channel")
    return sum(_kl_to_uniform(torch.bincount(channel, minlength=num_classes).double() / channel.numel())
               for channel in digits.long().cpu().T)
