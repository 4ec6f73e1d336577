"""Memorisation: how many generated samples are copies of training images, reported beside FD.

A Fréchet distance compares distributions, so a "generator" that returns its training
images scores as well as the real data itself. Copies show up one sample at a time:
a copy lies (almost) on top of a training image, much closer to its nearest training
neighbour than an unseen real image does. The held-out split supplies the yardstick,
as in the three-sample data-copying test of Meehan, Chaudhuri and Dasgupta (AISTATS
2020), which compares the distances to the training set of generated samples with
those of held-out real samples. In a feature space (the domain classifier's, the image
bytes', InceptionV3's), with d(x) the Euclidean distance from x to its nearest training
image:

- ``copy_rate``: the share of generated samples with d(x) below the ``q``-th quantile
  (:data:`COPY_QUANTILE`, 1%) of d over the held-out images: samples closer to a
  training image than 99% of unseen real images are. Held-out real images score about
  ``q`` by construction, exact copies 1; a generator that has not memorised scores
  about ``q`` or less (a blurry one less).
- ``nn_ratio``: median d over the generated samples / median d over the held-out images.
  1 for samples as novel as unseen real data, 0 for copies, in between for copies with
  noise or small changes; above 1 for samples farther from the data than real images.
  It is a one-cell, median form of the comparison that Meehan et al.'s C_T statistic
  makes per cell with a Mann-Whitney test.

The "authenticity" of Alaa et al. (ICML 2022) asks a related question per sample
(whether it is closer to its nearest training image than that image is to its own
nearest training neighbour); it needs the training set's distances to itself, six
times the work on MNIST, and is not computed here.

The nearest-neighbour search is exhaustive and chunked (:func:`nearest_distances`): 10,000
samples against 60,000 training images never hold more than a 1,024 x 8,192 block of
distances (32 MB).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor

from ganzoo.errors import ConfigError
from ganzoo.metrics.gather import world

if TYPE_CHECKING:
    from ganzoo.metrics.evaluator import ImageEvaluator

#: the held-out images' quantile of nearest-training distance below which a sample counts as a copy.
COPY_QUANTILE = 0.01
#: the splits compared: the images G was trained on, and unseen ones of the same distribution.
TRAIN_SPLIT, HELD_OUT_SPLIT = "train", "test"


def nearest_distances(queries: Tensor, reference: Tensor, query_chunk: int = 1024,
                      reference_chunk: int = 8192) -> Tensor:
    """The Euclidean distance from each query to its nearest reference row, by exhaustive search in bounded memory
    (float32 arithmetic: a copy's distance is 0 up to about 1e-4 times its row's norm).

    Args:
        queries: ``(M, D)``.
        reference: ``(N, D)``, on the same device.
        query_chunk: queries per block of distances.
        reference_chunk: reference rows per block: a block holds ``query_chunk x reference_chunk`` floats.

    Returns:
        ``(M,)`` float32 distances, on the queries' device.
    """
    if queries.dim() != 2 or reference.dim() != 2 or queries.shape[1] != reference.shape[1] or not len(reference):
        raise ConfigError(f"nearest_distances needs queries (M, D) and a non-empty reference (N, D), got "
                          f"{tuple(queries.shape)} and {tuple(reference.shape)}")
    reference = reference.float()
    out = []
    for block in queries.float().split(query_chunk):
        best = torch.full((len(block),), float("inf"), device=block.device)
        for rows in reference.split(reference_chunk):
            best = torch.minimum(best, torch.cdist(block, rows).amin(dim=1))
        out.append(best)
    return torch.cat(out) if out else queries.new_zeros(0, dtype=torch.float32)


def memorisation_scores(fake: Tensor, train: Tensor, held_out: Tensor, quantile: float = COPY_QUANTILE) -> dict[str, float]:
    """``copy_rate`` and ``nn_ratio`` (see the module docstring) of generated rows against training rows.

    Args:
        fake: generated samples' features ``(M, D)``.
        train: the training images' features ``(N, D)``.
        held_out: unseen real images' features ``(K, D)``, none of them in ``train``.
        quantile: the held-out quantile of the copy threshold, in (0, 1).

    Returns:
        ``{"copy_rate", "nn_ratio", "threshold"}``; ``threshold`` is the distance below which
        a sample counts as a copy.
    """
    return copy_scores(nearest_distances(fake, train), nearest_distances(held_out, train), quantile)


def copy_scores(fake_distances: Tensor, held_out_distances: Tensor, quantile: float = COPY_QUANTILE) -> dict[str, float]:
    """:func:`memorisation_scores` from the nearest-training distances ``(M,)`` of the samples and ``(K,)`` of
    the held-out images (those are the same for every generator, so the evaluator caches them)."""
    if not 0 < quantile < 1:
        raise ConfigError(f"quantile {quantile} is outside (0, 1); e.g. quantile=0.01")
    fake_d, held_d = fake_distances.double().cpu(), held_out_distances.double().cpu()
    threshold = torch.quantile(held_d, quantile)
    median = lambda d: torch.quantile(d, 0.5)  # noqa: E731 - the mean of the middle two, not torch.median's lower one
    return {
        "copy_rate": float((fake_d < threshold).double().mean()),
        "nn_ratio": float(median(fake_d) / median(held_d).clamp_min(1e-12)),
        "threshold": float(threshold),
    }


def train_and_held_out(feature: str) -> Callable:
    """The registry's ``reference`` for memorisation in ``feature``: every training row, and each held-out
    image's distance to its nearest training row (computed once, then cached)."""

    def reference(evaluator: "ImageEvaluator", datamodule, device) -> dict[str, Tensor]:
        from ganzoo.metrics.reference import rows_description, split_features

        train = split_features(evaluator, datamodule, TRAIN_SPLIT, feature, device)["features"]
        description = {"kind": "held_out_nearest_training_distances",
                       "train": rows_description(evaluator, datamodule, TRAIN_SPLIT, feature),
                       "held_out": rows_description(evaluator, datamodule, HELD_OUT_SPLIT, feature)}
        kind = f"nn-{feature}"
        cached = evaluator.cache.load(kind, description) if evaluator.cache.exists(kind, description) else None
        if cached is None:
            held_out = split_features(evaluator, datamodule, HELD_OUT_SPLIT, feature, device)["features"]
            cached = {"distances": nearest_distances(held_out.to(device), train.to(device)).cpu()}
            if world()[0] == 0:
                evaluator.cache.save(kind, description, cached)
        return {"train": train, "held_out_distances": cached["distances"]}

    return reference


def check_splits(evaluator: "ImageEvaluator", datamodule) -> None:
    """One line when the data has no held-out split to measure copies against."""
    from ganzoo.metrics.evaluator import split_dataset

    split_dataset(datamodule, TRAIN_SPLIT)  # sets the data up, so that its splits are known
    splits = getattr(datamodule, "splits", None)
    if isinstance(splits, dict) and splits and HELD_OUT_SPLIT not in splits:
        raise ConfigError(f"memorisation compares samples with the {HELD_OUT_SPLIT} split, but "
                          f"{type(datamodule).__name__} has only {', '.join(splits)}; give it held-out images")
    if not len(split_dataset(datamodule, HELD_OUT_SPLIT)):
        raise ConfigError(f"memorisation needs held-out images, but {type(datamodule).__name__}'s "
                          f"{HELD_OUT_SPLIT} split is empty")


def memorisation_values(feature: str) -> Callable:
    """The registry's compute for memorisation in ``feature``: ``[copy_rate, nn_ratio]``."""

    def compute(run) -> list[float]:
        fake = run.fake[feature].flatten(1).float()
        fake_distances = nearest_distances(fake, run.real["train"].to(fake.device))
        scores = copy_scores(fake_distances, run.real["held_out_distances"])
        return [scores["copy_rate"], scores["nn_ratio"]]

    return compute
