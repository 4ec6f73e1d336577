"""Functions and paths that tests import (fixtures live in conftest.py, which tests never import)."""
import functools
from pathlib import Path

import torch

from ganzoo import VanillaGAN

#: the repository root, whatever folder of tests/ a test lives in
ROOT = Path(__file__).resolve().parents[1]
#: the data shared beside the clone (../shared/data); tests reach MNIST through conftest's ``mnist_dir``
SHARED_DATA = ROOT.parent / "shared" / "data"


def g_steps_in(checkpoint) -> int:
    """The generator steps a ganzoo checkpoint records (its ``ganzoo_counters``)."""
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["ganzoo_counters"]["g_steps"]


def adam(lr, betas=(0.5, 0.999)):
    """An ``OptimizerCallable`` for Adam with GAN-style betas."""
    return functools.partial(torch.optim.Adam, lr=lr, betas=betas)


def linear_decay(total_steps, end_factor=0.01):
    """LR decayed linearly to ``end_factor`` over ``total_steps`` updates of its optimizer."""
    return functools.partial(
        torch.optim.lr_scheduler.LinearLR, start_factor=1.0, end_factor=end_factor, total_iters=total_steps
    )


class NaNAtThirdDUpdate(VanillaGAN):
    """D's loss turns NaN once, at its third update."""

    def discriminator_loss(self, real_logits, fake_logits):
        loss = super().discriminator_loss(real_logits, fake_logits)
        return loss * float("nan") if self.d_steps == 2 and not self.poisoned else loss

    poisoned = False

    def on_train_batch_end(self, *args):
        self.poisoned = self.poisoned or self.skipped_steps > 0


def nan_model(policy):
    """A small VanillaGAN for 2-D data whose D loss is NaN once, with ``on_nonfinite_loss=policy``."""
    return NaNAtThirdDUpdate(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], on_nonfinite_loss=policy)
