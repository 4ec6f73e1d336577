"""Chunked work shared out over the processes of a DDP run, and gathered back in order.

Sample chunk c (``batch_size`` images) goes to process ``c % world_size``; each process
computes the features of its chunks, and every process receives all of them back in
chunk order, so each image is counted once (no sampler padding) and the result is the
same on one process or many.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def chunk_sizes(total: int, batch_size: int) -> list[int]:
    """``total`` split into chunks of ``batch_size`` (the last one smaller)."""
    return [min(batch_size, total - start) for start in range(0, total, batch_size)]


def world() -> tuple[int, int]:
    """(rank, world size) of the default process group, (0, 1) without one."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_true(flag: bool, device) -> bool:
    """Whether ``flag`` holds on every process."""
    rank, size = world()
    if size == 1:
        return flag
    value = torch.tensor([int(flag)], device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MIN)
    return bool(value.item())


def gather_chunks(local: dict[int, dict[str, Tensor]], sizes: list[int], device) -> dict[str, Tensor]:
    """Each name's per-sample rows from every process, in chunk order (chunk c lives on rank c % world)."""
    rank, size = world()
    if size == 1:
        names = local[0].keys()
        return {name: torch.cat([local[c][name] for c in range(len(sizes))]) for name in names}
    everyone: list = [None] * size
    torch.distributed.all_gather_object(everyone, sorted(local[rank].keys()) if local else None)
    names = next(n for n in everyone if n is not None)
    out = {}
    for name in names:
        mine = torch.cat([local[c][name] for c in sorted(local)]) if local else None
        chunks: dict[int, Tensor] = {}
        for r, block in enumerate(_gather_rows(mine, device)):
            owned = list(range(r, len(sizes), size))
            chunks.update(zip(owned, block.split([sizes[c] for c in owned])))
        out[name] = torch.cat([chunks[c] for c in range(len(sizes))])
    return out


def _gather_rows(mine: Optional[Tensor], device) -> list[Tensor]:
    """Every process's tensor (rows may differ in number; ``None`` where a process has none)."""
    rank, size = world()
    meta = None if mine is None else (tuple(mine.shape), str(mine.dtype).replace("torch.", ""))
    metas: list = [None] * size
    torch.distributed.all_gather_object(metas, meta)
    shape, dtype = next(m for m in metas if m is not None)
    rows = [m[0][0] if m is not None else 0 for m in metas]
    buffer = torch.zeros((max(rows), *shape[1:]), dtype=getattr(torch, dtype), device=device)
    if mine is not None:
        buffer[: mine.shape[0]] = mine.to(device)
    gathered = [torch.empty_like(buffer) for _ in range(size)]
    torch.distributed.all_gather(gathered, buffer)
    return [block[:n] for block, n in zip(gathered, rows)]
