"""A fit resumed from a checkpoint inside a run's directory continues that run: the same logger run, the same directory.

    ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml --max_g_steps 200
    ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml --max_g_steps 400 \\
        --ckpt_path runs/ganzoo/<run id>/checkpoints/last.ckpt     # W&B run <run id> again, in runs/ganzoo/<run id>/

The checkpoint's place says which run it belongs to, the rule :func:`ganzoo.loggers.claim_directory`
already follows for the directory: a W&B run's directory is ``<save_dir>/<project>/<run id>``,
a TensorBoard run's ``<save_dir>/<name>/<version>``. Before the logger is built, the first
logger of the config is given that run's W&B ``id`` (with ``resume="allow"``) or TensorBoard
``version``, so its charts, pictures, ``metrics.jsonl``, reports and checkpoints go on in one
run. A new run starts instead when the user names one (``id``/``version``, or another W&B
``name``), when the checkpoint lies elsewhere, or when the directory's run had another kind
of logger. Lightning's CSVLogger always starts a new version: it empties the ``metrics.csv``
of a version directory it writes into again.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, Optional

import yaml
from fsspec.utils import get_protocol
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

#: ``ckpt_path`` values that name no file: Lightning finds those checkpoints in the new run's own directories.
_NO_FILE = ("last", "hpc", "best", "registry")


def continue_run(trainer_config: Any, ckpt_path: Optional[str]) -> Optional[Path]:
    """Points the first logger of ``trainer_config`` at the run whose directory holds ``ckpt_path``.

    Args:
        trainer_config: the parsed ``trainer`` section of a ``fit`` (a jsonargparse Namespace);
            its logger's ``init_args`` gain ``id`` and ``resume`` (W&B) or ``version`` (TensorBoard).
        ckpt_path: the fit's ``--ckpt_path``.

    Returns:
        The run directory the fit continues, or ``None`` when it starts a new run.
    """
    if not ckpt_path or str(ckpt_path) in _NO_FILE or get_protocol(str(ckpt_path)) != "file":
        return None
    logger = _first(trainer_config.get("logger"))
    kind, init_args = _kind(logger), logger.get("init_args") if hasattr(logger, "get") else None
    if kind is None or init_args is None:
        return None
    if kind == "wandb":
        if init_args.get("id") or init_args.get("version"):
            return None  # the user names the run
        project = init_args.get("project") or os.environ.get("WANDB_PROJECT", "lightning_logs")
        runs = Path(init_args.get("save_dir") or init_args.get("dir") or ".") / project
    else:
        if init_args.get("version") is not None:
            return None
        runs = Path(init_args.get("save_dir") or ".") / (init_args.get("name") or "")
    directory = _run_directory(Path(ckpt_path), runs.expanduser())
    earlier = _logger_of_run(directory) if directory is not None else None
    if earlier is None or _kind(earlier) != kind:
        return None
    if kind == "wandb":
        name, earlier_name = init_args.get("name"), (earlier.get("init_args") or {}).get("name")
        if name and name != earlier_name:
            return None  # another display name: the user asks for another run
        init_args["id"] = directory.name
        init_args["resume"] = init_args.get("resume") or "allow"  # jsonargparse passes resume=None over Lightning's
    else:
        init_args["version"] = directory.name  # a string is the directory's name as it is
    return directory


def _run_directory(ckpt_path: Path, runs: Path) -> Optional[Path]:
    """The directory right under ``runs`` that holds ``ckpt_path`` (at any depth), or ``None``."""
    try:
        inside = ckpt_path.resolve().relative_to(runs.resolve())
    except ValueError:
        return None
    return runs / inside.parts[0] if len(inside.parts) > 1 else None


def _logger_of_run(directory: Path) -> Optional[dict]:
    """The first logger of the ``config.yaml`` that ``ganzoo fit`` wrote into a run's directory, or ``None``."""
    try:
        config = yaml.safe_load((directory / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    trainer = config.get("trainer") if isinstance(config, dict) else None
    return _first(trainer.get("logger")) if isinstance(trainer, dict) else None


def _first(loggers: Any) -> Any:
    """The logger that owns the run directory (:func:`ganzoo.loggers.run_dir`): the first of a list."""
    return (loggers[0] if loggers else None) if isinstance(loggers, list) else loggers


def _kind(logger: Any) -> Optional[str]:
    """``"wandb"`` or ``"tensorboard"`` for a logger given as ``class_path`` + ``init_args``; ``None`` for any other."""
    class_path = logger.get("class_path") if hasattr(logger, "get") else None
    module, _, name = str(class_path or "").rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name, None) if module else None
    except ImportError:
        return None
    if isinstance(found, type) and issubclass(found, WandbLogger):
        return "wandb"
    if isinstance(found, type) and issubclass(found, TensorBoardLogger):
        return "tensorboard"
    return None
