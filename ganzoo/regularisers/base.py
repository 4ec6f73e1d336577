"""The interface of D's regularisers: terms added to D's loss at each D step."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

import torch
from torch import Tensor, nn

from ganzoo.errors import ConfigError

if TYPE_CHECKING:  # the module imports this file
    from ganzoo.modules.gan import DiscriminatorStep, GANModule


class Regulariser(nn.Module):
    """A term added to D's loss in training (R1, R2, LeCam, consistency, ...).

    A model takes a list of them (``GANModule(regularisers=[...])``; in a YAML, a list of
    ``class_path`` entries under ``model.init_args.regularisers``). At each D step
    :meth:`GANModule.discriminator_penalty` adds every regulariser's :meth:`penalty` to
    D's loss, and the value is logged as ``train/d_<name>``. A regulariser is an
    ``nn.Module``: state it keeps across steps (LeCam's moving anchors) lives in buffers and
    is saved in checkpoints with the model. Weights and schedules are constructor arguments.

    Attributes:
        name: the log key's suffix, ``train/d_<name>``.
        differentiates_inputs: whether :meth:`penalty` differentiates D's output with
            respect to its input (R1, R2): such a penalty is wrong with a BatchNorm D,
            which mixes the samples of a batch, and the model warns once.
    """

    name: str = "regulariser"
    differentiates_inputs: bool = False

    def penalty(
        self,
        gan: "GANModule",
        real: Tensor,
        fake: Tensor,
        labels: Optional[Tensor],
        d_step: "DiscriminatorStep",
    ) -> Optional[Tensor]:
        """The weighted term to add to D's loss for this step, a scalar; ``None`` skips this step (a lazy one).

        Args:
            gan: the model; ``gan.discriminate(x, labels)`` gives D's raw scores ``(N,)``,
                ``gan.d_steps`` counts D's updates so far, ``gan.gradient_scale()`` is the
                grad scaler's scale under ``16-mixed`` (multiply before ``autograd.grad``,
                divide after).
            real: the real batch as D sees it (after augmentation), ``(N, *S)``.
            fake: the generated batch as D sees it, detached from G, ``(N, *S)``.
            labels: class labels ``(N,)`` of a conditional model, else ``None``.
            d_step: this step's :class:`~ganzoo.modules.gan.DiscriminatorStep` (D's scores on
                ``real`` and ``fake``, with their graph).
        """
        raise NotImplementedError(f"{type(self).__name__} must define penalty()")

    def adjust_optimizer(self, optimizer: "torch.optim.Optimizer") -> None:
        """Adapts D's optimizer to this regulariser once, when the model builds it; nothing by default.

        A lazy penalty may rescale D's learning rate and betas here (StyleGAN2); the model
        calls it before any learning-rate scheduler is built, so schedules start from the
        adjusted values.
        """


def penalties(
    gan: "GANModule",
    regularisers: Iterable[Regulariser],
    real: Tensor,
    fake: Tensor,
    labels: Optional[Tensor],
    d_step: "DiscriminatorStep",
) -> dict[str, Tensor]:
    """Each regulariser's term for this D step by its name, leaving out those that skip it (lazy ones)."""
    terms = {}
    for regulariser in regularisers:
        value = regulariser.penalty(gan, real, fake, labels, d_step)
        if value is not None:
            terms[regulariser.name] = value
    return terms


def adjust_optimizer(regularisers: Iterable[Regulariser], optimizer: "torch.optim.Optimizer") -> None:
    """Lets each regulariser adapt D's optimizer (:meth:`Regulariser.adjust_optimizer`)."""
    for regulariser in regularisers:
        regulariser.adjust_optimizer(optimizer)


def check_regularisers(regularisers: Optional[Iterable[Regulariser]]) -> nn.ModuleList:
    """The model's regularisers as a ModuleList; one line for an entry that is not one, or two of one name."""
    checked = nn.ModuleList()
    for regulariser in regularisers or []:
        if not isinstance(regulariser, Regulariser):
            raise ConfigError(
                f"regularisers holds {regulariser!r}, which is not a ganzoo.regularisers.Regulariser; "
                "pass instances such as ganzoo.R1(gamma=10)"
            )
        if regulariser.name in [other.name for other in checked]:
            raise ConfigError(
                f"two regularisers log as train/d_{regulariser.name}; keep one {type(regulariser).__name__}, "
                "or give each its own name"
            )
        checked.append(regulariser)
    return checked
