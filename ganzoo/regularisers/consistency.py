"""Balanced consistency regularisation (bCR; Zhao et al. 2020, "Improved Consistency Regularization for GANs")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from torch import Tensor

from ganzoo.augmentation.base import Augmentation
from ganzoo.augmentation.diffaugment import DiffAugment
from ganzoo.errors import check_number
from ganzoo.regularisers.base import Regulariser

if TYPE_CHECKING:
    from ganzoo.modules.gan import DiscriminatorStep, GANModule


class BalancedConsistency(Regulariser):
    """D's scores should not change under a transform T that keeps a sample's meaning::

        lambda_real * E[(D(x) - D(T(x)))^2] + lambda_fake * E[(D(G(z)) - D(T(G(z))))^2]

    on D's raw scores, both terms differentiated (D learns from them; the fakes reach it
    detached from G). ``x`` and ``G(z)`` are the batches as D sees them (after the model's
    ``augmentation``, if any), and ``D(x)``, ``D(G(z))`` are the step's own scores
    (:class:`~ganzoo.modules.gan.DiscriminatorStep`), so bCR costs two more D forwards.
    Logged as ``train/d_bcr``.

    T is random, drawn anew at each step. The paper's (for CIFAR-10) is a random horizontal
    flip and a translation by up to 1/8 of the image (4 px at 32 px), the default here:
    ``DiffAugment("flip,translation")`` (zero filled). A flip changes what some digits mean
    (MNIST): pass ``transform=DiffAugment("translation")`` there.

    Args:
        lambda_real: weight of the real term (10 in the paper).
        lambda_fake: weight of the fake term (10 in the paper); 0 gives the original CR
            (Zhang et al. 2020), on real samples only.
        transform: T, an :class:`~ganzoo.augmentation.Augmentation` of samples ``(N, *S)``;
            ``None`` for the paper's flip and translation (images only).
    """

    name = "bcr"

    def __init__(self, lambda_real: float = 10.0, lambda_fake: float = 10.0, transform: Optional[Augmentation] = None):
        super().__init__()
        self.lambda_real = check_number("bCR lambda_real", lambda_real, "lambda_real=10", low=0)
        self.lambda_fake = check_number("bCR lambda_fake", lambda_fake, "lambda_fake=10", low=0)
        self.transform = transform if transform is not None else DiffAugment("flip,translation")

    def penalty(
        self,
        gan: "GANModule",
        real: Tensor,
        fake: Tensor,
        labels: Optional[Tensor],
        d_step: "DiscriminatorStep",
    ) -> Tensor:
        """The weighted bCR term, a scalar (see the class)."""
        term = real.new_zeros(())
        for weight, samples, scores in ((self.lambda_real, real, d_step.real_logits), (self.lambda_fake, fake, d_step.fake_logits)):
            if weight:
                transformed = gan.discriminate(self.transform(samples), labels)
                term = term + weight * (scores.float() - transformed.float()).pow(2).mean()
        return term
