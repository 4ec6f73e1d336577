"""The LeCam regulariser (Tseng et al. 2021, "Regularizing Generative Adversarial Networks under Limited Data").

It pulls D's scores on real samples toward a moving average of its scores on generated
ones, and its scores on generated samples toward a moving average of those on real ones::

    R_LC = E_x[(D(x) - alpha_F)^2] + E_z[(D(G(z)) - alpha_R)^2]

``alpha_R`` and ``alpha_F`` are exponential moving averages (decay 0.99) of D's mean raw
score on real and on generated batches. The paper shows that the term bounds the LeCam
divergence between the data and G's distribution, and that it keeps D's predictions from
drifting apart when D overfits a small training set.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import check_nonnegative_int, check_number
from ganzoo.regularisers.base import Regulariser

if TYPE_CHECKING:
    from ganzoo.modules.gan import DiscriminatorStep, GANModule


def lecam_distance(real_logits: Tensor, fake_logits: Tensor, anchor_real: Tensor, anchor_fake: Tensor, one_sided: bool = True) -> Tensor:
    """The unweighted LeCam term from D's raw scores ``(N,)`` and the two anchors (scalars).

    Real scores are measured against the *fake* anchor and fake scores against the *real* one.
    ``one_sided`` keeps only the parts where the scores lie beyond the other side's anchor
    (``relu(D(x) - alpha_F)^2 + relu(alpha_R - D(G(z)))^2``), as the authors' code does;
    otherwise the two-sided squares of the paper's equation.
    """
    real_gap, fake_gap = real_logits.float() - anchor_fake, anchor_real - fake_logits.float()
    if one_sided:
        real_gap, fake_gap = F.relu(real_gap), F.relu(fake_gap)
    return real_gap.pow(2).mean() + fake_gap.pow(2).mean()


class LeCam(Regulariser):
    """``weight * R_LC`` with moving anchors, logged as ``train/d_lecam`` (Tseng et al. 2021).

    At each D step the anchors first take in this batch's mean scores (D's scores of the
    step, no second forward), then the term is computed against them, as in the authors'
    code. The anchors are buffers (``anchor_real``, ``anchor_fake``), saved in checkpoints,
    so a resumed run continues with them. The first update sets them to the batch's means.
    Under DDP the batch means are averaged over the processes, so every process keeps the
    same anchors.

    Args:
        weight: lambda; the authors use 0.3 on CIFAR-10 (BigGAN, hinge loss) and 0.01 or
            less with StyleGAN2 on larger images.
        decay: the anchors' decay per D step (0.99 in the authors' code).
        ema_start: D steps during which each anchor is the latest batch mean (decay 0), so
            the first, quickly changing scores do not linger (the authors' code uses 1000
            with BigGAN).
        one_sided: the authors' code's form, ``relu(D(x) - alpha_F)^2 + relu(alpha_R -
            D(G(z)))^2`` (True), or the paper's equation with plain squares (False).

    Example:
        >>> import ganzoo
        >>> model = ganzoo.VanillaGAN(data_shape=[2], loss="hinge", regularisers=[ganzoo.LeCam(weight=0.3)])
    """

    name = "lecam"

    def __init__(self, weight: float = 0.3, decay: float = 0.99, ema_start: int = 0, one_sided: bool = True):
        super().__init__()
        self.weight = check_number("LeCam weight", weight, "LeCam(weight=0.3)", low=0)
        self.decay = check_number("LeCam decay", decay, "LeCam(decay=0.99)", low=0, high=1)
        self.ema_start = check_nonnegative_int("LeCam ema_start", ema_start, "LeCam(ema_start=1000)")
        self.one_sided = bool(one_sided)
        self.register_buffer("anchor_real", torch.zeros(()))
        self.register_buffer("anchor_fake", torch.zeros(()))
        #: anchor updates so far (the first sets the anchors); a buffer, so checkpoints keep it.
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))

    @torch.no_grad()
    def update(self, real_mean: Tensor, fake_mean: Tensor) -> None:
        """Moves the anchors toward D's mean scores on this step's real and fake batches (scalars)."""
        decay = self.decay if int(self.updates) >= max(self.ema_start, 1) else 0.0
        self.anchor_real.mul_(decay).add_((1 - decay) * real_mean.float())
        self.anchor_fake.mul_(decay).add_((1 - decay) * fake_mean.float())
        self.updates += 1

    def penalty(
        self, gan: "GANModule", real: Tensor, fake: Tensor, labels: Optional[Tensor], d_step: "DiscriminatorStep"
    ) -> Tensor:
        """``weight * R_LC`` on the step's scores ``d_step.real_logits`` and ``fake_logits`` ``(N,)``, after the anchors' update."""
        means = torch.stack([d_step.real_logits.detach().float().mean(), d_step.fake_logits.detach().float().mean()])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            means = gan.all_gather(means).reshape(-1, 2).mean(0)
        self.update(means[0], means[1])
        return self.weight * lecam_distance(
            d_step.real_logits, d_step.fake_logits, self.anchor_real, self.anchor_fake, self.one_sided
        )

    def extra_repr(self) -> str:
        return f"weight={self.weight}, decay={self.decay}, ema_start={self.ema_start}, one_sided={self.one_sided}"
