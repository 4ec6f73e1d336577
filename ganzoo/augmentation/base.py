"""The interface of augmentations: transforms of every batch D sees in training."""
from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

if TYPE_CHECKING:  # the module imports this file
    from ganzoo.modules.gan import DiscriminatorStep, GANModule


class Augmentation(nn.Module):
    """Transforms the samples D sees in training: real and generated, in both players' steps.

    A model takes one (``GANModule(augmentation=...)``; in a YAML, a ``class_path`` under
    ``model.init_args.augmentation``); :meth:`GANModule.augment` applies it to the real and
    the generated batch of D's step and to the generated batch of G's step, never in
    validation. G's gradient flows through :meth:`forward`, so it must be differentiable.
    State it adapts during training (ADA's probability) lives in buffers, saved in
    checkpoints with the model.
    """

    def forward(self, x: Tensor) -> Tensor:
        """Samples ``(N, *S)`` transformed, same shape; differentiable in ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def observe(self, gan: "GANModule", d_step: "DiscriminatorStep") -> None:
        """Called after each D update with its scores on the augmented batches; adaptive schemes
        (ADA) adjust themselves here. Under DDP every process calls it; statistics that decide a
        shared setting must be reduced across processes (``gan.all_gather``). Does nothing by default."""

    def log_values(self) -> dict[str, Tensor]:
        """Scalars to log as ``train/<key>`` at logging steps (say ``augment_p``); none by default."""
        return {}
