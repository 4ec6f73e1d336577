"""Two ways for D to see more than one sample at a time, as options of ganzoo's discriminators.

- Packing (PacGAN, Lin et al. 2018): D judges ``m`` samples at once, joined along channels
  (images) or features (vectors), and gives one score per pack: ``(N, *S) -> (N / m,)``.
- Minibatch standard deviation (Karras et al. 2018): the standard deviation over a group of
  samples, averaged into one number, appended to each sample of the group as one extra
  feature map (or feature), so D can tell a batch of near-copies from a varied one.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo.errors import ConfigError


def pack_samples(x: Tensor, m: int) -> Tensor:
    """Samples ``(N, C, *rest)`` as ``(N / m, m * C, *rest)``: samples ``k*m .. k*m + m - 1`` joined along
    dim 1 in order (channels for images, features for vectors ``(N, F)``); one line when m does not divide N."""
    if m == 1:
        return x
    n = x.shape[0]
    if n % m:
        raise ConfigError(
            f"d_pack={m} makes D judge packs of {m} samples, but a batch holds {n} samples; use a batch_size "
            f"divisible by {m} (training batches are full: drop_last) or d_pack=1"
        )
    return x.reshape(n // m, m * x.shape[1], *x.shape[2:])


def samples_per_score(discriminator: nn.Module) -> int:
    """How many samples one score of ``discriminator`` judges: its ``pack`` attribute, 1 by default."""
    return int(getattr(discriminator, "pack", 1))


class MinibatchStd(nn.Module):
    """Appends the minibatch standard deviation as one channel (images) or one feature (vectors).

    The batch splits into groups of ``group_size`` consecutive samples (the whole batch when it
    is smaller; a last group with fewer samples takes its own). For each group the standard
    deviation over its samples is taken at every feature and pixel (``sqrt(var + 1e-8)``, the
    biased variance, as in Karras et al.), averaged into one number, and appended to each of its
    samples as a constant feature map.

    Args:
        group_size: samples per group (4 in Karras et al.).
    """

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, H, W) -> (N, C + 1, H, W)``, or ``(N, F) -> (N, F + 1)``."""
        n = x.shape[0]
        g = min(self.group_size, n)
        full = n - n % g
        stds = [self._group_std(x[:full], g)]
        if full < n:
            stds.append(self._group_std(x[full:], n - full))
        std = torch.cat(stds).to(x.dtype).view(n, 1, *([1] * (x.dim() - 2)))
        return torch.cat([x, std.expand(n, 1, *x.shape[2:])], dim=1)

    @staticmethod
    def _group_std(x: Tensor, g: int) -> Tensor:
        """One value per sample of ``x`` ``(k * g, ...)``: its group's averaged standard deviation."""
        groups = x.float().reshape(-1, g, *x.shape[1:])
        centred = groups - groups.mean(dim=1, keepdim=True)  # not Tensor.var: 10x slower on CPU over this middle dim
        std = (centred.square().mean(dim=1) + 1e-8).sqrt()
        return std.flatten(1).mean(1).repeat_interleave(g)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"
