"""Training length in generator updates, the unit GAN papers count in."""
from __future__ import annotations

import math
from typing import Optional

from lightning.pytorch import Callback, LightningModule, Trainer

from ganzoo.errors import ConfigError, check_positive_int


class MaxGeneratorSteps(Callback):
    """Stops training after ``max_steps`` generator updates.

    In manual optimization ``trainer.global_step`` counts every optimizer step, D's
    and G's alike, so ``Trainer(max_steps=N)`` means N / (n_critic + 1) generator
    updates. This callback sets the trainer's limit to
    ``module.optimizer_steps_after(max_steps)`` (``max_steps * (n_critic + 1)``), which
    stops the run right after the ``max_steps``-th G update. It is what ``max_g_steps`` in a config does.
    Updates dropped for a NaN loss (``on_nonfinite_loss="skip"``) make no optimizer
    step; the limit moves out by them, and the run still stops at the
    ``max_steps``-th G update. At the end it says so in generator steps
    (``ganzoo: stopped after 3000 generator steps (max_g_steps=3000)``), after
    Lightning's own line, which counts optimizer steps (``max_steps=6000``).

    Args:
        max_steps: number of generator updates to train for.
    """

    def __init__(self, max_steps: int):
        self.max_steps = check_positive_int("max_g_steps", max_steps, "max_g_steps=2000")

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        if not hasattr(pl_module, "optimizer_steps_after"):
            raise ConfigError(f"max_g_steps needs a GANModule, got {type(pl_module).__name__}")
        limit = pl_module.optimizer_steps_after(self.max_steps)
        if trainer.max_steps not in (-1, None, limit):
            raise ConfigError(
                f"both max_g_steps={self.max_steps} and trainer.max_steps={trainer.max_steps} are set; keep one "
                f"(max_g_steps={self.max_steps} means trainer.max_steps={limit} here)"
            )
        trainer.fit_loop.epoch_loop.max_steps = limit
        # a skipped update delays the next G update by at most one batch: n_critic + 1 optimizer steps, or 2
        self._limit, self._per_g_step = limit, math.ceil(pl_module.optimizer_steps_per_g_step)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        self._account_for_skipped(trainer, getattr(pl_module, "skipped_steps", 0), pl_module.g_steps)

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        line = stop_line(trainer, pl_module)
        if line and trainer.is_global_zero:
            print(line)

    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict) -> None:
        # A run resumed after skipped updates must know its limit before the first batch, when
        # Lightning decides whether the run is already done.
        counters = checkpoint.get("ganzoo_counters") or {}
        if hasattr(self, "_limit"):
            self._account_for_skipped(trainer, counters.get("skipped_steps", 0), counters.get("g_steps", 0))

    def _account_for_skipped(self, trainer: Trainer, skipped: int, g_steps: int) -> None:
        if skipped:
            trainer.fit_loop.epoch_loop.max_steps = self._limit + skipped * self._per_g_step
            if g_steps >= self.max_steps:
                trainer.should_stop = True


def stop_line(trainer: Trainer, pl_module: LightningModule) -> Optional[str]:
    """Why a finished fit stopped, in generator steps; ``None`` when no budget ended it (a callback, say).

    ``ganzoo: stopped after 3000 generator steps (max_g_steps=3000)``; the epoch budget and
    ``trainer.max_steps`` are named as such.
    """
    g_steps = getattr(pl_module, "g_steps", None)
    if g_steps is None:
        return None
    limit = next((callback.max_steps for callback in trainer.callbacks if isinstance(callback, MaxGeneratorSteps)), None)
    if limit is not None and g_steps >= limit:
        reason = f"max_g_steps={limit}"
    elif trainer.max_steps not in (None, -1) and trainer.global_step >= trainer.max_steps:
        per_g_step = pl_module.optimizer_steps_per_g_step
        per_g_step = f"{per_g_step:g}" if float(per_g_step).is_integer() else f"{per_g_step:.3g} on average"
        reason = f"trainer.max_steps={trainer.max_steps}: optimizer steps of G and D, {per_g_step} per generator step"
    elif trainer.max_epochs not in (None, -1) and trainer.current_epoch >= trainer.max_epochs:
        reason = f"max_epochs={trainer.max_epochs}"
    else:
        return None
    return f"ganzoo: stopped after {g_steps} generator steps ({reason})"
