"""Training length in generator updates, the unit GAN papers count in."""
from __future__ import annotations

from lightning.pytorch import Callback, LightningModule, Trainer

from ganzoo.errors import ConfigError, check_positive_int


class MaxGeneratorSteps(Callback):
    """Stops training after ``max_steps`` generator updates.

    In manual optimization ``trainer.global_step`` counts every optimizer step, D's
    and G's alike, so ``Trainer(max_steps=N)`` means N / (n_critic + 1) generator
    updates. This callback sets the trainer's limit to
    ``max_steps * module.optimizer_steps_per_g_step``, which stops the run right
    after the ``max_steps``-th G update. It is what ``max_g_steps`` in a config does.
    Updates dropped for a NaN loss (``on_nonfinite_loss="skip"``) make no optimizer
    step; the limit moves out by them, and the run still stops at the
    ``max_steps``-th G update.

    Args:
        max_steps: number of generator updates to train for.
    """

    def __init__(self, max_steps: int):
        self.max_steps = check_positive_int("max_g_steps", max_steps, "max_g_steps=2000")

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        per_g_step = getattr(pl_module, "optimizer_steps_per_g_step", None)
        if per_g_step is None:
            raise ConfigError(f"max_g_steps needs a GANModule, got {type(pl_module).__name__}")
        limit = self.max_steps * per_g_step
        if trainer.max_steps not in (-1, None, limit):
            raise ConfigError(
                f"both max_g_steps={self.max_steps} and trainer.max_steps={trainer.max_steps} are set; keep one "
                f"(max_g_steps={self.max_steps} means trainer.max_steps={limit} here)"
            )
        trainer.fit_loop.epoch_loop.max_steps = limit
        self._limit, self._per_g_step = limit, per_g_step

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        self._account_for_skipped(trainer, getattr(pl_module, "skipped_steps", 0), pl_module.g_steps)

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
