"""Training subsets and class filters of the image datamodules (``subset``, ``subset_seed``, ``classes``).

``classes`` keeps the listed classes in every split and renumbers them in the order given
(the i-th listed class becomes label i), so ``num_classes`` is the number kept and a
conditional model trains, samples and is evaluated on exactly those. ``subset`` then keeps
a seeded draw of the training split only: a fraction in (0, 1) or a count >= 1. Validation
and test keep all their images of the kept classes, so runs on 1% and on 100% of the data
are monitored on the same held-out images. For one seed, a smaller subset is part of every
larger one (the first images of one seeded permutation).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import Tensor

from ganzoo.errors import ConfigError, check_number

_SUBSET_EXAMPLE = "subset: 0.1 (a fraction of the training images) or subset: 600 (a count)"


def check_subset(subset: Optional[float]) -> Optional[float]:
    """``subset`` when it is ``None``, a fraction in (0, 1) or a whole count >= 1; else one line."""
    if subset is None:
        return None
    value = check_number("subset", subset, _SUBSET_EXAMPLE, low=0, low_open=True)
    if value >= 1 and value != math.floor(value):
        raise ConfigError(f"subset {value:g} is neither a fraction in (0, 1) nor a whole count; e.g. {_SUBSET_EXAMPLE}")
    return value


def check_classes(classes: Optional[Sequence[int]], total: int, owner: str) -> Optional[list[int]]:
    """The class filter as a list of distinct labels in ``[0, total)``, or ``None``; else one line.

    Args:
        classes: the labels to keep, in the order that numbers them 0..K-1.
        total: the dataset's classes (0 when its images are unlabelled).
        owner: the datamodule's name, for messages.
    """
    if classes is None:
        return None
    if not total:
        raise ConfigError(f"classes={list(classes)!r} needs labelled images, and {owner} has none; remove classes")
    kept = list(classes)
    bad = [c for c in kept if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < total]
    if not kept or bad or len(set(kept)) != len(kept):
        what = f"holds {bad[0]!r}, not a class of" if bad else ("is empty for" if not kept else "repeats a class of")
        raise ConfigError(
            f"classes {what} {owner}, whose labels are 0..{total - 1}; list distinct labels, e.g. classes: [0, 1]"
        )
    return kept


def relabelling(classes: list[int], total: int) -> Tensor:
    """Map from the dataset's labels ``(total,)`` to the kept ones: ``classes[i] -> i``, the others to -1."""
    mapping = torch.full((total,), -1, dtype=torch.int64)
    mapping[torch.as_tensor(classes, dtype=torch.int64)] = torch.arange(len(classes))
    return mapping


def subset_indices(candidates: Tensor, subset: float, seed: int, owner: str) -> Tensor:
    """A seeded draw, sorted, from the training indices ``candidates`` ``(M,)``: ``subset`` as a fraction or a count."""
    available = len(candidates)
    count = int(subset) if subset >= 1 else max(1, round(subset * available))
    if count > available:
        raise ConfigError(
            f"subset {count} is more than the {available} training images of {owner}; "
            f"give at most {available}, or a fraction such as subset: 0.1"
        )
    order = torch.randperm(available, generator=torch.Generator().manual_seed(seed))
    return candidates[order[:count]].sort().values
