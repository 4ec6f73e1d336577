"""Where a run writes its files, how pictures reach the loggers, and ganzoo's W&B logger."""
from __future__ import annotations

import json
import netrc
import os
import socket
import sys
import time
from pathlib import Path
from importlib.util import find_spec
from typing import Callable, Literal, Mapping, Optional, Union
from urllib.parse import urlparse

import numpy as np
from fsspec.utils import get_protocol
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers import TensorBoardLogger as LightningTensorBoardLogger
from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only
from PIL import Image

from ganzoo import compat
from ganzoo.errors import ConfigError
from ganzoo.modules.axis import generator_step

#: the file that marks a directory as one run's own: who started the run, where and when.
RUN_MARKER = ".ganzoo-run"
#: ``ckpt_path`` values by which Lightning resumes from a checkpoint of the run's own directories.
_RESUME_IN_PLACE = ("last", "hpc")
#: ganzoo.WandbLogger's x axis: generator steps (Lightning's own WandbLogger writes them as trainer/global_step).
G_STEP_KEY = "trainer/g_step"


def run_dir(trainer: Trainer) -> Path:
    """The directory of this run, where its pictures, config and reports go.

    CSV and TensorBoard: the logger's versioned directory (``runs/<name>/version_<n>``).
    W&B: ``<save_dir>/<project>/<run id>``, the directory Lightning puts the run's
    checkpoints under, so that two runs never share a directory (Lightning's
    ``trainer.log_dir`` is the bare ``save_dir`` for W&B). No logger: ``default_root_dir``.
    Unlike ``trainer.log_dir`` it makes no collective call, so rank 0 may call it alone.
    """
    logger = trainer.loggers[0] if trainer.loggers else None
    if isinstance(logger, (CSVLogger, LightningTensorBoardLogger)):
        return Path(logger.log_dir)
    if isinstance(logger, LightningWandbLogger):
        logger.experiment  # the run id exists once the run has started
        return Path(logger.save_dir or ".") / str(logger.name) / str(logger.version)
    if logger is not None and logger.save_dir:
        return Path(logger.save_dir)
    return Path(trainer.default_root_dir)


def claim_directory(directory, resume_from=None, used_if: tuple[str, ...] = (), fix: str = "") -> None:
    """Marks ``directory`` as this run's own, or fails with one line when another run is using it or has used it.

    The marker ``.ganzoo-run`` is created with ``O_EXCL``, so of two runs that start at once
    exactly one gets the directory. A directory without a marker that already holds files
    matching ``used_if`` (say a ``config.yaml`` of an older run) counts as used. A run that
    resumes from a checkpoint inside the directory (``resume_from``) continues there.

    Args:
        directory: the directory the run is about to write into.
        resume_from: the run's ``ckpt_path``, or ``None``.
        used_if: glob patterns of files that show an earlier run.
        fix: what the message tells the user to do instead.
    """
    if get_protocol(str(directory)) != "file":
        return  # object stores have no exclusive create; remote directories are the user's to keep apart
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / RUN_MARKER
    record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")})
    if resumes_in(directory, resume_from):
        marker.write_text(record)
        return
    earlier = next((path for pattern in used_if for path in directory.glob(pattern)), None)
    try:
        if earlier is not None:
            raise FileExistsError
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise ConfigError(
            f"'{directory}' {_owner(marker, earlier)}; a run never writes into another run's directory: {fix}"
        ) from None
    with os.fdopen(fd, "w") as file:
        file.write(record)


def release_directory(directory, files: tuple[str, ...] = ()) -> None:
    """Gives back a directory this process claimed, with the named files, for a run that stopped before its first update.

    Such a run has nothing to resume, and a fixed configuration may then run in the same place.
    """
    marker = Path(directory) / RUN_MARKER
    try:
        owner = json.loads(marker.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(owner, dict) or owner.get("pid") != os.getpid() or owner.get("host") != socket.gethostname():
        return
    for name in files:
        (Path(directory) / name).unlink(missing_ok=True)
    marker.unlink(missing_ok=True)


def resumes_in(directory: Path, ckpt_path) -> bool:
    """Whether a run with this ``ckpt_path`` continues the run of ``directory``."""
    if ckpt_path is None:  # Lightning resumes a requeued SLURM job from its hpc checkpoint by itself
        return any(directory.glob("hpc_ckpt_*.ckpt"))
    if str(ckpt_path) in _RESUME_IN_PLACE:
        return True
    directory, ckpt_path = directory.resolve(), Path(ckpt_path).resolve()
    if ckpt_path.name.startswith("hpc_ckpt_"):  # written into default_root_dir, above the checkpoint directory
        return ckpt_path.parent in (directory, *directory.parents)
    return directory in ckpt_path.parents


def _owner(marker: Path, earlier: Optional[Path]) -> str:
    """Who has the directory, for the message."""
    if earlier is not None and not marker.exists():
        return f"holds files of an earlier run ({earlier.name})"
    try:
        owner = json.loads(marker.read_text())
        return f"belongs to another run (pid {owner['pid']} on {owner['host']}, started {owner['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return f"belongs to another run (its {RUN_MARKER} marker)"


def claim_on_rank_zero(trainer: Trainer, claim: Callable[[], None]) -> None:
    """Runs ``claim`` on rank 0 and raises its ConfigError on every process, so no process waits for another."""
    refusal = None
    if trainer.is_global_zero:
        try:
            claim()
        except ConfigError as err:
            refusal = str(err)
    refusal = trainer.strategy.broadcast(refusal)
    if refusal:
        raise ConfigError(refusal)


def log_image(trainer: Trainer, key: str, path: Path) -> None:
    """Hands a PNG to every logger that takes pictures: W&B and TensorBoard.

    The picture is logged at the run's generator steps, the step GANModule logs its
    values at (:mod:`ganzoo.modules.axis`), so pictures and losses share the x axis.
    TensorBoard gets it as an image (``add_image``, HWC uint8, under ``key``); loggers
    without pictures (CSV, MLflow) keep none: the file in the run directory is the record.
    """
    step = generator_step(trainer)
    for logger in trainer.loggers:
        if isinstance(logger, LightningWandbLogger):
            logger.log_image(key=key, images=[str(path)], step=step)
        elif isinstance(logger, LightningTensorBoardLogger):
            picture = np.asarray(Image.open(path).convert("RGB"))  # figures are RGBA, grids of digits gray
            logger.experiment.add_image(key, picture, global_step=step, dataformats="HWC")


def log_video(trainer: Trainer, key: str, path: Path) -> None:
    """Hands an animation (``.gif`` or ``.mp4``) to every active W&B logger, as a ``wandb.Video``.

    Logged at the step of :func:`log_image`, so it sits on the x axis of the run's last pictures.
    Other loggers have no place for videos: the file in the run directory is the record.
    """
    step = generator_step(trainer)
    for logger in trainer.loggers:
        if isinstance(logger, LightningWandbLogger):
            logger.log_video(key=key, videos=[str(path)], step=step)


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
    can be uploaded later with ``wandb sync``, or looked at where it is (docs/viewing.md).
    Training never waits for a login or a network. Every chart's x axis is
    ``trainer/g_step``, the generator steps.

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
        # Lightning's own step key and x axis stay for these: a prefix, and TensorBoard syncing.
        self._g_step_axis = not kwargs.get("prefix") and not kwargs.get("sync_tensorboard")
        if "resume" in kwargs and kwargs["resume"] is None:  # the CLI passes every option: keep Lightning's "allow"
            del kwargs["resume"]
        super().__init__(name=name, save_dir=save_dir, project=project, offline=offline, log_model=log_model, **kwargs)
        if self._wandb_init.get("anonymous") is None:  # wandb >= 0.2x warns about the setting even when unset
            self._wandb_init.pop("anonymous", None)

    @property
    @rank_zero_experiment
    def experiment(self):
        """The W&B run, started on first use with ``trainer/g_step`` (generator steps) as every chart's x axis."""
        starting = not compat.wandb_run_started(self)
        run = super().experiment
        if starting and self._g_step_axis and callable(getattr(run, "define_metric", None)):
            run.define_metric(G_STEP_KEY)  # replaces Lightning's trainer/global_step as the axis of "*"
            run.define_metric("*", step_metric=G_STEP_KEY, step_sync=True)
        return run

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: Optional[int] = None) -> None:
        """Logs ``metrics`` with ``trainer/g_step`` = ``step``, which GANModule makes its generator steps."""
        if step is None or not self._g_step_axis:
            super().log_metrics(metrics, step)
        else:
            self.experiment.log({**metrics, G_STEP_KEY: step})


class TensorBoardLogger(LightningTensorBoardLogger):
    """Lightning's TensorBoardLogger with ganzoo's defaults: runs under ``runs/``, no ``hp_metric``.

    Values and pictures (sample grids, interpolations, distribution figures) are written at
    generator steps. Look at a run with ``tensorboard --logdir runs`` (docs/viewing.md).
    Needs tensorboard: ``pip install 'ganzoo[tensorboard]'``.

    Args:
        save_dir: where runs go: ``<save_dir>/<name>/version_<n>`` is the run directory.
        name: the run's folder under ``save_dir`` (the recipe's name, say).
        default_hp_metric: write Lightning's placeholder ``hp_metric`` (-1) scalar; off.
        **kwargs: the rest of Lightning's TensorBoardLogger (``version``, ``log_graph``, ``prefix``, ...).

    Raises:
        ConfigError: tensorboard is not installed.
    """

    def __init__(self, save_dir: str = "runs", name: Optional[str] = "ganzoo", default_hp_metric: bool = False, **kwargs):
        check_tensorboard("ganzoo.TensorBoardLogger")
        super().__init__(save_dir=save_dir, name=name, default_hp_metric=default_hp_metric, **kwargs)


def check_tensorboard(what: str) -> None:
    """Fails with one line naming the extra to install when neither tensorboard nor tensorboardX is importable."""
    if not (find_spec("tensorboard") or find_spec("tensorboardX")):
        raise ConfigError(
            f"{what} needs tensorboard, which is not installed; pip install 'ganzoo[tensorboard]', "
            "or use ganzoo.WandbLogger or lightning.pytorch.loggers.CSVLogger"
        )


@rank_zero_only
def _notice(message: str) -> None:
    print(f"ganzoo: {message}", file=sys.stderr)
