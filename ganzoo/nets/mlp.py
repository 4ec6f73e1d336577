"""Multilayer perceptrons in the spirit of Goodfellow et al. (2014).

Plain ``nn.Module`` s that only define ``forward``: they know nothing of training.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.errors import ConfigError, check_nonnegative_int, check_number, check_positive_int, choose_from
from ganzoo.nets.packing import MinibatchStd, pack_samples

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


#: normalisation of an MLP discriminator's linear layers, by name.
MLP_NORMS = ("none", "spectral")


class MLPDiscriminator(nn.Module):
    """Maps samples to one raw score each (a logit for the BCE losses).

    ``features`` flattens a sample and applies the hidden layers (``feature_dim``
    values out); ``head`` is the linear score. The conditional discriminators of
    :mod:`ganzoo.nets.conditional` reuse ``features`` with heads of their own.

    Args:
        in_shape: shape S of one sample.
        hidden_dims: widths of the hidden layers.
        hidden_activation: activation name between layers.
        dropout: dropout probability after each hidden layer (Goodfellow et al. used it in D).
        norm: ``"none"``, or ``"spectral"`` for spectral norm on every linear layer
            (Miyato et al. 2018).
        pack: samples judged together (PacGAN, Lin et al. 2018): ``m`` consecutive samples
            are joined into one input of ``m`` times the size, and D gives one score per
            pack, ``N / m`` scores; 1 judges each sample alone.
        minibatch_std: group size of a minibatch standard-deviation feature (Karras et al.
            2018) appended to the last hidden layer (so ``feature_dim`` is one more); 0 for none.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        hidden_dims: Sequence[int] = (128, 128),
        hidden_activation: str = "leaky_relu",
        dropout: float = 0.0,
        norm: str = "none",
        pack: int = 1,
        minibatch_std: int = 0,
    ):
        super().__init__()
        #: samples judged by one score (PacGAN's m).
        self.pack = check_positive_int("discriminator pack (d_pack)", pack, "d_pack=2")
        check_nonnegative_int("discriminator minibatch std group (d_minibatch_std)", minibatch_std, "d_minibatch_std=4")
        if norm not in MLP_NORMS:
            raise choose_from("MLP discriminator norm", norm, MLP_NORMS)
        check_number("MLP discriminator dropout", dropout, "dropout=0.3", low=0, high=1, high_open=True)
        layers: list[nn.Module] = [nn.Flatten()]
        width = pack * math.prod(tuple(in_shape))
        for hidden in _check_widths(hidden_dims):
            layers += [nn.Linear(width, hidden), activation(hidden_activation)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        if minibatch_std:
            layers.append(MinibatchStd(minibatch_std))
            width += 1
        #: size of a sample's features, the last hidden width (plus one with ``minibatch_std``).
        self.feature_dim = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)
        if norm == "spectral":
            for layer in list(self.modules()):
                if isinstance(layer, nn.Linear):
                    spectral_norm(layer)

    def forward(self, x: Tensor) -> Tensor:
        """Samples of shape ``(N, *in_shape)`` -> raw scores of shape ``(N / pack,)``."""
        return self.head(self.features(pack_samples(x, self.pack))).squeeze(1)
