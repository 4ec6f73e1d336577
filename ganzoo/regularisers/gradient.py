"""R1 and R2: penalties on the norm of D's input gradient at real (R1) or generated (R2) samples.

Mescheder, Geiger & Nowozin (2018), "Which Training Methods for GANs do actually Converge?":
``R1 = gamma / 2 * E_x ||grad_x D(x)||^2`` over real samples, ``R2`` the same over generated
ones. Either may be lazy (Karras et al. 2020, StyleGAN2): computed at every ``every``-th D
step only and multiplied by ``every`` there, so its average over steps is unchanged.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import torch
from torch import Tensor

from ganzoo.errors import check_number, check_positive_int
from ganzoo.losses import critic_input_gradients
from ganzoo.nets.packing import samples_per_score
from ganzoo.regularisers.base import Regulariser

if TYPE_CHECKING:
    from ganzoo.modules.gan import DiscriminatorStep, GANModule


def squared_gradient_norm(gan: "GANModule", x: Tensor, labels: Optional[Tensor]) -> Tensor:
    """``E ||grad_x D(x)||^2`` over D's inputs, for samples ``x`` ``(N, *S)`` of any shape, a float32 scalar.

    A D that judges packs of m samples with one score (PacGAN, ``d_pack``) has a pack as its
    input: the norm is taken over each pack's m samples, the mean over the N / m packs.
    Differentiable in D's parameters only: ``x`` is detached first, so nothing flows back
    to G or to the data. Under ``16-mixed`` the gradient is taken at the grad scaler's
    scale and divided by it in float32 (:func:`~ganzoo.losses.critic_input_gradients`).
    """
    x = x.detach().requires_grad_(True)
    grad = critic_input_gradients(lambda inputs: gan.discriminate(inputs, labels), x, gan.gradient_scale())
    return grad.reshape(x.shape[0] // samples_per_score(gan.discriminator), -1).pow(2).sum(1).mean()


class _InputGradientPenalty(Regulariser):
    """``every * gamma / 2 * E ||grad_x D(x)||^2`` at every ``every``-th D step, on real or generated samples."""

    differentiates_inputs = True
    #: whether the penalty is taken at the real samples (R1) or the generated ones (R2).
    on_real: bool = True

    def __init__(self, gamma: float = 10.0, every: int = 1, rescale_optimizer: bool = False):
        super().__init__()
        example = f"{type(self).__name__}(gamma=10)"
        self.gamma = check_number(f"{self.name} gamma", gamma, example, low=0)
        self.every = check_positive_int(f"{self.name} every", every, f"{type(self).__name__}(every=16)")
        self.rescale_optimizer = bool(rescale_optimizer)

    def adjust_optimizer(self, optimizer: "torch.optim.Optimizer") -> None:
        """With ``rescale_optimizer``, StyleGAN2's correction for lazy regularisation: D's learning rate
        times ``c = every / (every + 1)`` and each beta to the power ``c`` (Adam-like optimizers), so
        the optimizer's time constants count the extra penalty steps too."""
        if not self.rescale_optimizer or self.every == 1:
            return
        ratio = self.every / (self.every + 1)
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * ratio
            if "betas" in group:
                group["betas"] = tuple(beta**ratio for beta in group["betas"])

    def penalty(
        self, gan: "GANModule", real: Tensor, fake: Tensor, labels: Optional[Tensor], d_step: "DiscriminatorStep"
    ) -> Optional[Tensor]:
        """The weighted penalty at D steps 0, every, 2 every, ... (counted by ``gan.d_steps``), else ``None``."""
        if gan.d_steps % self.every:
            return None
        return self.every * self.gamma / 2 * squared_gradient_norm(gan, real if self.on_real else fake, labels)

    def extra_repr(self) -> str:
        rescale = ", rescale_optimizer=True" if self.rescale_optimizer else ""
        return f"gamma={self.gamma}, every={self.every}{rescale}"


class R1(_InputGradientPenalty):
    """The R1 penalty ``gamma / 2 * E_x ||grad_x D(x)||^2`` on real samples (Mescheder et al. 2018).

    Pulls D's gradient on the data to zero, which makes simultaneous gradient descent
    converge locally near the equilibrium. Logged as ``train/d_r1``. Published weights:
    gamma 10 (CelebA-HQ, LSUN at 256 px), 0.01-100 for StyleGAN2 depending on the
    resolution; it scales with the squared input range, so small images want smaller gamma.

    Args:
        gamma: the weight gamma, >= 0.
        every: compute it at every ``every``-th D step only, weighted by ``every`` (lazy
            regularisation, StyleGAN2 uses 16); 1 computes it at every step.
        rescale_optimizer: with ``every`` > 1, also scale D's learning rate by
            ``c = every / (every + 1)`` and raise its betas to the power ``c``, as StyleGAN2
            does for its lazy R1 (``False`` leaves D's optimizer as configured).

    Example:
        >>> import ganzoo
        >>> model = ganzoo.VanillaGAN(data_shape=[2], regularisers=[ganzoo.R1(gamma=1.0, every=4)])
    """

    name = "r1"
    on_real = True


class R2(_InputGradientPenalty):
    """The R2 penalty ``gamma / 2 * E_z ||grad_x D(x)||^2`` at generated samples ``x = G(z)`` (Mescheder et al. 2018).

    Logged as ``train/d_r2``; R1 and R2 together are the regulariser of R3GAN (Huang et al. 2024).

    Args:
        gamma: the weight gamma, >= 0.
        every: compute it at every ``every``-th D step only, weighted by ``every``.
        rescale_optimizer: with ``every`` > 1, StyleGAN2's rescaling of D's learning rate and betas
            (see :class:`R1`).
    """

    name = "r2"
    on_real = False
