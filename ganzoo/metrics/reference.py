"""The features and labels of a whole split of real images, for metrics that compare samples one by one.

FID and KID reduce the real images to sums or keep the features of the evaluator's one
split (:mod:`ganzoo.metrics.real_stats`). The memorisation metric needs every row of
two splits (the training images and held-out ones), and the intra-class Fréchet
distance needs each real image's label: :func:`split_features` gives them, computed
once with the evaluator's networks and cached on disk like the other real statistics.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import torch
from torch import Tensor

from ganzoo.metrics.gather import chunk_sizes, gather_chunks, world
from ganzoo.metrics.real_stats import dataset_fingerprint

if TYPE_CHECKING:
    from ganzoo.metrics.evaluator import ImageEvaluator


def split_features(evaluator: "ImageEvaluator", datamodule, split: str, feature: str, device,
                   count: Optional[int] = None) -> dict[str, Tensor]:
    """One named feature of the first ``count`` images of ``split`` (all of them by default), with their labels.

    Args:
        evaluator: a prepared :class:`~ganzoo.metrics.evaluator.ImageEvaluator`; its networks,
            ``batch_size`` and cache are used.
        datamodule: the data, whose ``splits`` (or dataloaders) hold ``split``.
        split: ``train``, ``val`` or ``test``.
        feature: a name of :data:`~ganzoo.metrics.registry.FEATURES`, e.g. ``classifier_features``.
        device: where the images are pushed through the network.
        count: images from the start of the split; ``None``: the whole split.

    Returns:
        ``{"features": (N, F) float32 (pixels flattened, in bytes), "labels": (N,) int64}`` on the CPU.
    """
    from ganzoo.metrics.evaluator import split_dataset

    dataset = split_dataset(datamodule, split)
    count = len(dataset) if count is None else count
    description = rows_description(evaluator, datamodule, split, feature, count)
    kind = f"rows-{feature}"
    cached = evaluator.cache.load(kind, description) if evaluator.cache.exists(kind, description) else None
    if cached is not None:
        return cached
    rows = _extract(evaluator, dataset, count, feature, device)
    if world()[0] == 0:
        evaluator.cache.save(kind, description, rows)
    return rows


def rows_description(evaluator: "ImageEvaluator", datamodule, split: str, feature: str, count: Optional[int] = None) -> dict:
    """Everything the rows of :func:`split_features` depend on: the data, the split, the count, the extractor."""
    from ganzoo.metrics.evaluator import split_dataset

    dataset = split_dataset(datamodule, split)
    return {
        "kind": "split_features", "dataset": type(datamodule).__name__, "fingerprint": dataset_fingerprint(dataset),
        "split": split, "num_real": len(dataset) if count is None else count, "feature": feature,
        "extractor": _describe(evaluator, feature),
    }  # fmt: skip


def _extract(evaluator: "ImageEvaluator", dataset, count: int, feature: str, device) -> dict[str, Tensor]:
    """The rows of ``feature`` and the labels of the first ``count`` items, shared out over DDP processes."""
    rank, size = world()
    sizes = chunk_sizes(count, evaluator.batch_size)
    local: dict[int, dict[str, Tensor]] = {}
    for c in range(rank, len(sizes), size):
        items = [dataset[i] for i in range(c * evaluator.batch_size, c * evaluator.batch_size + sizes[c])]
        images = torch.stack([_part(item, 0) for item in items]).to(device)
        labels = torch.as_tensor([int(_part(item, 1)) for item in items], dtype=torch.int64, device=device)
        rows = evaluator._features(images, needed={feature})[feature]
        local[c] = {"features": rows.flatten(1).float(), "labels": labels}
    gathered = gather_chunks(local, sizes, device)
    return {name: value.cpu() for name, value in gathered.items()}


def _part(item, index: int):
    """``item[index]`` of an ``(image, label)`` pair; an unlabelled item is its image, with label 0."""
    if isinstance(item, (tuple, list)):
        return item[index]
    return item if index == 0 else 0


def _describe(evaluator: "ImageEvaluator", feature: str) -> dict:
    """What the rows depend on besides the data: the network that gives ``feature`` and its settings."""
    from ganzoo.metrics.evaluator import describe_classifier
    from ganzoo.metrics.registry import FEATURES

    network = FEATURES[feature]
    if network == "inception":
        return evaluator.inception.describe()
    if network == "classifier":
        return describe_classifier(evaluator.classifier)
    return {"extractor": "the image bytes, round((x + 1) * 127.5)"}
