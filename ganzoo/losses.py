"""GAN losses as pure functions of the discriminator's raw outputs, in one table.

Every function takes D's raw, pre-sigmoid outputs ("logits"), shape ``(N,)``, and
returns a scalar to *minimise*. Working on logits keeps the log-sigmoid terms
numerically stable and safe under autocast (no ``sigmoid`` followed by ``BCE``).

With ``D(x) = sigmoid(logit)``, the game of Goodfellow et al. (2014) is::

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

so D minimises ``-V``, and ``log D = -softplus(-logit)``, ``log(1 - D) = -softplus(logit)``.
At the equilibrium D outputs 1/2 everywhere and the ``minimax`` D loss is ``2 log 2``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import choose_from


def bce_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    """``-V(D, G)``: binary cross-entropy with label 1 on real and 0 on fake, summed."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def minimax_generator(fake: Tensor) -> Tensor:
    """The original, saturating G loss ``E[log(1 - D(G(z)))]``; its gradient vanishes when D wins."""
    return -F.softplus(fake).mean()


def non_saturating_generator(fake: Tensor) -> Tensor:
    """``-E[log D(G(z))]``: G trained with label 1 on its fakes (the non-saturating trick)."""
    return F.softplus(-fake).mean()


def wasserstein_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    """The critic's loss ``E[D(G(z))] - E[D(x)]`` (Arjovsky et al. 2017); needs a Lipschitz constraint."""
    return fake.mean() - real.mean()


def wasserstein_generator(fake: Tensor) -> Tensor:
    """``-E[D(G(z))]``, also the generator loss of the hinge game."""
    return -fake.mean()


def hinge_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    """``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def lsgan_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    """Least squares with targets 1 (real) and 0 (fake) (Mao et al. 2017)."""
    return 0.5 * (real - 1.0).pow(2).mean() + 0.5 * fake.pow(2).mean()


def lsgan_generator(fake: Tensor) -> Tensor:
    """Least squares pulling D's output on fakes to the real target 1."""
    return 0.5 * (fake - 1.0).pow(2).mean()


def critic_input_gradients(critic: Callable[[Tensor], Tensor], x: Tensor, scale: Union[float, Tensor] = 1.0) -> Tensor:
    """``grad_x sum(D(x))``, the gradient of D's outputs with respect to its inputs, in float32.

    Differentiable in D's parameters (the graph is kept), for penalties on it (WGAN-GP, R1).

    Args:
        critic: maps samples of shape ``(N, *S)`` to outputs of shape ``(N,)``.
        x: samples ``(N, *S)`` with ``requires_grad``.
        scale: under ``16-mixed``, the grad scaler's current scale: D's output is multiplied
            by it before the gradient is taken and the gradient divided by it after, in
            float32, so small gradients do not underflow in float16 (PyTorch's AMP recipe for
            gradient penalties). 1 otherwise.

    Returns:
        The gradients, shape ``(N, *S)``; infinite where the scaled gradient overflowed, which
        makes the grad scaler skip that update and lower its scale.
    """
    (grad,) = torch.autograd.grad(critic(x).sum() * scale, x, create_graph=True)
    return grad.float() / scale


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, scale: Union[float, Tensor] = 1.0, pack: int = 1
) -> Tensor:
    """WGAN-GP penalty ``E[(||grad_x D(x_hat)||_2 - 1)^2]`` (Gulrajani et al. 2017).

    ``x_hat`` lies on random straight lines between real and fake samples. For a critic that
    judges packs of ``pack`` samples with one score (PacGAN), a pack is one point of its input:
    the pack's samples share one position on the line, and the norm is taken over the pack.

    Args:
        critic: maps samples of shape ``(N, *S)`` to outputs of shape ``(N,)``.
        real: real samples, shape ``(N, *S)``.
        fake: generated samples of the same shape (detached from G).
        scale: the grad scaler's scale under ``16-mixed``, else 1; see :func:`critic_input_gradients`.
        pack: samples per score of the critic (its outputs are ``(N / pack,)``).

    Returns:
        The scalar penalty, differentiable in the critic's parameters.
    """
    alpha = torch.rand((real.shape[0] // pack,) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    alpha = alpha.repeat_interleave(pack, dim=0)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    grad = critic_input_gradients(critic, x_hat, scale)
    return (grad.reshape(real.shape[0] // pack, -1).norm(2, dim=1) - 1.0).pow(2).mean()


@dataclass(frozen=True)
class GANLoss:
    """One entry of the loss table.

    Attributes:
        name: the name users pass as ``loss``.
        discriminator: ``(real_logits, fake_logits) -> scalar``, minimised by D.
        generator: ``fake_logits -> scalar``, minimised by G.
        gradient_penalty: default weight of :func:`gradient_penalty` for this loss.
        probabilistic: D's output is the logit of P(real), so ``sigmoid`` of it is D(x).
        threshold: output above which D calls a sample real (for its accuracy);
            ``None`` where the output has no fixed decision level (a WGAN critic).
    """

    name: str
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor], Tensor]
    gradient_penalty: float = 0.0
    probabilistic: bool = False
    threshold: Optional[float] = 0.0

    def score(self, logits: Tensor) -> Tensor:
        """D's output as users read it: a probability for the BCE losses, the raw score otherwise."""
        return torch.sigmoid(logits) if self.probabilistic else logits


LOSSES: dict[str, GANLoss] = {
    loss.name: loss
    for loss in (
        GANLoss("minimax", bce_discriminator, minimax_generator, probabilistic=True),
        GANLoss("non_saturating", bce_discriminator, non_saturating_generator, probabilistic=True),
        GANLoss("wgan_gp", wasserstein_discriminator, wasserstein_generator, gradient_penalty=10.0, threshold=None),
        GANLoss("hinge", hinge_discriminator, wasserstein_generator),
        GANLoss("lsgan", lsgan_discriminator, lsgan_generator, threshold=0.5),
    )
}
"""The loss table: ``minimax``, ``non_saturating``, ``wgan_gp``, ``hinge`` and ``lsgan``, by name."""


def get_loss(name: str) -> GANLoss:
    """The table entry for ``name``; an unknown name raises one line listing the valid ones."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise choose_from("loss", name, LOSSES) from None


__all__ = ["GANLoss", "LOSSES", "critic_input_gradients", "get_loss", "gradient_penalty"]
