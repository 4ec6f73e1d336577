"""Functions and paths that tests import (fixtures live in conftest.py, which tests never import)."""
import functools
from pathlib import Path

import torch

#: the repository root, whatever folder of tests/ a test lives in
ROOT = Path(__file__).resolve().parents[1]
#: the data shared beside the clone (../shared/data); tests reach MNIST through conftest's ``mnist_dir``
SHARED_DATA = ROOT.parent / "shared" / "data"


def adam(lr, betas=(0.5, 0.999)):
    """An ``OptimizerCallable`` for Adam with GAN-style betas."""
    return functools.partial(torch.optim.Adam, lr=lr, betas=betas)


def linear_decay(total_steps, end_factor=0.01):
    """LR decayed linearly to ``end_factor`` over ``total_steps`` updates of its optimizer."""
    return functools.partial(
        torch.optim.lr_scheduler.LinearLR, start_factor=1.0, end_factor=end_factor, total_iters=total_steps
    )
