"""Adaptive augmentation (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Union

import torch
from torch import Tensor

from ganzoo.augmentation.diffaugment import DiffAugment
from ganzoo.errors import check_number, check_positive_int
from ganzoo.nets.packing import samples_per_score

if TYPE_CHECKING:
    from ganzoo.modules.gan import DiscriminatorStep, GANModule


def sum_over_processes(values: Tensor) -> Tensor:
    """``values`` summed over the processes of a DDP run (every process gets the sum); as is otherwise."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        values = values.clone()
        torch.distributed.all_reduce(values)
    return values


class AdaptiveAugment(DiffAugment):
    """DiffAugment's ops applied with a probability p that ADA's overfitting heuristic adjusts.

    Every ``interval`` D updates, ``r_t = E[sign(D(x_real) - t)]`` over the real samples D saw in
    them (augmented, as D sees them; ``t`` is the loss's decision level, ``gan.loss_fn.threshold``:
    0 for the logistic and hinge losses, 0.5 for ``lsgan``, 0 for a WGAN critic, whose scores have
    no fixed level and make a poor heuristic) says how sure D is of the real data. When
    ``r_t > target`` D is overfitting and p rises, else it falls, by::

        p <- clip(p + sign(r_t - target) * images / speed_img, 0, 1)

    where ``images`` is the number of real images of those updates over all processes (batch
    times ``interval``), so p can go from 0 to 1 in ``speed_img`` images (500k in the paper).
    The statistics are summed over DDP processes at every D update (three numbers), so every
    process holds the same ones and gets the same p. p is kept
    as a whole number of images (``p * speed_img``, a buffer with the accumulators) so that
    checkpoints restore it exactly and no precision setting rounds it. Logged: ``augment_p``
    and ``augment_rt``.

    Only p's control is ADA's: the ops are DiffAugment's (colour, translation, cutout), each
    applied to each sample with probability p. ADA's own 18-op pipeline (rotations, scaling,
    anisotropic filtering, ...) is out of scope here.

    Args:
        policy: DiffAugment's ops (see :class:`DiffAugment`).
        target: the r_t that p holds D at (0.6 in the paper).
        interval: D updates between adjustments (4 in the paper).
        speed_img: images for p to go from 0 to 1 (500,000 in the paper).
        initial_p: p at the start.
        translation_ratio: as in :class:`DiffAugment`.
        cutout_ratio: as in :class:`DiffAugment`.
    """

    def __init__(
        self,
        policy: Union[str, list[str]] = "color,translation,cutout",
        target: float = 0.6,
        interval: int = 4,
        speed_img: int = 500_000,
        initial_p: float = 0.0,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ):
        super().__init__(policy, initial_p, translation_ratio, cutout_ratio)
        self.target = check_number("ADA target", target, "target=0.6", low=-1, high=1)
        self.interval = check_positive_int("ADA interval", interval, "interval=4")
        self.speed_img = check_positive_int("ADA speed_img", speed_img, "speed_img=500000")
        self.register_buffer("level", torch.tensor(round(self.p * speed_img), dtype=torch.long))  # p * speed_img
        # sum of sign(D(real) - t), number of scores and of images since the last adjustment
        self.register_buffer("accumulated", torch.zeros(3, dtype=torch.long))
        self.register_buffer("last_rt", torch.tensor(float("nan")))

    def probability(self) -> Tensor:
        """p now, a 0-d tensor on the module's device (read without a device sync)."""
        return self.level.float() / self.speed_img  # float32, not float64: MPS has none

    def observe(self, gan: "GANModule", d_step: "DiscriminatorStep") -> None:
        """Adds D's scores on this update's real samples to the statistics; adjusts p every ``interval`` D updates."""
        scores = d_step.real_logits.detach()
        threshold = gan.loss_fn.threshold or 0.0
        signs = torch.sign(scores.float() - threshold).sum().long()
        images = scores.numel() * samples_per_score(gan.discriminator)
        step = torch.stack([signs, torch.tensor(scores.numel()), torch.tensor(images)]).to(self.accumulated)
        # summed at every step, so every process holds the same statistics and rank 0's checkpoint has them all
        self.accumulated += sum_over_processes(step)
        if gan.d_steps % self.interval == 0:
            self.adjust()

    def adjust(self) -> None:
        """p moved by ``sign(r_t - target) * images / speed_img`` from the statistics gathered since the
        last adjustment (over all processes), clipped to [0, 1]; the statistics restart."""
        signs, scores, images = self.accumulated.unbind()
        rt = signs.float() / scores.clamp(min=1)
        self.level.copy_((self.level + torch.sign(rt - self.target).long() * images).clamp(0, self.speed_img))
        self.last_rt.copy_(rt)
        self.accumulated.zero_()

    def log_values(self) -> dict[str, Tensor]:
        """``augment_p``, and ``augment_rt`` (the last r_t) once p has been adjusted."""
        values = {"augment_p": self.probability().float()}
        if not torch.isnan(self.last_rt):
            values["augment_rt"] = self.last_rt
        return values

    def extra_repr(self) -> str:
        return f"policy={self.policy!r}, target={self.target}, interval={self.interval}, speed_img={self.speed_img}"
