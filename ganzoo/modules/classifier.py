"""Supervised training of a classifier on labelled real images (for the domain evaluator).

Batches are ``(images, labels)``: images in [-1, 1], shape ``(N, C, H, W)``; labels int64
``(N,)``, as every ganzoo image DataModule yields them.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from torch import Tensor, nn

from ganzoo.errors import check_nonnegative_int, check_number


def random_shift(images: Tensor, max_shift: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """Shifts each image by its own random whole-pixel offset in ``[-max_shift, max_shift]``
    on both axes, filling the uncovered border with -1 (the background of digits).

    Args:
        images: ``(N, C, H, W)`` in [-1, 1].
        max_shift: largest shift in pixels; 0 returns the images as they are.
        generator: source of the offsets (CPU).

    Returns:
        Shifted images, same shape.
    """
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4, value=-1.0)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).to(images.device)
    rows = offsets[0, :, None] + torch.arange(h, device=images.device)  # (N, H)
    cols = offsets[1, :, None] + torch.arange(w, device=images.device)  # (N, W)
    batch = torch.arange(n, device=images.device)[:, None, None]
    # advanced indices around the channel slice put their dims first: (N, H, W, C)
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def random_resample(
    images: Tensor, scales: tuple[float, float], prob: float, chunk: int = 16, generator: Optional[torch.Generator] = None
) -> Tensor:
    """Resizes chunks of images to a random side and back (bilinear, antialiased), each chunk
    with probability ``prob``: the blur that images made at another resolution carry once the
    evaluator resizes them to its own.

    Args:
        images: ``(N, C, S, S)`` in [-1, 1].
        scales: the random side is drawn in ``[scales[0] * S, scales[1] * S]`` (at least 4 px).
        prob: chance that a chunk is resampled.
        chunk: images that share one random side.
        generator: source of the draws (CPU).

    Returns:
        Images, same shape, in [-1, 1].
    """
    side = images.shape[-1]
    low, high = max(4, round(scales[0] * side)), max(4, round(scales[1] * side))
    parts = []
    for part in images.split(chunk):
        size = int(torch.randint(low, high + 1, (1,), generator=generator))
        if torch.rand(1, generator=generator).item() < prob and size != side:
            part = F.interpolate(part, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            part = F.interpolate(part, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        parts.append(part.clamp(-1, 1))
    return torch.cat(parts)


class ClassifierModule(LightningModule):
    """Cross-entropy training of ``net`` with Adam and a one-cycle learning rate.

    Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``, ``test/loss``, ``test/acc``.

    Args:
        net: maps images ``(N, C, H, W)`` in [-1, 1] to logits ``(N, K)``.
        lr: peak learning rate of the one-cycle schedule over all of training.
        weight_decay: Adam's L2 penalty.
        max_shift: training images are shifted by up to this many pixels (augmentation).
        resample_prob: chance that a chunk of training images is resized to a random side
            and back (augmentation; see :func:`random_resample`), 0 for none.
        resample_scales: range of that side, as fractions of the image side.
        label_smoothing: cross-entropy label smoothing.
    """

    def __init__(
        self,
        net: nn.Module,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        max_shift: int = 2,
        resample_prob: float = 0.5,
        resample_scales: tuple[float, float] = (0.5, 1.25),
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        check_nonnegative_int("max_shift", max_shift, "max_shift=2")
        check_number("lr", lr, "lr=3e-3", low=0, low_open=True)
        check_number("weight_decay", weight_decay, "weight_decay=0", low=0)
        check_number("resample_prob", resample_prob, "resample_prob=0.5", low=0, high=1)
        for scale in resample_scales:
            check_number("resample_scales", scale, "resample_scales=[0.5, 1.25]", low=0, low_open=True)
        check_number("label_smoothing", label_smoothing, "label_smoothing=0.1", low=0, high=1, high_open=True)
        self.net = net
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_shift = max_shift
        self.resample_prob = resample_prob
        self.resample_scales = tuple(resample_scales)
        self.label_smoothing = label_smoothing

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)

    def _step(self, batch: tuple[Tensor, Tensor], split: str) -> Tensor:
        images, labels = batch
        if split == "train":
            images = random_shift(random_resample(images, self.resample_scales, self.resample_prob), self.max_shift)
        logits = self.net(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing if split == "train" else 0.0)
        accuracy = (logits.argmax(dim=1) == labels).float().mean()
        on_step = split == "train"
        self.log(f"{split}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=split != "test")
        self.log(f"{split}/acc", accuracy, on_step=False, on_epoch=True, prog_bar=split != "train")
        return loss

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.lr, total_steps=max(1, self.trainer.estimated_stepping_batches)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
