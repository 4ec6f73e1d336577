"""Latent paths and class rows: the codes and labels behind sample grids and interpolation walks."""
from __future__ import annotations

import torch
from torch import Tensor


def draw_codes(sample_prior, n: int, seed: int) -> Tensor:
    """``n`` codes from ``sample_prior(n, rng)`` with a CPU generator seeded by ``seed``: the same on every device."""
    return sample_prior(n, torch.Generator().manual_seed(seed))


def interpolate(start: Tensor, end: Tensor, steps: int, spherical: bool) -> Tensor:
    """Codes on the path from each ``start`` row to the matching ``end`` row, ``(R * steps, latent_dim)``.

    Spherical for the normal prior (its codes concentrate on a shell; a straight line
    passes through its improbable centre, White 2016), linear otherwise. Rows of
    ``steps`` codes, one row per pair.
    """
    t = torch.linspace(0, 1, steps, device=start.device).view(1, steps, 1)
    a, b = start.unsqueeze(1), end.unsqueeze(1)
    if not spherical:
        return (a + t * (b - a)).flatten(0, 1)
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).clamp(-1 + 1e-6, 1 - 1e-6).unsqueeze(-1)
    omega = torch.acos(cos)
    path = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    return path.flatten(0, 1)


def class_rows(z: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Codes ``(len(labels) * R, latent_dim)`` and labels ``(len(labels) * R,)`` of a grid with one row
    per label and the same codes ``z`` ``(R, latent_dim)`` in every row."""
    return z.repeat(len(labels), 1), labels.repeat_interleave(z.shape[0])


def walk_labels(row_classes: Tensor, rows: int, steps: int) -> Tensor:
    """Labels ``(rows * steps,)`` of ``rows`` walks of ``steps`` codes: row i keeps ``row_classes[i % len]``."""
    return row_classes[torch.arange(rows) % len(row_classes)].repeat_interleave(steps)
