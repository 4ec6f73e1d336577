"""Intra-class Fréchet distance of a class-conditional generator.

The FD of all samples against all real images says nothing about whether a "7" asked
for looks like the real 7s: a cGAN that swaps two classes scores a perfect FD. The
intra-class FD (the intra-FID of Miyato & Koyama 2018, "cGANs with projection
discriminator", there in InceptionV3's features) is the mean over the K classes of the
Fréchet distance between the samples generated for class c and the real images of
class c:

    intra_FD = (1/K) sum_c FD(features of samples asked for c, features of real images of c)

Each per-class FD is torchmetrics' (:func:`~ganzoo.metrics.registry.frechet_distance`),
in the domain classifier's features (``intra_fd_classifier``) or InceptionV3's
(``intra_fid``). The evaluator asks the generator for balanced classes, so 10,000
samples of MNIST give 1,000 per class against the ~6,000 real images of each class.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor

from ganzoo.errors import ConfigError

if TYPE_CHECKING:
    from ganzoo.metrics.evaluator import ImageEvaluator


def intra_class_fd(real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor, num_classes: int) -> list[float]:
    """The mean over classes of the Fréchet distance within each class, then each class's.

    Args:
        real: real images' features ``(N, D)``; ``real_labels`` their classes ``(N,)``.
        fake: generated samples' features ``(M, D)``; ``fake_labels`` the classes asked for ``(M,)``.
        num_classes: K; every class needs at least 2 rows on each side.

    Returns:
        ``[mean, FD of class 0, ..., FD of class K-1]``.
    """
    from ganzoo.metrics.registry import frechet_distance, mean_cov_sums

    real_labels, fake_labels = real_labels.to(real.device), fake_labels.to(fake.device)
    per_class = []
    for c in range(num_classes):
        real_c, fake_c = real[real_labels == c], fake[fake_labels == c]
        if len(real_c) < 2 or len(fake_c) < 2:
            raise ConfigError(
                f"intra-class FD: class {c} has {len(real_c)} real and {len(fake_c)} generated images, and needs at "
                f"least 2 of each; raise num_real (or None for the whole split) and num_fake (>= {2 * num_classes})"
            )
        per_class.append(frechet_distance(mean_cov_sums(real_c.double()), fake_c))
    return [sum(per_class) / num_classes, *per_class]


def labelled_real(feature: str) -> Callable:
    """The registry's ``reference`` for intra-class FD: the features and labels of the evaluator's real images."""

    def reference(evaluator: "ImageEvaluator", datamodule, device) -> dict[str, Tensor]:
        from ganzoo.metrics.reference import split_features

        rows = split_features(evaluator, datamodule, evaluator.split, feature, device, count=evaluator.real_count)
        return {**rows, "num_classes": torch.tensor(int(datamodule.num_classes))}

    return reference


def check_conditional_data(evaluator: "ImageEvaluator", datamodule) -> None:
    """One line for unlabelled data or too few samples to have two of each class."""
    classes = int(getattr(datamodule, "num_classes", 0) or 0)
    if not classes:
        raise ConfigError(f"intra-class FD needs labelled data; {type(datamodule).__name__} has no classes")
    if evaluator.num_fake < 2 * classes:
        raise ConfigError(f"num_fake {evaluator.num_fake} gives fewer than 2 samples for each of {classes} classes; "
                          f"raise num_fake to at least {2 * classes}")


def intra_class_values(feature: str) -> Callable:
    """The registry's compute for intra-class FD in ``feature``: ``[mean, class 0, ..., class K-1]``."""

    def compute(run) -> list[float]:
        real = run.real
        classes = int(real["num_classes"])
        return intra_class_fd(real["features"], real["labels"], run.fake[feature], run.fake["labels"], classes)

    return compute
