"""k-means in torch for the self-conditioned GAN: k-means++ seeding, Lloyd's iterations, matching two clusterings.

Distances are computed a chunk of rows at a time (``||x||^2 - 2 x.c + ||c||^2``, an
``(chunk, k)`` matrix), never as an ``(N, k, F)`` tensor, so features of tens of
thousands of samples cluster in little memory. Every random draw comes from the
``generator`` passed in: the same features and generator give the same clusters, on
every process and in a resumed run.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import Tensor

#: rows of features whose distances to the centres are computed at once.
CHUNK_SIZE = 4096


class Clustering(NamedTuple):
    """A k-means result.

    Attributes:
        centres: ``(k, F)`` cluster centres.
        labels: int64 ``(N,)``, the nearest centre of each row.
        iterations: Lloyd iterations run.
    """

    centres: Tensor
    labels: Tensor
    iterations: int


def nearest(x: Tensor, centres: Tensor, chunk_size: int = CHUNK_SIZE) -> tuple[Tensor, Tensor]:
    """The nearest centre of each row of ``x`` ``(N, F)`` among ``centres`` ``(k, F)``.

    Returns:
        int64 labels ``(N,)`` and the squared distances to those centres ``(N,)``.
    """
    squared_norms = centres.pow(2).sum(1)
    labels, distances = [], []
    for chunk in x.split(chunk_size):
        d = (chunk.pow(2).sum(1, keepdim=True) - 2 * chunk @ centres.T + squared_norms).clamp_min_(0)
        best, index = d.min(dim=1)
        labels.append(index)
        distances.append(best)
    return torch.cat(labels), torch.cat(distances)


def kmeans_plus_plus(x: Tensor, k: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): each new centre is a row drawn with probability
    proportional to its squared distance to the nearest centre so far.

    Args:
        x: features ``(N, F)`` on the CPU (the generator's device), ``N >= k``.
        k: number of centres.
        generator: the source of the draws.

    Returns:
        Centres ``(k, F)``, rows of ``x``.
    """
    chosen = [int(torch.randint(x.shape[0], (1,), generator=generator))]
    closest = (x - x[chosen[0]]).pow(2).sum(1)
    for _ in range(1, k):
        total = closest.sum()
        if total > 0:
            chosen.append(int(torch.multinomial(closest / total, 1, generator=generator)))
        else:  # every row sits on a centre already: any row will do
            chosen.append(int(torch.randint(x.shape[0], (1,), generator=generator)))
        closest = torch.minimum(closest, (x - x[chosen[-1]]).pow(2).sum(1))
    return x[chosen].clone()


def cluster_means(x: Tensor, labels: Tensor, k: int, chunk_size: int = CHUNK_SIZE) -> Tensor:
    """The mean ``(k, F)`` of each cluster of ``labels`` ``(N,)`` in the features ``x`` ``(N, F)``.

    A cluster with no row is re-seeded with a row far from every other centre (the rows farthest
    from their nearest non-empty mean, one per empty cluster), so no centre is left without data.
    """
    counts = torch.bincount(labels, minlength=k)
    centres = torch.zeros(k, x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, labels, x)
    centres /= counts.clamp_min(1).unsqueeze(1).to(x.dtype)
    empty = (counts == 0).nonzero().flatten()
    if len(empty):
        _, distances = nearest(x, centres[counts > 0], chunk_size)
        farthest = distances.topk(min(len(empty), x.shape[0])).indices
        centres[empty[: len(farthest)]] = x[farthest]
    return centres


def lloyd(x: Tensor, centres: Tensor, iterations: int, chunk_size: int = CHUNK_SIZE) -> Clustering:
    """Lloyd's iterations from ``centres`` ``(k, F)`` on ``x`` ``(N, F)``, until the labels stop changing or
    ``iterations`` have run; empty clusters are re-seeded (:func:`cluster_means`). The labels returned are
    the nearest of the centres returned."""
    labels: Optional[Tensor] = None
    done = 0
    for done in range(1, iterations + 1):
        new_labels, _ = nearest(x, centres, chunk_size)
        if labels is not None and torch.equal(new_labels, labels):
            break
        labels = new_labels
        centres = cluster_means(x, labels, centres.shape[0], chunk_size)
    return Clustering(centres, nearest(x, centres, chunk_size)[0], done)


def kmeans(
    x: Tensor, k: int, iterations: int = 30, generator: Optional[torch.Generator] = None, chunk_size: int = CHUNK_SIZE
) -> Clustering:
    """k-means of the rows of ``x`` ``(N, F)``: k-means++ seeding, then Lloyd's iterations."""
    return lloyd(x, kmeans_plus_plus(x, k, generator), iterations, chunk_size)


def match_clusters(old_labels: Tensor, new_labels: Tensor, k: int) -> Tensor:
    """The relabelling of a new clustering that agrees most with an old one (the Hungarian algorithm).

    Args:
        old_labels: int64 ``(N,)`` in [0, k), the old clustering of N rows.
        new_labels: int64 ``(N,)`` in [0, k), the new clustering of the same rows.
        k: number of clusters.

    Returns:
        int64 ``(k,)``: new cluster ``j`` becomes cluster ``mapping[j]``, a permutation that
        maximises the rows whose label stays the same.
    """
    from scipy.optimize import linear_sum_assignment  # imported here: `import ganzoo` stays light

    overlap = torch.zeros(k, k, dtype=torch.float64)
    overlap.index_put_((new_labels.cpu(), old_labels.cpu()), torch.ones(len(new_labels), dtype=torch.float64), accumulate=True)
    rows, cols = linear_sum_assignment(overlap.numpy(), maximize=True)
    mapping = torch.empty(k, dtype=torch.int64)
    mapping[torch.from_numpy(rows)] = torch.from_numpy(cols)
    return mapping


def relabel(clustering: Clustering, mapping: Tensor) -> Clustering:
    """``clustering`` with cluster ``j`` renamed ``mapping[j]`` (its centre moved to row ``mapping[j]``)."""
    centres = torch.empty_like(clustering.centres)
    centres[mapping.to(centres.device)] = clustering.centres
    return Clustering(centres, mapping.to(clustering.labels.device)[clustering.labels], clustering.iterations)


def entropy(counts: Tensor) -> Tensor:
    """The entropy in nats of the cluster sizes ``counts`` ``(k,)`` (log k when balanced, 0 for one cluster)."""
    p = counts.double() / counts.sum()
    return -(p[p > 0] * p[p > 0].log()).sum()
