"""The x axis of every logger: generator steps.

Lightning's ``LoggerConnector.log_metrics`` writes a batch's (or a validation's) values
at the value of a logged metric named ``step`` when there is one, for every logger
alike (CSV's ``step`` column, TensorBoard's step, W&B's ``trainer/global_step``), and
otherwise at the batches that stepped. A GAN with ``n_critic=5`` makes 5 batches per
generator step, so GANModule logs ``step`` = its generator steps with each set of
values; pictures (:func:`ganzoo.loggers.log_image`) go to the same step. Lightning
adds an ``epoch`` value only when no ``step`` is logged, so ``epoch`` is logged here too.
"""
from __future__ import annotations

from typing import Any

from ganzoo import compat

#: the metric Lightning reads as the step of the values logged with it.
STEP_METRIC = "step"


def axis_values(module: Any) -> dict[str, float]:
    """``{"step": generator steps, "epoch": the trainer's epoch}``, as floats (Lightning reduces floats).

    Exact up to 2**24 (16.7 million) generator steps.
    """
    return {STEP_METRIC: float(module.g_steps), "epoch": float(module.trainer.current_epoch)}


def log_axis(module: Any) -> None:
    """Logs :func:`axis_values` from an epoch-end hook (validation, test): the stage's values are written at G steps."""
    module.log_dict(axis_values(module), on_step=False, on_epoch=True, sync_dist=False)


def generator_step(trainer: Any) -> int:
    """The generator steps of the trainer's GANModule: the step pictures and values are logged at.

    Falls back to the batches that stepped (Lightning's own step) for a module that counts no G steps.
    """
    module = trainer.lightning_module if trainer is not None else None
    g_steps = getattr(module, "g_steps", None)
    return int(g_steps) if g_steps is not None else compat.batches_that_stepped(trainer)
