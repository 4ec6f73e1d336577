"""Precision, recall, density and coverage of generated samples, from k-nearest-neighbour balls.

Each real sample ``x_i`` gets a ball around it whose radius is the distance to its k-th
nearest other real sample, ``NND_k(x_i)``; the union of the balls estimates the support
(the "manifold") of the real distribution. Likewise for the generated samples ``y_j``.
With N real and M generated samples and ``1[.]`` the indicator:

- **precision** (Kynkäänniemi et al. 2019): the share of generated samples inside the real
  manifold, ``1/M sum_j 1[exists i: |y_j - x_i| <= NND_k(x_i)]``;
- **recall** (same paper): the share of real samples inside the generated manifold,
  ``1/N sum_i 1[exists j: |x_i - y_j| <= NND_k(y_j)]``;
- **density** (Naeem et al. 2020): how many real balls hold each generated sample, on
  average, over k: ``1/(k M) sum_j sum_i 1[|y_j - x_i| <= NND_k(x_i)]``; about 1 when the
  two distributions agree, above 1 where samples crowd into dense real regions, and
  not bounded by 1;
- **coverage** (same paper): the share of real balls that hold at least one generated
  sample, ``1/N sum_i 1[min_j |x_i - y_j| <= NND_k(x_i)]``.

The papers' defaults are k = 3 for precision and recall and k = 5 for density and coverage.
Balls are closed (``<=``), as in the papers' definitions and Kynkäänniemi et al.'s code.

Distances are Euclidean, taken ``chunk_size`` rows at a time: no N x M matrix is ever
held, only ``chunk_size`` x N (or x M) float32 blocks, so 10,000 x 10,000 samples need a few
tens of MB beyond the features. The radii come from ``topk`` per block, the counts are
accumulated per block.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ganzoo.errors import ConfigError, check_positive_int

#: the papers' neighbourhood sizes: precision and recall, density and coverage.
PR_K, DC_K = 3, 5
#: distances per block when no chunk size is given: 2**23, 32 MB in float32.
BLOCK = 2**23


def _as_rows(name: str, samples: Tensor) -> Tensor:
    """``samples`` as a float ``(N, D)`` tensor (images and other shapes are flattened)."""
    if samples.dim() < 1 or samples.shape[0] == 0:
        raise ConfigError(f"{name} must hold at least one sample, got shape {tuple(samples.shape)}; pass (N, D) features")
    rows = samples.reshape(samples.shape[0], -1)
    return rows if rows.dtype == torch.float64 else rows.float()


def _blocks(a: Tensor, b: Tensor, chunk_size: int):
    """``(start, distances)`` of ``chunk_size`` rows of ``a`` at a time against all of ``b``: ``(c, len(b))``."""
    for start in range(0, a.shape[0], chunk_size):
        yield start, torch.cdist(a[start : start + chunk_size], b)


def kth_neighbour_distances(samples: Tensor, ks: tuple[int, ...], chunk_size: int = 1000) -> list[Tensor]:
    """The distance of every sample to its k-th nearest other sample, for each k in ``ks``.

    Args:
        samples: ``(N, D)``, N > max(ks).
        ks: neighbourhood sizes, each in [1, N).
        chunk_size: rows per block of distances (``chunk_size`` x N floats at a time).

    Returns:
        one ``(N,)`` tensor per k, in the order of ``ks``.
    """
    top = max(ks)
    radii = torch.empty(samples.shape[0], top + 1, dtype=samples.dtype, device=samples.device)
    for start, block in _blocks(samples, samples, chunk_size):
        # the nearest "neighbour" is the sample itself, at distance 0: take the (k+1)-th smallest
        radii[start : start + block.shape[0]] = block.topk(top + 1, dim=1, largest=False).values
    return [radii[:, k] for k in ks]


def precision_recall_density_coverage(real: Tensor, fake: Tensor, pr_k: int = PR_K, dc_k: int = DC_K,
                                      chunk_size: Optional[int] = None) -> dict[str, float]:
    """Precision and recall (k = ``pr_k``), density and coverage (k = ``dc_k``) of ``fake`` against ``real``.

    See the module docstring for the formulas. Features of any kind: InceptionV3's or a
    domain classifier's, or the raw values of low-dimensional samples.

    Args:
        real: real samples' features, ``(N, D)`` (other shapes are flattened per sample).
        fake: generated samples' features, ``(M, D)``, on the same device.
        pr_k: neighbourhood size of precision and recall; N and M must exceed it.
        dc_k: neighbourhood size of density and coverage; N must exceed it.
        chunk_size: rows per block of distances; a block holds ``chunk_size`` x max(N, M) floats.
            ``None``: blocks of about :data:`BLOCK` distances (32 MB in float32).

    Returns:
        ``precision``, ``recall``, ``coverage`` in [0, 1] and ``density`` in [0, N / dc_k].

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
        >>> precision_recall_density_coverage(x, x, pr_k=1, dc_k=1)
        {'precision': 1.0, 'recall': 1.0, 'density': 2.5, 'coverage': 1.0}
    """
    real, fake = _as_rows("real", real), _as_rows("fake", fake)
    for name, k, side, n in (("pr_k", pr_k, "real", len(real)), ("pr_k", pr_k, "generated", len(fake)),
                             ("dc_k", dc_k, "real", len(real))):
        check_positive_int(name, k, f"{name}={PR_K if name == 'pr_k' else DC_K}")
        if k >= n:
            raise ConfigError(f"{name} {k} needs more than {k} {side} samples, got {n}; lower {name} or use more samples")
    if chunk_size is None:
        chunk_size = max(1, BLOCK // max(len(real), len(fake)))
    check_positive_int("chunk_size", chunk_size, "chunk_size=1000")
    if real.shape[1] != fake.shape[1]:
        raise ConfigError(f"real and fake features differ in size ({real.shape[1]} vs {fake.shape[1]}); "
                          f"take both from the same feature extractor")
    fake = fake.to(real.dtype)
    # distances do not change under a shift; centring keeps |x|^2 + |y|^2 - 2 x.y (cdist's matmul path) accurate
    centre = real.mean(dim=0)
    real, fake = real - centre, fake - centre
    real_pr, real_dc = kth_neighbour_distances(real, (pr_k, dc_k), chunk_size)
    (fake_pr,) = kth_neighbour_distances(fake, (pr_k,), chunk_size)
    in_real = torch.zeros(len(fake), dtype=torch.bool, device=real.device)  # y_j in some real pr-ball
    balls_holding = torch.zeros(len(fake), dtype=torch.float64, device=real.device)  # real dc-balls holding y_j
    recalled = torch.zeros(len(real), dtype=torch.bool, device=real.device)  # x_i in some fake pr-ball
    nearest_fake = torch.full((len(real),), float("inf"), dtype=real.dtype, device=real.device)
    for start, block in _blocks(fake, real, chunk_size):  # block[j, i] = |y_j - x_i|
        rows = slice(start, start + block.shape[0])
        in_real[rows] = (block <= real_pr).any(dim=1)
        balls_holding[rows] = (block <= real_dc).sum(dim=1, dtype=torch.float64)
        recalled |= (block <= fake_pr[rows, None]).any(dim=0)
        nearest_fake = torch.minimum(nearest_fake, block.min(dim=0).values)
    return {
        "precision": in_real.double().mean().item(),
        "recall": recalled.double().mean().item(),
        "density": (balls_holding.mean() / dc_k).item(),
        "coverage": (nearest_fake <= real_dc).double().mean().item(),
    }
