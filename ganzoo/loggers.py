"""Where a run writes its files, how pictures reach the loggers, and ganzoo's W&B logger."""
from __future__ import annotations

import netrc
import os
import sys
from pathlib import Path
from typing import Literal, Optional, Union
from urllib.parse import urlparse

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger
from lightning.pytorch.utilities import rank_zero_only


def run_dir(trainer: Trainer) -> Path:
    """The directory of this run, where its pictures, config and reports go.

    CSV and TensorBoard: the logger's versioned directory (``runs/<name>/version_<n>``).
    W&B: ``<save_dir>/<project>/<run id>``, the directory Lightning puts the run's
    checkpoints under, so that two runs never share a directory (Lightning's
    ``trainer.log_dir`` is the bare ``save_dir`` for W&B). No logger: ``default_root_dir``.
    Unlike ``trainer.log_dir`` it makes no collective call, so rank 0 may call it alone.
    """
    logger = trainer.loggers[0] if trainer.loggers else None
    if isinstance(logger, (CSVLogger, TensorBoardLogger)):
        return Path(logger.log_dir)
    if isinstance(logger, LightningWandbLogger):
        logger.experiment  # the run id exists once the run has started
        return Path(logger.save_dir or ".") / str(logger.name) / str(logger.version)
    if logger is not None and logger.save_dir:
        return Path(logger.save_dir)
    return Path(trainer.default_root_dir)


def log_image(trainer: Trainer, key: str, path: Path) -> None:
    """Hands a PNG to every active W&B logger.

    The picture is logged at the step Lightning logs metrics at (batches that stepped,
    ``trainer/global_step`` in W&B), so pictures and losses share the x axis; the
    trainer's ``global_step`` counts G and D steps both and would run ahead of them.
    Other loggers (CSV) have no place for pictures: the file in the run directory is the record.
    """
    step = getattr(trainer.fit_loop.epoch_loop, "_batches_that_stepped", trainer.global_step)
    for logger in trainer.loggers:
        if isinstance(logger, LightningWandbLogger):
            logger.log_image(key=key, images=[str(path)], step=step)


def wandb_credentials() -> bool:
    """Whether W&B can authenticate without asking: ``WANDB_API_KEY`` or a ``wandb login`` entry in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


class WandbLogger(LightningWandbLogger):
    """Lightning's WandbLogger with ganzoo's defaults: project ``ganzoo``, runs under ``runs/``, never a prompt.

    ``offline=None`` (the default) decides for you: offline when ``WANDB_MODE`` says so
    or when no credentials are found (no ``WANDB_API_KEY``, no ``wandb login``), with a
    one-line notice; the run is then written under ``<save_dir>/wandb/offline-run-*`` and
    can be uploaded later with ``wandb sync``. Training never waits for a login or a network.

    Args:
        name: the run's display name in W&B (the recipe's name, say).
        save_dir: where W&B and ganzoo write the run (``<save_dir>/<project>/<run id>``).
        project: the W&B project.
        offline: ``True``/``False`` force the mode; ``None`` picks as above.
        log_model: upload checkpoints as W&B artifacts: ``True`` at the end of training,
            ``"all"`` as they are written. Needs an online run; offline it is skipped
            with a notice (the checkpoints stay on disk).
        **kwargs: the rest of Lightning's WandbLogger (``tags``, ``group``, ``entity``, ...).
    """

    def __init__(
        self,
        name: Optional[str] = None,
        save_dir: str = "runs",
        project: str = "ganzoo",
        offline: Optional[bool] = None,
        log_model: Union[Literal["all"], bool] = False,
        **kwargs,
    ):
        mode = os.environ.get("WANDB_MODE", "").lower()
        if offline is None:
            offline = mode in ("offline", "dryrun") or (mode not in ("online", "disabled") and not wandb_credentials())
            if offline and mode not in ("offline", "dryrun"):
                _notice(
                    f"no W&B credentials (WANDB_API_KEY or `wandb login`): logging offline under {save_dir}/wandb; "
                    "upload later with `wandb sync`"
                )
        if offline and log_model:
            _notice(f"log_model={log_model!r} needs an online W&B run; checkpoints stay on disk only")
            log_model = False
        Path(save_dir).mkdir(parents=True, exist_ok=True)  # wandb falls back to a temp dir when it is missing
        super().__init__(name=name, save_dir=save_dir, project=project, offline=offline, log_model=log_model, **kwargs)
        if self._wandb_init.get("anonymous") is None:  # wandb >= 0.2x warns about the setting even when unset
            self._wandb_init.pop("anonymous", None)


@rank_zero_only
def _notice(message: str) -> None:
    print(f"ganzoo: {message}", file=sys.stderr)
