"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

Every op is a plain, differentiable function of the images and of per-sample parameters
(:func:`adjust_brightness`, :func:`translate`, :func:`cut_out`, ...); :class:`DiffAugment`
draws those parameters from torch's generator on the images' device, so a checkpointed run
resumes with the same draws, and applies them. The magnitudes are those of the paper's
official code (mit-han-lab/data-efficient-gans), which applies them to images in [-1, 1],
ganzoo's range: the colour ops add and scale values in that range, and translation and
cutout fill with 0, the middle of it.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import Tensor

from ganzoo.augmentation.base import Augmentation
from ganzoo.errors import ConfigError, check_number, choose_from

#: the ops of each policy name, applied in this order (``flip`` is bCR's, not one of the paper's policies).
POLICIES: dict[str, tuple[str, ...]] = {
    "color": ("brightness", "saturation", "contrast"),
    "translation": ("translation",),
    "cutout": ("cutout",),
    "flip": ("flip",),
}


def _per_sample(values: Tensor, x: Tensor) -> Tensor:
    """``(N,)`` values shaped ``(N, 1, 1, 1)`` in ``x``'s dtype, to broadcast over images."""
    return values.to(x.dtype).view(-1, 1, 1, 1)


def adjust_brightness(x: Tensor, shift: Tensor) -> Tensor:
    """Adds ``shift[i]`` to every value of image i: ``(N, C, H, W)``, shift ``(N,)``."""
    return x + _per_sample(shift, x)


def adjust_saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Scales each pixel's deviation from its mean over channels by ``factor[i]`` (a no-op on 1 channel)."""
    mean = x.mean(dim=1, keepdim=True)
    return x + (x - mean) * (_per_sample(factor, x) - 1)  # (x - mean) * factor + mean, exactly x for factor 1


def adjust_contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Scales image i's deviation from its mean (over channels and pixels) by ``factor[i]``."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return x + (x - mean) * (_per_sample(factor, x) - 1)


def translate(x: Tensor, down: Tensor, right: Tensor) -> Tensor:
    """Moves image i's content by ``down[i]`` rows and ``right[i]`` columns (integers, ``(N,)``),
    filling what it uncovers with 0: ``out[i, :, r, c] = x[i, :, r - down[i], c - right[i]]``."""
    n, c, h, w = x.shape
    rows = torch.arange(h, device=x.device) - down.view(n, 1)  # (N, H): the source row of each output row
    cols = torch.arange(w, device=x.device) - right.view(n, 1)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    out = x.gather(2, rows.clamp(0, h - 1)[:, None, :, None].expand(n, c, h, w))
    out = out.gather(3, cols.clamp(0, w - 1)[:, None, None, :].expand(n, c, h, w))
    return out * inside[:, None].to(x.dtype)


def cut_out(x: Tensor, top: Tensor, left: Tensor, height: int, width: int) -> Tensor:
    """Sets to 0 the rectangle of rows ``[top[i], top[i] + height)`` and columns ``[left[i], left[i] + width)``
    of image i, clipped to the image (``top``, ``left``: integers ``(N,)``)."""
    rows = torch.arange(x.shape[2], device=x.device) - top.view(-1, 1)
    cols = torch.arange(x.shape[3], device=x.device) - left.view(-1, 1)
    cut = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
    return x * (~cut)[:, None].to(x.dtype)


def flip(x: Tensor, flipped: Tensor) -> Tensor:
    """Mirrors left-right the images i where ``flipped[i]`` (bool ``(N,)``)."""
    return torch.where(flipped.view(-1, 1, 1, 1), x.flip(3), x)


def parse_policy(policy: Union[str, Sequence[str]]) -> list[str]:
    """The ops of a policy, ``"color,translation,cutout"`` or a list of names; an unknown name is one line."""
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    ops = []
    for name in (str(n).strip() for n in names):
        if name and name not in POLICIES:
            raise choose_from("DiffAugment policy", name, POLICIES)
        ops += POLICIES.get(name, ())
    return ops


class DiffAugment(Augmentation):
    """Differentiable augmentation of every image D sees (Zhao et al. 2020), per sample.

    The paper's policies, with its official code's magnitudes, for images ``(N, C, H, W)``
    in [-1, 1]:

    - ``color``: brightness ``x + b``, b ~ U(-0.5, 0.5) (a quarter of the range at most);
      saturation, each pixel's deviation from its channel mean times s ~ U(0, 2) (no-op on
      grey images); contrast, the deviation from the image mean times c ~ U(0.5, 1.5);
    - ``translation``: the content moves by up to ``round(translation_ratio * H)`` rows and
      as many columns (1/8 of the image: 4 px at 28 or 32 px), uniform integers, the
      uncovered border filled with 0;
    - ``cutout``: a square of side ``round(cutout_ratio * H)`` (half the image) is set to 0,
      its centre uniform over the image, clipped at the borders;
    - ``flip`` (not a DiffAugment policy; the consistency regulariser's default): a random
      half of the images mirrored left-right.

    Each op is applied to each sample with probability ``p`` (drawn independently, as ADA
    applies its ops), so :class:`~ganzoo.augmentation.AdaptiveAugment` can drive it; the
    parameters are drawn whatever ``p``, so the random stream does not depend on it. Every
    op is differentiable in ``x``: G learns through it.

    Args:
        policy: comma-separated names, or a list: ``color``, ``translation``, ``cutout``, ``flip``.
        p: probability of applying each op to each sample, in [0, 1]; 1 always applies.
        translation_ratio: the largest shift as a fraction of the image side.
        cutout_ratio: the square's side as a fraction of the image side.

    >>> x = torch.zeros(4, 1, 8, 8)
    >>> DiffAugment("translation,cutout")(x).shape
    torch.Size([4, 1, 8, 8])
    """

    def __init__(
        self,
        policy: Union[str, list[str]] = "color,translation,cutout",
        p: float = 1.0,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ):
        super().__init__()
        self.policy = policy if isinstance(policy, str) else ",".join(policy)
        self.ops = parse_policy(policy)
        self.p = check_number("DiffAugment p", p, "p=1.0", low=0, high=1)
        self.translation_ratio = check_number("translation_ratio", translation_ratio, "translation_ratio=0.125", low=0, high=1)
        self.cutout_ratio = check_number("cutout_ratio", cutout_ratio, "cutout_ratio=0.5", low=0, high=1)

    def probability(self) -> Union[float, Tensor]:
        """The probability of applying each op to a sample now: ``p`` (ADA's adapts)."""
        return self.p

    def draw(self, x: Tensor) -> dict[str, Tensor]:
        """Each op's parameters for the images ``x`` ``(N, C, H, W)``, by op: ``(N,)`` tensors (two for
        translation and cutout, stacked ``(2, N)``), already the identity for samples the op skips."""
        n, _, h, w = x.shape
        device = x.device
        params = {}
        for op in self.ops:
            applied = torch.rand(n, device=device) < self.probability()
            uniform = torch.rand(n, device=device)
            if op == "brightness":
                params[op] = torch.where(applied, uniform - 0.5, 0.0)
            elif op == "saturation":
                params[op] = torch.where(applied, uniform * 2, 1.0)
            elif op == "contrast":
                params[op] = torch.where(applied, uniform + 0.5, 1.0)
            elif op == "flip":
                params[op] = applied & (uniform < 0.5)
            else:  # translation and cutout: two integers per sample
                params[op] = torch.where(applied, self._offsets(op, n, h, w, device), self._identity(op, n, h, device))
        return params

    def _offsets(self, op: str, n: int, h: int, w: int, device) -> Tensor:
        if op == "translation":
            sy, sx = self.sizes(h, w, self.translation_ratio)
            return torch.stack([torch.randint(-sy, sy + 1, (n,), device=device), torch.randint(-sx, sx + 1, (n,), device=device)])
        # The official code: the centre is uniform over [0, side), or [0, side] for an even square,
        # and the square starts size // 2 before it.
        sy, sx = self.sizes(h, w, self.cutout_ratio)
        centre_y = torch.randint(0, h + 1 - sy % 2, (n,), device=device)
        centre_x = torch.randint(0, w + 1 - sx % 2, (n,), device=device)
        return torch.stack([centre_y - sy // 2, centre_x - sx // 2])

    @staticmethod
    def _identity(op: str, n: int, h: int, device) -> Tensor:
        # no shift; a cutout that starts below the image cuts nothing
        return torch.full((2, n), 0 if op == "translation" else h, device=device, dtype=torch.long)

    @staticmethod
    def sizes(h: int, w: int, ratio: float) -> tuple[int, int]:
        """``round(ratio * side)`` for the height and the width (the official code's ``int(s * r + 0.5)``)."""
        return int(h * ratio + 0.5), int(w * ratio + 0.5)

    def apply(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        """The images ``x`` ``(N, C, H, W)`` with the ops applied in the policy's order, with ``params`` from :meth:`draw`."""
        for op in self.ops:
            value = params[op]
            if op == "brightness":
                x = adjust_brightness(x, value)
            elif op == "saturation":
                x = adjust_saturation(x, value)
            elif op == "contrast":
                x = adjust_contrast(x, value)
            elif op == "flip":
                x = flip(x, value)
            elif op == "translation":
                x = translate(x, value[0], value[1])
            else:
                x = cut_out(x, value[0], value[1], *self.sizes(x.shape[2], x.shape[3], self.cutout_ratio))
        return x

    def forward(self, x: Tensor) -> Tensor:
        """Images ``(N, C, H, W)`` in [-1, 1], augmented: same shape, differentiable in ``x``."""
        if x.dim() != 4:
            raise ConfigError(
                f"{type(self).__name__} augments images (N, C, H, W), got samples of shape {tuple(x.shape)}; "
                "use it with image data, or leave augmentation unset"
            )
        return self.apply(x, self.draw(x)) if self.ops else x

    def extra_repr(self) -> str:
        return f"policy={self.policy!r}, p={self.p}"
