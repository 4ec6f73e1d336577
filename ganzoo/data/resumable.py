"""Training loaders whose order is a function of (seed, epoch) and that resume part way through an epoch.

Lightning restores the model, the optimizers and its loop counters from a checkpoint,
but a plain shuffled ``DataLoader`` starts a fresh random order after a resume: a
run stopped in the middle of an epoch would see other batches than the same run
done in one go. :func:`training_loader` returns a loader whose epoch ``e`` is always
the same permutation (drawn from ``seed + e``, as ``DistributedSampler`` does), and
which, when the trainer has just been restored mid-epoch, skips the batches that run
already trained on. The checkpoint carries the seed (the loader's ``state_dict`` and the
module's position, see :mod:`ganzoo.resume`), so a resumed run keeps the original order
whatever it is seeded with.

With ``on_device=True`` the loader is an :class:`IndexedBatches` instead: a dataset held in
memory (it has ``to(device)`` and ``gather(indices)``) is moved once to the trainer's device
and each batch is gathered there by index, in the same sampler's order, with no DataLoader,
no per-item ``__getitem__`` and no collate. The batches are the same, so is the resume.
"""
from __future__ import annotations

import os
from typing import Any, Iterator, Optional, Protocol

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ganzoo.errors import ConfigError
from ganzoo.resume import resumed_position


class ResumableSampler(DistributedSampler):
    """A ``DistributedSampler`` (one replica when not distributed) that can start its next epoch part way.

    Being a ``DistributedSampler``, Lightning leaves it in place under DDP instead of
    swapping in its own, so the shards and the resume logic are the same on any number
    of processes.

    Args:
        dataset: the training set.
        num_replicas: number of processes; rank: this process's index.
        seed: the order of epoch ``e`` is the permutation drawn from ``seed + e``.
        epoch: the epoch of the first iteration (set when a run resumes in epoch ``epoch``); each
            iteration is the next epoch.
        skip: samples of this process's share to skip in the first iteration (those already trained on).
            The length stays the whole epoch's, as Lightning counts the skipped batches as done.
    """

    def __init__(self, dataset: Dataset, num_replicas: int = 1, rank: int = 0, seed: int = 0, epoch: int = 0, skip: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.epoch = epoch
        self.skip = skip

    def set_epoch(self, epoch: int) -> None:
        # The sampler counts its epochs itself, one per iteration: Lightning's counter, which it
        # passes here, runs one ahead after a resume from a checkpoint written mid-epoch.
        pass

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())  # the permutation of seed + epoch, this process's share
        skip, self.skip = self.skip, 0  # only the first iteration after a resume starts part way
        self.epoch += 1
        return iter(indices[skip:])


class _SeedState:
    """What Lightning saves of a training loader in checkpoints: its sampler's seed (``state_dict``)."""

    sampler: ResumableSampler

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.sampler.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.seed = int(state.get("seed", self.sampler.seed))


class ResumableLoader(_SeedState, DataLoader):
    """A DataLoader over a :class:`ResumableSampler`; Lightning saves its ``state_dict`` (the seed) in checkpoints."""


class InMemory(Protocol):
    """A dataset held in tensors that can draw a whole batch at once (``on_device``)."""

    def to(self, device: torch.device) -> "InMemory":
        """The same items, their tensors on ``device``."""

    def gather(self, indices: torch.Tensor) -> Any:
        """The batch of the items at ``indices`` ``(N,)``, as the DataLoader's collate would make it."""


class IndexedBatches(_SeedState):
    """Full training batches gathered by index from a dataset held on the device, in a sampler's order.

    The same batches, in the same order, as a ``DataLoader`` with this sampler, ``batch_size``
    and ``drop_last``: the epoch's indices are cut into consecutive batches. Lightning iterates
    it like a loader (``len`` counts the epoch's batches, a resumed epoch skipped ones included)
    and saves its ``state_dict``.

    Args:
        dataset: the training set, already on the device (see :class:`InMemory`).
        batch_size: samples per batch and process.
        sampler: the order (:class:`ResumableSampler`).
        device: where the dataset lies and the batches are gathered.
    """

    def __init__(self, dataset: InMemory, batch_size: int, sampler: ResumableSampler, device: torch.device):
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = sampler
        self.device = device

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size

    def __iter__(self) -> Iterator[Any]:
        order = torch.as_tensor(list(self.sampler), dtype=torch.int64)
        order = order[: len(order) - len(order) % self.batch_size].to(self.device)
        for indices in order.split(self.batch_size):
            yield self.dataset.gather(indices)


def resume_point(trainer: Optional[Any], batches_per_epoch: int) -> tuple[int, int]:
    """The epoch a trainer is in and the batches of it already trained, ``(0, 0)`` for a fresh run.

    A GANModule restored from a checkpoint knows where the run stopped (:mod:`ganzoo.resume`,
    whatever hook wrote the checkpoint); for another module, Lightning's loop counters say it,
    and a checkpoint written at the end of an epoch resumes at the start of the next one.
    """
    if trainer is None:
        return 0, 0
    position = resumed_position(trainer)
    if position is not None:
        return position.epoch, position.batches
    epoch = trainer.current_epoch
    done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
    if done >= batches_per_epoch:
        return epoch + 1, 0
    return epoch, done


def training_loader(
    dataset: Dataset, batch_size: int, trainer: Optional[Any] = None, on_device: bool = False, **loader_kwargs
) -> ResumableLoader | IndexedBatches:
    """A shuffled, full-batch (``drop_last``) training loader that resumes where ``trainer`` stopped.

    The seed is ``seed_everything``'s (``PL_GLOBAL_SEED``), else 0, the same on every process; a
    resumed run keeps the seed its checkpoint records.

    Args:
        dataset: the training set.
        batch_size: samples per batch and process.
        trainer: the trainer that will iterate the loader (``None`` outside training).
        on_device: hold the dataset on the trainer's device (the CPU outside training) and gather
            each batch there by index (:class:`IndexedBatches`); needs an :class:`InMemory` dataset.
        **loader_kwargs: further DataLoader arguments (``num_workers``, ``pin_memory``, ...).
    """
    world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
    position = resumed_position(trainer)
    seed = position.seed if position is not None and position.seed is not None else int(os.environ.get("PL_GLOBAL_SEED", 0))
    sampler = ResumableSampler(dataset, num_replicas=world, rank=rank, seed=seed)
    epoch, done = resume_point(trainer, sampler.num_samples // batch_size)
    sampler.epoch, sampler.skip = epoch, done * batch_size
    if on_device:
        return _indexed_batches(dataset, batch_size, sampler, trainer)
    # A generator of its own: creating an iterator draws a seed from it instead of from torch's global RNG,
    # so the training's random stream does not depend on when epochs start.
    generator = torch.Generator().manual_seed(seed)
    return ResumableLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True, generator=generator, **loader_kwargs)


def _indexed_batches(dataset: Dataset, batch_size: int, sampler: ResumableSampler, trainer: Optional[Any]) -> IndexedBatches:
    if not (hasattr(dataset, "to") and hasattr(dataset, "gather")):
        raise ConfigError(
            f"on_device=True needs a training set held in memory, and {type(dataset).__name__} reads its items one "
            "at a time (say from image files); set on_device: false"
        )
    device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
    return IndexedBatches(dataset.to(device), batch_size, sampler, device)
