"""GANModule's policy for NaN and infinite losses and weights (its ``on_nonfinite_loss`` argument).

Both functions are methods of :class:`~ganzoo.GANModule` (``_finite``, ``_check_weights``),
written here with ``self`` the module: they read ``on_nonfinite_loss``,
``max_consecutive_skips`` and the step counters, and count ``skipped_steps`` and
``consecutive_skips``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.errors import NonFiniteLossError

#: what a NaN or infinite loss does; see GANModule's ``on_nonfinite_loss``.
NONFINITE_POLICIES = ("raise", "skip", "ignore")


def _this_update(self, player: str) -> str:
    """The update under way, for messages: ``generator step 12`` or ``D update 30``."""
    return f"generator step {self.g_steps + 1}" if player == "G" else f"D update {self.d_steps + 1}"


@torch.no_grad()
def check_weights(self, optimizer, player: str) -> None:
    """Stops training when ``player``'s update made its parameters NaN or infinite (under ``raise`` and ``skip``).

    It raises inside the training step, so no checkpoint (they are written between batches)
    ever holds those weights. One device-to-host sync: the max-norm of all parameters (fused
    per device), which, unlike the 2-norm, cannot overflow on finite weights and is NaN or
    infinite exactly when one of them is. DDP keeps the weights equal on every process, so
    every process decides alike.
    """
    if self.on_nonfinite_loss == "ignore":
        return
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if not params or bool(torch.nn.utils.get_total_norm(params, float("inf")).isfinite()):
        return
    rate = "g_optimizer" if player == "G" else "d_optimizer"
    raise NonFiniteLossError(
        f"{player}'s weights became NaN or infinite at {_this_update(self, player)} (after {self.g_steps} generator steps) although its "
        f"loss was finite; training stopped before any checkpoint held them, so the checkpoints already written "
        f"hold finite weights; lower {rate}'s learning rate or set gradient_clip_norm"
    )


def finite(self, loss: Tensor, player: str) -> bool:
    """Whether ``loss`` may be backpropagated: a NaN or infinite one raises or is skipped (``on_nonfinite_loss``).

    Under DDP the processes decide together, so none waits for a backward pass another skipped.
    """
    if self.on_nonfinite_loss == "ignore":
        return True
    finite = bool(torch.isfinite(loss))
    if self._trainer is not None:
        finite = self.trainer.strategy.reduce_boolean_decision(finite, all=True)
    if finite:
        self.consecutive_skips[player] = 0
        return True
    if self.on_nonfinite_loss == "skip":
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
    raise NonFiniteLossError(
        f"{player} loss is {loss.item()} at {_this_update(self, player)} (after {self.g_steps} generator steps); training stopped "
        "before this update, so the checkpoints already written hold finite weights; lower the learning rates, "
        "set gradient_clip_norm, or set on_nonfinite_loss: skip"
    )
