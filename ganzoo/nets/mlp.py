"""Multilayer perceptrons in the spirit of Goodfellow et al. (2014).

Plain ``nn.Module`` s that only define ``forward``: they know nothing of training.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

from torch import Tensor, nn

from ganzoo.errors import ConfigError, choose_from

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": lambda: nn.ELU(),
    "tanh": lambda: nn.Tanh(),
    "sigmoid": lambda: nn.Sigmoid(),
}


def activation(name: str) -> nn.Module:
    """A fresh activation layer by name (``leaky_relu`` has slope 0.2, as in DCGAN)."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise choose_from("activation", name, ACTIVATIONS) from None


def _check_widths(hidden_dims: Sequence[int]) -> list[int]:
    widths = list(hidden_dims)
    bad = [w for w in widths if not isinstance(w, int) or w <= 0]
    if bad:
        raise ConfigError(f"hidden_dims must be positive integers, got {widths}; e.g. hidden_dims=[128, 128]")
    return widths


class MLPGenerator(nn.Module):
    """Maps latent codes to samples through fully connected layers.

    Args:
        latent_dim: size d of z.
        out_shape: shape S of one sample, e.g. ``(1,)`` or ``(1, 8, 8)``.
        hidden_dims: widths of the hidden layers.
        hidden_activation: activation name between layers.
        output_activation: ``None`` for unbounded data, ``"tanh"`` for data in [-1, 1].
        batch_norm: BatchNorm1d after each hidden linear layer.
    """

    def __init__(
        self,
        latent_dim: int,
        out_shape: Sequence[int],
        hidden_dims: Sequence[int] = (128, 128),
        hidden_activation: str = "relu",
        output_activation: Optional[str] = None,
        batch_norm: bool = False,
    ):
        super().__init__()
        self.out_shape = tuple(out_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for hidden in _check_widths(hidden_dims):
            layers.append(nn.Linear(width, hidden))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(activation(hidden_activation))
            width = hidden
        layers.append(nn.Linear(width, math.prod(self.out_shape)))
        if output_activation is not None:
            layers.append(activation(output_activation))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        """z of shape ``(N, d)`` -> samples of shape ``(N, *out_shape)``."""
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """Maps samples to one raw score each (a logit for the BCE losses).

    Args:
        in_shape: shape S of one sample.
        hidden_dims: widths of the hidden layers.
        hidden_activation: activation name between layers.
        dropout: dropout probability after each hidden layer (Goodfellow et al. used it in D).
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        hidden_dims: Sequence[int] = (128, 128),
        hidden_activation: str = "leaky_relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(tuple(in_shape))
        for hidden in _check_widths(hidden_dims):
            layers += [nn.Linear(width, hidden), activation(hidden_activation)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Samples of shape ``(N, *in_shape)`` -> raw scores of shape ``(N,)``."""
        return self.net(x).squeeze(1)
