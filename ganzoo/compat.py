"""The one place where ganzoo reaches into another package's private attributes.

Each function below wraps one private name of Lightning, jsonargparse, PyTorch or
torch-fidelity that has no public equivalent in the versions ganzoo is tested with
(``pyproject.toml`` bounds them to those minor versions). When an upstream release renames
one, ``tests/test_compat.py`` fails on that name, and every function here degrades to a
documented fallback instead of breaking training. ganzoo's code outside this module uses
no private attribute of another package.

Checkpoint layouts are data, not attributes: :mod:`ganzoo.resume` is the one module that
reads and rewrites Lightning's loop state inside a checkpoint.
"""
from __future__ import annotations

from importlib.metadata import version
from typing import Any, Iterable, Optional, Union

from torch import Tensor

#: every private upstream name used here, as ``(object's description, attribute)``; the test checks each.
PRIVATE_NAMES = (
    ("lightning.pytorch.Trainer", "_logger_connector"),
    ("lightning.pytorch.trainer.connectors.logger_connector.logger_connector._LoggerConnector", "should_update_logs"),
    ("lightning.pytorch.strategies.DDPStrategy", "_ddp_kwargs"),
    ("torch.amp.GradScaler", "_get_scale_async"),
    ("lightning.pytorch.loggers.WandbLogger", "_experiment"),
    ("lightning.pytorch.loggers.WandbLogger", "_wandb_init"),
    ("lightning.pytorch.loops.training_epoch_loop._TrainingEpochLoop", "_batches_that_stepped"),
    ("argparse.ArgumentParser", "_actions"),
    ("lightning.pytorch.cli.LightningCLI", "_subcommand_parsers"),
    ("torchmetrics.image.fid.NoTrainInceptionV3", "_torch_fidelity_forward"),
    # overridden, not called: GANZooCLI checks --ckpt_path's file and classes before LightningCLI reads them
    ("lightning.pytorch.cli.LightningCLI", "_parse_ckpt_path"),
    # GANCheckpoint(every_n_g_steps) saves as ModelCheckpoint's every_n_train_steps does
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_should_skip_saving_checkpoint"),
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_monitor_candidates"),
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_save_topk_checkpoint"),
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_save_last_checkpoint"),
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_defer_save_until_validation"),
)


def should_update_logs(trainer: Any) -> bool:
    """Whether Lightning writes this batch's on-step values (every ``log_every_n_steps`` batches).

    Falls back to ``True`` (log every batch: slower, never wrong).
    """
    connector = getattr(trainer, "_logger_connector", None)
    return bool(getattr(connector, "should_update_logs", True))


def ddp_kwargs(strategy: Any) -> Optional[dict]:
    """The keyword arguments a ``DDPStrategy`` will pass to ``DistributedDataParallel``, editable
    until the module is wrapped; ``None`` when this Lightning keeps them elsewhere."""
    kwargs = getattr(strategy, "_ddp_kwargs", None)
    return kwargs if isinstance(kwargs, dict) else None


def grad_scaler_scale(scaler: Any) -> Union[float, Tensor, None]:
    """A grad scaler's current scale, as a tensor read without a device sync where torch allows it.

    ``None`` until the scaler's first use (torch's ``get_scale`` then says 1.0, which is not
    the scale the first step will use).
    """
    scale_async = getattr(scaler, "_get_scale_async", None)
    scale = scale_async() if scale_async is not None else None
    return scale if scale is not None else scaler.get_scale()


def wandb_run_started(logger: Any) -> bool:
    """Whether a ``WandbLogger`` has started its run (reading ``logger.experiment`` would start one)."""
    return getattr(logger, "_experiment", None) is not None


def wandb_init_kwargs(logger: Any) -> Optional[dict]:
    """The keyword arguments a ``WandbLogger`` will pass to ``wandb.init``, editable until its run starts;
    ``None`` when this Lightning keeps them elsewhere."""
    kwargs = getattr(logger, "_wandb_init", None)
    return kwargs if isinstance(kwargs, dict) else None


def batches_that_stepped(trainer: Any) -> int:
    """The step Lightning logs metrics at (batches that made an optimizer step, W&B's ``trainer/global_step``);
    falls back to ``trainer.global_step``."""
    return getattr(trainer.fit_loop.epoch_loop, "_batches_that_stepped", trainer.global_step)


def save_checkpoint_now(callback: Any, trainer: Any) -> None:
    """Saves ``callback``'s (a ModelCheckpoint's) top-k checkpoint and ``last.ckpt`` now, as its
    ``every_n_train_steps`` trigger does, without that trigger's warning about manual optimization.

    A monitored value that no validation has logged yet defers the save to the next validation,
    as Lightning does.
    """
    if callback._should_skip_saving_checkpoint(trainer):
        return
    candidates = callback._monitor_candidates(trainer)
    if callback.monitor is not None and callback.monitor not in candidates:
        callback._defer_save_until_validation = True
        return
    callback._save_topk_checkpoint(trainer, candidates)
    callback._save_last_checkpoint(trainer, candidates)


def option_strings(parsers: Iterable[Any]) -> set[str]:
    """Every option an argparse (or jsonargparse) parser knows, without leading dashes."""
    return {option.lstrip("-") for parser in parsers for action in getattr(parser, "_actions", []) for option in action.option_strings}


def subcommand_parsers(cli: Any) -> list[Any]:
    """The parsers of a LightningCLI's subcommands (``fit``, ``test``, ...); empty when it has none."""
    return list(getattr(cli, "_subcommand_parsers", {}).values())


def inception_features(net: Any, images: Tensor) -> Any:
    """Every feature torchmetrics' ``NoTrainInceptionV3`` was built to return, from one forward pass.

    Its public ``forward`` returns only the first requested feature; the torch-fidelity
    forward behind it returns all of them.
    """
    return net._torch_fidelity_forward(images)


def keep_none_values() -> dict:
    """Keyword arguments with which jsonargparse's ``save`` and ``dump`` keep entries whose value is ``None``.

    Public API, but renamed: jsonargparse 4.49 calls ``skip_none`` ``skip_unset`` (the old name warns and
    goes in 5.0), and the versions from 4.32 that ganzoo admits know only ``skip_none``.
    """
    major, minor = (int(part) for part in version("jsonargparse").split(".")[:2])
    return {"skip_unset" if (major, minor) >= (4, 49) else "skip_none": False}
