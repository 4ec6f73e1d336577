"""Latent priors p(z), by name.

``uniform`` is U(-1, 1)^d, the noise of Goodfellow et al. (2014); ``normal`` is N(0, I_d),
the usual choice since DCGAN.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from ganzoo.errors import choose_from

Sampler = Callable[[tuple, Optional[torch.Generator], torch.device], Tensor]
"""``sampler(shape, rng, device)``: draws with ``rng`` on the generator's own device when one
is given (a seeded CPU generator gives the same codes whatever the model's device), then
returns the codes on ``device``."""


def _normal(shape: tuple, rng: Optional[torch.Generator], device: torch.device) -> Tensor:
    return torch.randn(shape, generator=rng, device=device if rng is None else rng.device).to(device)


def _uniform(shape: tuple, rng: Optional[torch.Generator], device: torch.device) -> Tensor:
    z = torch.rand(shape, generator=rng, device=device if rng is None else rng.device).to(device)
    return z.mul_(2.0).sub_(1.0)


PRIORS: dict[str, Sampler] = {"normal": _normal, "uniform": _uniform}
"""The latent priors by name: ``normal`` (N(0, I)) and ``uniform`` (U(-1, 1)), each a :data:`Sampler`."""


def get_prior(name: str) -> Sampler:
    """The sampler for ``name``; an unknown name raises one line listing the valid ones."""
    try:
        return PRIORS[name]
    except (KeyError, TypeError):
        raise choose_from("prior", name, PRIORS) from None
