"""GANModule's policy for NaN and infinite losses and weights (its ``on_nonfinite_loss`` argument).

The functions taking ``self`` are methods of :class:`~ganzoo.GANModule` (``_finite``,
``_check_weights``, ``_check_nonfinite``), written here with ``self`` the module: they read
``on_nonfinite_loss``, ``max_consecutive_skips``, ``nonfinite_check_every`` and the step
counters, and count ``skipped_steps`` and ``consecutive_skips``.

``raise`` never waits for the device inside an update: each update's checked loss and the
max-norm of the updated network's weights stay on the device, in a :class:`Record`, and the
host reads them all at once every ``nonfinite_check_every`` generator steps, before a
checkpoint is written, before a validation and when training ends (one read, and under DDP
one all-reduce, per check). ``skip`` must decide before each backward pass, so it reads
each loss at its update.
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
    """The values of the updates since the last check, kept where they were computed (no host read).

    ``values[i]`` is a 0-d tensor, either an update's checked loss or, after that update,
    its network's largest absolute weight; ``labels[i]`` says which: ``(kind, player,
    g_steps, d_steps)`` with ``kind`` ``"loss"`` or ``"weights"`` and the counters as they
    stood before the update.
    """

    values: list[Tensor] = field(default_factory=list)
    labels: list[tuple[str, str, int, int]] = field(default_factory=list)

    def add(self, kind: str, value: Tensor, player: str, g_steps: int, d_steps: int) -> None:
        self.values.append(value.detach())
        self.labels.append((kind, player, g_steps, d_steps))

    def first_nonfinite(self) -> tuple[int, float] | None:
        """The index and value of the first NaN or infinite entry, or ``None``; one device-to-host read."""
        if not self.values:
            return None
        device = self.values[0].device  # a network split over devices records on several
        values = torch.stack([v.float().reshape(()).to(device) for v in self.values])
        bad = ~torch.isfinite(values)
        if not bool(bad.any()):
            return None
        index = int(bad.nonzero()[0, 0])
        return index, float(values[index])


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
    max-norm is recorded on the device and read at the next check (:func:`check_recorded`),
    which runs after every ``nonfinite_check_every``-th generator step. Either way no
    checkpoint ever holds such weights. DDP keeps the weights equal on every process, so
    every process decides alike.
    """
    if self.on_nonfinite_loss == "ignore":
        return
    norm = _max_abs_weight(optimizer)
    if self.on_nonfinite_loss == "raise":
        if norm is not None:
            self._nonfinite_record.add("weights", norm, player, self.g_steps, self.d_steps)
        if player == "G" and (self.g_steps + 1) % self.nonfinite_check_every == 0:
            self._check_nonfinite(f"at the check after generator step {self.g_steps + 1}")
        return
    if norm is None or bool(norm.isfinite()):
        return
    raise _weights_error(player, self.g_steps, self.d_steps, "inside that update's training step")


def _weights_error(player: str, g_steps: int, d_steps: int, when: str) -> NonFiniteLossError:
    rate = "g_optimizer" if player == "G" else "d_optimizer"
    return NonFiniteLossError(
        f"{player}'s weights became NaN or infinite at {_this_update(player, g_steps, d_steps)} (after {g_steps} generator "
        f"steps) although its loss was finite; training stopped {when}, before any checkpoint held them, so the "
        f"checkpoints already written hold finite weights; lower {rate}'s learning rate or set gradient_clip_norm"
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
    if not record.values:  # the same updates, so the same (empty) record, in every process
        return
    found = record.first_nonfinite()
    everywhere_finite = found is None
    if self._trainer is not None:
        everywhere_finite = self.trainer.strategy.reduce_boolean_decision(everywhere_finite, all=True)
    if everywhere_finite:
        record.values.clear()
        record.labels.clear()
        return
    if found is None:
        raise NonFiniteLossError(
            f"a loss or the weights became NaN or infinite in another process (before generator step {self.g_steps + 1}); "
            f"training stopped {when}, before any checkpoint held them, so the checkpoints already written hold finite "
            "weights; lower the learning rates, set gradient_clip_norm, or set on_nonfinite_loss: skip"
        )
    index, value = found
    kind, player, g_steps, d_steps = record.labels[index]
    if kind == "weights":
        raise _weights_error(player, g_steps, d_steps, when)
    raise NonFiniteLossError(
        f"{player} loss is {value} at {_this_update(player, g_steps, d_steps)} (after {g_steps} generator steps); "
        f"training stopped {when}, before any checkpoint held the weights it made, so the checkpoints already written "
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
        self._nonfinite_record.add("loss", loss, player, self.g_steps, self.d_steps)
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
