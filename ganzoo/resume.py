"""The resume protocol: what a checkpoint holds so that a run stopped anywhere continues exactly.

A run stopped at any point (a mid-run or end-of-epoch ``ModelCheckpoint``, a SIGTERM, the
``last.ckpt`` that :class:`~ganzoo.callbacks.GANCheckpoint` writes when training ends) and
resumed with ``ckpt_path`` and a larger budget (``max_g_steps`` or ``max_epochs``) trains
exactly the batches the run in one go trained after that point, in the same order and with
the same random numbers, so it ends with the same bits. Besides the weights, the optimizer
and scheduler states and G's moving average, a checkpoint holds:

- ``ganzoo_random_states``: every process's random states (:func:`random_states`: torch CPU and
  CUDA, NumPy, Python), restored just before the first resumed batch (:func:`before_batch`, called
  from ``GANModule.on_train_batch_start``), so z, the penalty's mixing and dropout draw what the
  run in one go drew;
- ``ganzoo_counters``: ``d_steps``, ``g_steps`` and ``skipped_steps``, which set the
  ``n_critic`` rhythm, the moving average's warm-up and where ``max_g_steps`` stops;
- ``ganzoo_position`` (this module): the epoch the run is in, how many of its batches are
  trained, and the training loader's seed. The order of epoch ``e`` is the permutation of
  ``seed + e`` (:mod:`ganzoo.data.resumable`), so the position says which batches come
  next, whatever seed the resumed run is given;
- under DDP, ``ganzoo_process_buffers``: each process's BatchNorm statistics, which the
  processes update apart between validations (the ``state_dict`` holds rank 0's).

Why the position is ganzoo's own: Lightning's loop counters mean different things
depending on the hook that saved. In ``on_train_end`` (``last.ckpt``) and in
``on_train_epoch_end`` Lightning has already counted the epoch as processed or complete,
also when the run stopped part way through it, and restoring those counters resumes in
the next epoch's order, or trains one stray batch before the next epoch. The module
records the position after each batch (:func:`position_after_batch`), and on loading
:func:`restore_position` rewrites the checkpoint's loop counters to the form Lightning
resumes correctly: "batch k of epoch e has just trained" (what ``ModelCheckpoint(every_n_train_steps)``
writes) or "epoch e has not started". This module is the one place that reads and writes
Lightning's loop state layout (lightning 2.6).
"""
from __future__ import annotations

import random
from typing import Any, NamedTuple, Optional

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_warn

#: the keys of Lightning's fit-loop state this module reads and writes.
_EPOCHS, _BATCHES, _EPOCH_LOOP = "epoch_progress", "epoch_loop.batch_progress", "epoch_loop.state_dict"


class Position(NamedTuple):
    """Where a run stands in its data: epoch ``epoch`` with its first ``batches`` batches trained,
    from a loader whose order is drawn from ``seed`` (``None``: not a resumable loader, or not known)."""

    epoch: int
    batches: int
    seed: Optional[int] = None


def position_after_batch(epoch: int, batch_idx: int, batches_per_epoch: float) -> Position:
    """The position once batch ``batch_idx`` of ``epoch`` has trained; the last batch of an epoch
    leads to the start of the next, so a stop at an epoch's end resumes with a whole epoch."""
    if batch_idx + 1 >= batches_per_epoch:
        return Position(epoch + 1, 0)
    return Position(epoch, batch_idx + 1)


def record_position(checkpoint: dict, position: Position, trainer: Optional[Any] = None) -> None:
    """Stores ``position``, with the seed of ``trainer``'s training loader, in ``checkpoint`` as plain
    integers (it loads with ``weights_only=True``)."""
    seed = getattr(getattr(_training_loader(trainer), "sampler", None), "seed", position.seed)
    stored = {"epoch": int(position.epoch), "batches": int(position.batches)}
    checkpoint["ganzoo_position"] = stored if seed is None else {**stored, "seed": int(seed)}


def _training_loader(trainer: Optional[Any]) -> Any:
    try:
        return trainer.train_dataloader if trainer is not None else None
    except (AttributeError, RuntimeError):  # no fit loop, or a trainer that never fitted
        return None


def resumed_position(trainer: Optional[Any]) -> Optional[Position]:
    """The position the module of a fit that resumes from ``trainer.ckpt_path`` restored; ``None`` for a
    fresh fit or a module that records none (see :attr:`GANModule.resume_position`)."""
    if trainer is None or not getattr(trainer, "ckpt_path", None):
        return None
    return getattr(trainer.lightning_module, "resume_position", None)


def restore_position(checkpoint: dict) -> Optional[Position]:
    """The checkpoint's position, with its Lightning loop counters rewritten to mean exactly that.

    Checkpoints written before ganzoo recorded positions get one read from Lightning's counters.
    Returns ``None`` (and changes nothing) for a checkpoint without a fit loop state.
    """
    fit_loop = (checkpoint.get("loops") or {}).get("fit_loop")
    if not fit_loop:
        return None
    if _EPOCHS not in fit_loop or _BATCHES not in fit_loop:
        rank_zero_warn(
            f"ganzoo.resume does not know this checkpoint's loop state (no {_EPOCHS!r} or {_BATCHES!r}; written by "
            "another Lightning version?); a run resumed from it may not continue exactly as the run in one go"
        )
        return None
    stored = checkpoint.get("ganzoo_position")
    position = Position(stored["epoch"], stored["batches"], stored.get("seed")) if stored else _position_from_lightning(fit_loop)
    _set_loop_counters(fit_loop, position)
    return position


def _position_from_lightning(fit_loop: dict) -> Position:
    """The position that Lightning's counters describe, whatever hook saved them.

    ``started`` counts the epoch whose batches ``batch_progress.current`` counts in every
    hook, before and after Lightning marks that epoch processed or complete.
    """
    epochs, batches = fit_loop[_EPOCHS]["current"], fit_loop[_BATCHES]
    epoch = max(epochs["started"] - 1, 0)
    if batches.get("is_last_batch"):
        return Position(epoch + 1, 0)
    return Position(epoch, batches["current"]["processed"])


def _set_loop_counters(fit_loop: dict[str, Any], position: Position) -> None:
    """Rewrites the fit loop's progress so Lightning resumes at ``position``.

    Mid-epoch: the counters of ``on_train_batch_end`` of batch ``k`` (processed, not yet
    completed; the epoch started, not processed). At an epoch boundary: ``e`` epochs
    complete and no batch of the next one begun. The total of batches trained is kept.
    """
    epoch, done, _ = position
    trained = fit_loop[_BATCHES]["total"]["processed"]
    if done:
        epochs = {"ready": epoch + 1, "started": epoch + 1, "processed": epoch, "completed": epoch}
        current = {"ready": done, "started": done, "processed": done, "completed": done - 1}
        total = {"ready": trained, "started": trained, "processed": trained, "completed": trained - 1}
        stepped = trained - 1  # Lightning adds the current batch's step when it restarts
    else:
        epochs = dict.fromkeys(("ready", "started", "processed", "completed"), epoch)
        current = dict.fromkeys(("ready", "started", "processed", "completed"), 0)
        total = dict.fromkeys(("ready", "started", "processed", "completed"), trained)
        stepped = trained
    fit_loop[_EPOCHS] = {"total": dict(epochs), "current": epochs}
    fit_loop[_BATCHES] = {"total": total, "current": current, "is_last_batch": False}
    fit_loop.setdefault(_EPOCH_LOOP, {})["_batches_that_stepped"] = stepped


def random_states() -> dict[str, Any]:
    """This process's random states: ``torch``, ``cuda`` (one per device, when CUDA is up), ``numpy`` and ``python``."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states = {
        "torch": torch.get_rng_state(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict[str, Any]) -> None:
    """Restores what :func:`random_states` returned; a state the dict lacks is left as it is."""
    if "torch" in states:
        torch.set_rng_state(states["torch"])
    if "numpy" in states:
        kind, keys, pos, has_gauss, cached = states["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "python" in states:
        version, internal, gauss = states["python"]
        random.setstate((version, tuple(internal), gauss))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


#: the counters of GANModule a checkpoint holds (``consecutive_skips`` is a dict by player).
COUNTERS = ("d_steps", "g_steps", "skipped_steps")


def save_state(module: Any, checkpoint: dict) -> None:
    """Writes ``module``'s counters, every process's random states, its position and, under DDP,
    every process's BatchNorm statistics into ``checkpoint``."""
    from ganzoo.modules.distributed import of_every_process, process_local_buffers

    trainer = module._trainer
    checkpoint["ganzoo_counters"] = {name: getattr(module, name) for name in COUNTERS}
    checkpoint["ganzoo_counters"]["consecutive_skips"] = dict(module.consecutive_skips)
    checkpoint["ganzoo_random_states"] = of_every_process(trainer, random_states())
    record_position(checkpoint, module.resume_position, trainer)
    if trainer is not None and trainer.world_size > 1:
        checkpoint["ganzoo_process_buffers"] = of_every_process(trainer, process_local_buffers(module))


def load_state(module: Any, checkpoint: dict) -> None:
    """Takes ``module``'s counters and position from ``checkpoint`` (rewriting Lightning's loop counters
    to that position before Lightning restores them) and keeps its random states and buffers pending
    for :func:`before_batch`."""
    module._pending_resume = (checkpoint.get("ganzoo_random_states"), checkpoint.get("ganzoo_process_buffers"))
    module.resume_position = restore_position(checkpoint) or module.resume_position
    counters = checkpoint.get("ganzoo_counters", {})
    for name in COUNTERS:
        setattr(module, name, counters.get(name, 0))
    module.consecutive_skips.update(counters.get("consecutive_skips", {}))


def before_batch(module: Any, batch_idx: int) -> None:
    """Records the position after batch ``batch_idx`` and, on the first batch of a resumed fit, restores
    this process's random states (and, under DDP, its BatchNorm statistics) that :func:`load_state` kept.

    The position is recorded before the batch trains, as checkpoints written in
    ``on_train_batch_end`` hooks (ModelCheckpoint's, which Lightning calls before the
    module's) must count it.
    """
    trainer = module.trainer
    after = position_after_batch(trainer.current_epoch, batch_idx, trainer.num_training_batches)
    module.resume_position = after._replace(seed=module.resume_position.seed)
    (pending, buffers), module._pending_resume = getattr(module, "_pending_resume", None) or (None, None), None
    if not pending or not trainer.ckpt_path:
        return
    if len(pending) != trainer.world_size:
        rank_zero_warn(
            f"the checkpoint holds the random states of {len(pending)} processes, this run has "
            f"{trainer.world_size}; the resumed run draws other random numbers than the original"
        )
        return
    set_random_states(pending[trainer.global_rank])
    if buffers and len(buffers) == trainer.world_size:
        for name, value in buffers[trainer.global_rank].items():
            module.get_buffer(name).copy_(value)
