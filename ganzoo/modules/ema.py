"""G's moving average: one small object in the manner of timm's ``ModelEmaV3``."""
from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from ganzoo.errors import check_nonnegative_int, check_number


class ModelEma:
    """An exponential moving average of a network's weights (Karras et al. 2018, Yazıcı et al. 2019).

    ``avg <- d * avg + (1 - d) * model`` after each update of the model, with the decay
    ``d = get_decay(step)``; during the first ``start`` steps the average is a plain copy,
    so the first, poor weights do not linger in it. Buffers (BatchNorm's running
    statistics) are copied, as in StyleGAN2-ADA.

    The averaged copy is :attr:`module`, never trained by an optimizer; its owner registers
    it as a submodule (GANModule's ``generator_ema``), so checkpoints save it and ``.to()``
    moves it.

    Args:
        model: the network to average; copied once.
        decay: the decay once warmed up, in ``(0, 1)`` (e.g. 0.999).
        start: steps during which the average is a copy of the model.
    """

    def __init__(self, model: nn.Module, decay: float, start: int = 0):
        self.decay, self.start = check_settings(decay, start)
        self.module = copy.deepcopy(model).requires_grad_(False)

    def get_decay(self, step: int) -> float:
        """The decay of the update after the model's ``step``-th update: ``min(decay, (1 + t) / (10 + t))``,
        t the steps averaged before it.

        The warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=...)``: a plain
        average with decay 0.999 would still give the random initial weights e^-3 = 5% of
        their weight after 3,000 steps; the warm-up forgets them within a few steps.
        """
        t = max(step - self.start - 1, 0)
        return min(self.decay, (1 + t) / (10 + t))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Moves the average toward ``model`` after its ``step``-th update (counted from 1)."""
        average, live = list(self.module.parameters()), list(model.parameters())
        if step <= self.start:
            torch._foreach_copy_(average, live)
        else:
            torch._foreach_lerp_(average, live, 1.0 - self.get_decay(step))
        for kept, buffer in zip(self.module.buffers(), model.buffers()):
            kept.copy_(buffer)

    @contextmanager
    def swapped_in(self, owner: nn.Module, name: str) -> Iterator[None]:
        """Puts the average in place of ``owner``'s submodule ``name`` while the block runs, so every
        method of the owner (a variant's ``forward`` too) uses it; the live network is back after."""
        live = owner._modules[name]
        owner._modules[name] = self.module
        try:
            yield
        finally:
            owner._modules[name] = live


def check_settings(decay, start) -> tuple:
    """``(decay, start)`` when ``decay`` is ``None`` or in ``(0, 1)`` and ``start`` an integer >= 0; else one line."""
    if decay is not None:
        decay = check_number("ema_decay", decay, "ema_decay=0.999, or leave it out", low=0, high=1, low_open=True, high_open=True)
    return decay, check_nonnegative_int("ema_start", start, "ema_start=0")
