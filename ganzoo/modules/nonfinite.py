"""GANModule's policy for NaN and infinite losses and weights (its ``on_nonfinite_loss`` argument).

The functions taking ``self`` are methods of :class:`~ganzoo.GANModule` (``_finite``,
``_check_weights``, ``_check_nonfinite``), written here with ``self`` the module: they read
``on_nonfinite_loss``, ``max_consecutive_skips``, ``nonfinite_check_every`` and the step
counters, and count ``skipped_steps`` and ``consecutive_skips``.

``raise`` never waits for the device inside an update: each update's checked loss stays on
the device, in a :class:`Record`, and the host reads them all at once, with the max-norm of
the weights of each network updated since, every ``nonfinite_check_every`` generator steps,
before a checkpoint is written, before a validation and when training ends (one read, and
under DDP one all-reduce, per check). ``skip`` must decide before each backward pass, so it
reads each loss, and the weights after each update, at that update.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ganzoo.errors import NonFiniteLossError

#: what a NaN or infinite loss does; see GANModule's ``on_nonfinite_loss``.
NONFINITE_POLICIES = ("raise", "skip", "ignore")


def _this_update(player: str, g_steps: int, d_steps: int) -> str:
    """The update under way, for messages: ``generator step 12`` or ``D update 30``."""
    return f"generator step {g_steps + 1}" if player == "G" else f"D update {d_steps + 1}"


@dataclass
class Record:
    """The updates since the last check: their losses, kept where they were computed (no host read).

    ``losses[i]`` is an update's checked loss, a 0-d tensor; ``labels[i]`` its ``(player,
    g_steps, d_steps)``, the counters as they stood before the update. ``updates`` lists the
    labels of the updates made, ``optimizers`` the optimizer of each player updated: the
    check reads the max-norm of its parameters once, not after every update.
    """

    losses: list[Tensor] = field(default_factory=list)
    labels: list[tuple[str, int, int]] = field(default_factory=list)
    updates: list[tuple[str, int, int]] = field(default_factory=list)
    optimizers: dict = field(default_factory=dict)

    def clear(self) -> None:
        for kept in (self.losses, self.labels, self.updates, self.optimizers):
            kept.clear()

    def first_nonfinite(self) -> tuple[str, int | str, float, list[str]] | None:
        """The first NaN or infinite loss (``("loss", index, value, bad)``), else a network whose weights
        are (``("weights", player, value, bad)``), else ``None``, with ``bad`` the players whose weights
        are NaN or infinite; one device-to-host read."""
        norms = {player: _max_abs_weight(optimizer) for player, optimizer in self.optimizers.items()}
        norms = {player: norm for player, norm in norms.items() if norm is not None}
        entries = [*self.losses, *norms.values()]
        if not entries:
            return None
        device = entries[0].device  # a network split over devices records on several
        values = torch.stack([v.float().reshape(()).to(device) for v in entries])
        bad = ~torch.isfinite(values)
        if not bool(bad.any()):
            return None
        index = int(bad.nonzero()[0, 0])
        bad_weights = [player for player, nonfinite in zip(norms, bad[len(self.losses):].tolist()) if nonfinite]
        if index < len(self.losses):
            return "loss", index, float(values[index]), bad_weights
        return "weights", bad_weights[0], float(values[index]), bad_weights


def _max_abs_weight(optimizer) -> Tensor | None:
    """The max-norm of all parameters of ``optimizer`` (fused per device), a 0-d tensor on the device, or ``None``.

    Unlike the 2-norm it cannot overflow on finite weights, and it is NaN or infinite exactly
    when one of them is.
    """
    params = [p for group in optimizer.param_groups for p in group["params"]]
    return torch.nn.utils.get_total_norm(params, float("inf")) if params else None


@torch.no_grad()
def check_weights(self, optimizer, player: str) -> None:
    """After ``player``'s update: stops training (under ``raise`` and ``skip``) when it made the weights NaN or infinite.

    Under ``skip`` the check is immediate (one device-to-host read). Under ``raise`` the
    update is noted, and the next check (:func:`check_recorded`, run after every
    ``nonfinite_check_every``-th generator step) reads the weights. Either way no checkpoint
    ever holds such weights. DDP keeps the weights equal on every process, so every process
    decides alike.
    """
    if self.on_nonfinite_loss == "ignore":
        return
    if self.on_nonfinite_loss == "raise":
        record = self._nonfinite_record
        record.updates.append((player, self.g_steps, self.d_steps))
        record.optimizers[player] = optimizer
        if player == "G" and (self.g_steps + 1) % self.nonfinite_check_every == 0:
            self._check_nonfinite(f"at the check after generator step {self.g_steps + 1}")
        return
    norm = _max_abs_weight(optimizer)
    if norm is None or bool(norm.isfinite()):
        return
    update = (player, self.g_steps, self.d_steps)
    raise _weights_error(update, update, "inside that update's training step")


def _weights_error(first: tuple[str, int, int], last: tuple[str, int, int], when: str) -> NonFiniteLossError:
    """The error for ``player``'s weights found NaN or infinite after one of its updates ``first`` .. ``last``."""
    player, g_steps, _ = first
    at = f"at {_this_update(*first)}" if first == last else f"between {_this_update(*first)} and {_this_update(*last)}"
    rate = "g_optimizer" if player == "G" else "d_optimizer"
    return NonFiniteLossError(
        f"{player}'s weights became NaN or infinite {at} (after {g_steps} generator steps) although its loss was finite; "
        f"training stopped {when}, before any checkpoint held them, so the checkpoints already written hold finite "
        f"weights; lower {rate}'s learning rate or set gradient_clip_norm"
    )


def check_recorded(self, when: str) -> None:
    """Reads the losses and weights recorded since the last check (under ``raise``); stops training at a NaN or inf.

    Called every ``nonfinite_check_every`` generator steps, before a checkpoint is written,
    before a validation and when training ends, so no checkpoint and no validation sees
    weights made by a non-finite loss. Under DDP the processes decide together (one
    all-reduce per check): a loss that was not finite in any process stops every process.

    Args:
        when: where training stopped, for the message (``"before writing a checkpoint"``).

    Raises:
        NonFiniteLossError: one line naming the first bad update, what was not finite, and the fix.
    """
    record = self._nonfinite_record
    if not record.losses and not record.updates:  # the same updates, so the same (empty) record, in every process
        return
    found = record.first_nonfinite()
    everywhere_finite = found is None
    if self._trainer is not None:
        everywhere_finite = self.trainer.strategy.reduce_boolean_decision(everywhere_finite, all=True)
    if everywhere_finite:
        record.clear()
        return
    if found is None:
        raise NonFiniteLossError(
            f"a loss or the weights became NaN or infinite in another process (before generator step {self.g_steps + 1}); "
            f"training stopped {when}, before any checkpoint held them, so the checkpoints already written hold finite "
            "weights; lower the learning rates, set gradient_clip_norm, or set on_nonfinite_loss: skip"
        )
    kind, where, value, bad_weights = found
    if kind == "weights":
        updates = [update for update in record.updates if update[0] == where]
        raise _weights_error(updates[0], updates[-1], when)
    player, g_steps, d_steps = record.labels[where]
    # Weights found bad at the same check may be the cause (a huge learning rate), or the loss's effect.
    networks = " and ".join(f"{other}'s" for other in sorted(bad_weights, reverse=True))  # G's and D's
    also = f" ({networks} weights are NaN or infinite by then)" if bad_weights else ""
    raise NonFiniteLossError(
        f"{player} loss is {value} at {_this_update(player, g_steps, d_steps)} (after {g_steps} generator steps); "
        f"training stopped {when}{also}, before any checkpoint held the weights it made, so the checkpoints already written "
        "hold finite weights; lower the learning rates, set gradient_clip_norm, or set on_nonfinite_loss: skip"
    )


def finite(self, loss: Tensor, player: str) -> bool:
    """Whether ``loss`` may be backpropagated: under ``skip`` a NaN or infinite one is skipped (``on_nonfinite_loss``).

    Under ``raise`` the loss is recorded on the device, for the next :func:`check_recorded`,
    and the update goes ahead. Under ``skip`` the loss is read at once and, under DDP, the
    processes decide together, so none waits for a backward pass another skipped.
    """
    if self.on_nonfinite_loss == "ignore":
        return True
    if self.on_nonfinite_loss == "raise":
        self._nonfinite_record.losses.append(loss.detach())
        self._nonfinite_record.labels.append((player, self.g_steps, self.d_steps))
        return True
    finite = bool(torch.isfinite(loss))
    if self._trainer is not None:
        finite = self.trainer.strategy.reduce_boolean_decision(finite, all=True)
    if finite:
        self.consecutive_skips[player] = 0
        return True
    self.skipped_steps += 1
    self.consecutive_skips[player] += 1
    if self.consecutive_skips[player] >= self.max_consecutive_skips:
        raise NonFiniteLossError(
            f"{player} loss was NaN or infinite at {self.consecutive_skips[player]} consecutive {player} updates, "
            f"all skipped (on_nonfinite_loss: skip; {self.g_steps} generator steps made, {self.skipped_steps} "
            "updates skipped in all); training stopped, the checkpoints already written hold finite weights; "
            f"lower the learning rates, set gradient_clip_norm, or raise max_consecutive_skips ({self.max_consecutive_skips})"
        )
    return False
