"""GANModule's glue for DDP: one network's backward at a time, a random stream per process, shared statistics.

Every function is a no-op on one process.
"""
from __future__ import annotations

import random
from typing import Any, Iterable, Optional

import numpy as np
import torch
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor, nn

from ganzoo import compat


def allow_one_network_backwards(strategy: Any) -> None:
    """Lets DDP reduce the gradients of backward passes that reach only G or only D.

    Each ``manual_backward`` reaches one network's parameters (``toggled_optimizer``
    freezes the other's), which plain DDP refuses ("parameters that were not used in
    producing the loss"). DDP's search for unused parameters marks the other network's
    as ready, so ``strategy: ddp`` works as it is. Call it in ``setup``, before
    Lightning wraps the module in DDP.
    """
    if not isinstance(strategy, DDPStrategy):
        return
    ddp_kwargs = compat.ddp_kwargs(strategy)
    if ddp_kwargs is None:
        rank_zero_warn(
            "ganzoo could not enable DDP's find_unused_parameters on this Lightning version; pass "
            "strategy='ddp_find_unused_parameters_true' (G's and D's backward passes each reach one network)"
        )
    elif not ddp_kwargs.get("find_unused_parameters"):
        ddp_kwargs["find_unused_parameters"] = True
    if ddp_kwargs is not None:
        # Each process keeps its own BatchNorm statistics (averaged at validations and at the end), and a
        # resumed process restores its own: DDP's broadcast of rank 0's at its first forward would undo that.
        ddp_kwargs.setdefault("broadcast_buffers", False)


def decorrelate_processes(trainer: Any) -> None:
    """Gives each DDP process its own random stream: its own latent codes, penalty mixing and dropout.

    ``seed_everything`` seeds every process alike, so each would draw the same codes and
    every device would train on the same fakes while its real batch differs. Process r
    goes on from seed ``s + r``, with ``s`` drawn from the shared stream: reproducible,
    and different on every process (the approach of StyleGAN2-ADA). The networks were
    built before, from the shared stream, so they still start the same.
    """
    if trainer.world_size == 1:
        return
    seed = int(torch.randint(2**62, (1,))) + trainer.global_rank
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def share_statistics(trainer: Optional[Any], networks: Iterable[Optional[nn.Module]]) -> None:
    """Averages the floating buffers (BatchNorm's running statistics) of ``networks`` over the DDP processes.

    Each process updates them from its own fakes; sampling after training or at a
    validation must see one G, or a metric's chunks would come from slightly different
    generators. Lightning's ``strategy.reduce`` leaves them as they are on one process.
    """
    if trainer is None or trainer.world_size == 1:
        return
    for network in networks:
        for buffer in network.buffers() if network is not None else []:
            if buffer.is_floating_point():
                buffer.copy_(trainer.strategy.reduce(buffer, reduce_op="mean"))


def of_every_process(trainer: Optional[Any], states: Any) -> list:
    """``states`` of each process, by rank (Lightning calls checkpoint hooks on every process)."""
    world = trainer.world_size if trainer is not None else 1
    if world == 1 or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return [states]
    gathered: list = [None] * world
    torch.distributed.all_gather_object(gathered, states)
    return gathered


def process_local_buffers(module: nn.Module) -> dict[str, Tensor]:
    """The floating buffers (BatchNorm's running statistics) that each DDP process updates on its own
    between validations; the checkpoint's state_dict holds rank 0's only."""
    return {name: buffer.detach().clone() for name, buffer in module.named_buffers() if buffer.is_floating_point() and name != "fixed_z"}
