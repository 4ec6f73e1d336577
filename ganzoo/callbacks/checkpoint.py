"""A ModelCheckpoint that counts generator steps, and whose ``last.ckpt`` always holds the end of training,
or the step a SIGTERM stopped."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ganzoo import compat
from ganzoo.checkpoint_io import remove_partial_files
from ganzoo.errors import ConfigError, NonFiniteLossError, check_positive_int
from ganzoo.loggers import claim_directory, claim_on_rank_zero, release_directory, resumes_in

#: GANCheckpoint's file names when no ``filename`` is given: ``epoch=3-g_step=1500.ckpt``.
DEFAULT_FILENAME = "{epoch}-{g_step}"


class GANCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint with ``save_last=True``, names in generator steps, and ``last.ckpt``
    brought up to date when training ends.

    File names count generator steps: by default ``epoch=3-g_step=1500.ckpt``, and ``{g_step}``
    may be used in a ``filename`` of your own (``"{g_step}-{val/fd_mnist_10k_train:.2f}"``).
    ``{step}`` keeps Lightning's meaning, ``trainer.global_step``: optimizer steps, D's and G's
    together (``n_critic + 1`` per G step). For the same reason Lightning's
    ``every_n_train_steps`` counts optimizer steps; ``every_n_g_steps`` counts G steps.

    Lightning saves when validation runs. A run that stops between two validations
    (``max_g_steps`` not a multiple of ``val_check_interval``) would otherwise leave
    ``last.ckpt`` behind the final weights. All of ModelCheckpoint's arguments apply.

    A SIGTERM (a cluster's preemption, ``kill``) makes Lightning stop at the end of the
    current batch; ``last.ckpt`` is then written from that batch's consistent state, and
    ``--ckpt_path <run dir>/checkpoints/last.ckpt`` resumes the run.

    Args:
        every_n_g_steps: also save (top-k and ``last.ckpt``) after every this many generator
            steps; like Lightning's ``every_n_train_steps``, it then saves at no validation
            unless ``every_n_epochs`` is given too. ``None``: Lightning's triggers only.
        *args: Lightning's ModelCheckpoint arguments by position (``dirpath``, ``filename``, ...).
        **kwargs: the rest of ModelCheckpoint's arguments (``monitor``, ``save_top_k``, ...).
    """

    def __init__(self, *args, save_last: bool = True, every_n_g_steps: Optional[int] = None, **kwargs):
        if every_n_g_steps is not None:
            check_positive_int("every_n_g_steps", every_n_g_steps, "every_n_g_steps=1000")
            given = [key for key in ("every_n_train_steps", "train_time_interval") if kwargs.get(key)]
            if given:
                raise ConfigError(
                    f"give GANCheckpoint every_n_g_steps={every_n_g_steps} or {given[0]}={kwargs[given[0]]}, "
                    "not both (every_n_g_steps counts generator steps, every_n_train_steps optimizer steps)"
                )
            kwargs["every_n_train_steps"] = 0  # Lightning's step trigger off, and no save per epoch unless asked
        if len(args) < 2:  # filename not given by position (ModelCheckpoint's second argument)
            kwargs["filename"] = kwargs.get("filename") or DEFAULT_FILENAME
        super().__init__(*args, save_last=save_last, **kwargs)
        self.every_n_g_steps = every_n_g_steps
        self._trainer: Optional[Trainer] = None
        self._last_g_step_saved: Optional[int] = None

    @property
    def state_key(self) -> str:
        key = super().state_key
        # Two GANCheckpoints that differ only in every_n_g_steps keep apart in a checkpoint's callback states.
        return key if self.every_n_g_steps is None else f"{key}{{'every_n_g_steps': {self.every_n_g_steps}}}"

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self._trainer = trainer  # format_checkpoint_name reads the generator steps through it

    def format_checkpoint_name(self, metrics: dict[str, Any], filename: Optional[str] = None, ver: Optional[int] = None,
                               prefix: Optional[str] = None) -> str:  # fmt: skip
        """Lightning's name for a checkpoint, with ``{g_step}`` the generator steps and ``{step}`` ``trainer.global_step``."""
        module = self._trainer.lightning_module if self._trainer is not None else None
        if module is not None and hasattr(module, "g_steps"):
            # a logged ``step`` metric (GANModule's, in G steps) would otherwise stand in for Lightning's ``{step}``
            metrics = {**metrics, "g_step": torch.tensor(module.g_steps), "step": torch.tensor(self._trainer.global_step)}
        return super().format_checkpoint_name(metrics, filename=filename, ver=ver, prefix=prefix)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Lightning's restore, for a run directory that was moved or copied too.

        Lightning drops the saved paths (``last.ckpt``, the kept top-k files) when the checkpoint
        was written under another ``dirpath``, so a run resumed from its own ``last.ckpt`` after
        its directory moved would write ``last-v1.ckpt`` beside it and keep the old top-k file.
        When the checkpoint resumed from lies in this callback's ``dirpath``, the directory is the
        same run's under a new name: its paths are read as paths in the new place.
        """
        saved = state_dict.get("dirpath")
        resume = self._trainer.ckpt_path if self._trainer is not None else None
        if saved and self.dirpath and saved != self.dirpath and resume and resumes_in(Path(self.dirpath), resume):
            state_dict = _moved_paths(state_dict, saved, self.dirpath)
        super().load_state_dict(state_dict)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._last_g_step_saved = getattr(pl_module, "g_steps", 0)  # a resumed run saved its last G step already

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args, **kwargs) -> None:
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)
        g_steps = getattr(pl_module, "g_steps", 0)
        if self.every_n_g_steps and g_steps % self.every_n_g_steps == 0 and g_steps != self._last_g_step_saved:
            self._last_g_step_saved = g_steps  # D-only batches that follow keep the same count: one save
            compat.save_checkpoint_now(self, trainer)

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Claims the checkpoint directory for this run (:func:`ganzoo.loggers.claim_directory`).

        Called after Lightning has resolved ``ckpt_path`` and before the first save: a directory
        that another run is using or has used is refused with one line, unless this run resumes
        from a checkpoint in it. The partial files of a killed save are removed.
        """
        if self.dirpath and getattr(self, "_claimed", None) != self.dirpath:
            claim_on_rank_zero(trainer, lambda: self._claim_dirpath(trainer))
            self._claimed = self.dirpath

    def _claim_dirpath(self, trainer: Trainer) -> None:
        claim_directory(
            self.dirpath,
            resume_from=trainer.ckpt_path,
            used_if=("*" + self.FILE_EXTENSION,),
            fix=f"give this run its own checkpoint directory (trainer.default_root_dir, a logger, or GANCheckpoint's "
            f"dirpath), or resume that run from {os.path.join(self.dirpath, 'last' + self.FILE_EXTENSION)}",
        )
        remove_partial_files(self.dirpath)  # of a save that a kill interrupted

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        self._bring_last_up_to_date(trainer)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        super().on_exception(trainer, pl_module, exception)
        # Lightning raises SIGTERMException between batches, so the state is whole; other errors may strike mid-step.
        if isinstance(exception, SIGTERMException) and not trainer.sanity_checking:
            path = self._bring_last_up_to_date(trainer)
            if path:
                rank_zero_info(
                    f"ganzoo: SIGTERM after {getattr(pl_module, 'g_steps', '?')} generator steps; saved {path}; "
                    f"resume with --ckpt_path {path}"
                )
        elif self._saves_after(trainer, exception):
            self._save_last_despite(trainer, pl_module, exception)
        if getattr(self, "_claimed", None) and trainer.global_step == 0 and trainer.is_global_zero:
            release_directory(self.dirpath)  # stopped before its first update: nothing to resume

    @staticmethod
    def _saves_after(trainer: Trainer, exception: BaseException) -> bool:
        """Whether ``exception`` leaves a state worth saving as ``last.ckpt``.

        An error between two training batches (a callback failing at a validation, at an epoch's
        end or when training ends, a Ctrl+C there) leaves whole weights; one inside a training
        step may leave them half-updated, and a failed write (a full disk) would only fail again.
        Under DDP an error may strike one process only, and saving is collective: not attempted.
        """
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        return (
            trainer.state.fn == "fit"
            and not trainer.sanity_checking
            and trainer.world_size == 1
            and progress.ready == progress.completed
            and not isinstance(exception, OSError)
            and not isinstance(exception, NonFiniteLossError)  # its weights are the ones no checkpoint may hold
        )

    def _save_last_despite(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        """Writes ``last.ckpt`` after ``exception``, which then propagates as it is, even if this save fails."""
        try:
            path = self._bring_last_up_to_date(trainer)
        except Exception as err:  # the original error is the one to report
            rank_zero_info(f"ganzoo: could not save last.ckpt after {type(exception).__name__}: {err}")
            return
        if path:
            rank_zero_info(
                f"ganzoo: {type(exception).__name__} between two batches, after {getattr(pl_module, 'g_steps', '?')} "
                f"generator steps; saved {path} first; resume with --ckpt_path {path}"
            )

    def _bring_last_up_to_date(self, trainer: Trainer):
        if self.save_last and self.dirpath and getattr(self, "_last_global_step_saved", None) != trainer.global_step:
            path = os.path.join(self.dirpath, self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION)
            # Recorded first, so the checkpoint's callback state owns last.ckpt: a resumed run then
            # overwrites it instead of starting a last-v1.ckpt beside it.
            self.last_model_path = path
            trainer.save_checkpoint(path, weights_only=self.save_weights_only)  # said, or Lightning logs a line
            self._last_global_step_saved = trainer.global_step
            return path
        return None


def _moved_paths(state: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A ModelCheckpoint state with every path under ``old`` (its ``dirpath``) read as the same path under ``new``."""
    def move(path: Any) -> Any:
        if isinstance(path, str) and os.path.dirname(path) == old:
            return os.path.join(new, os.path.basename(path))
        return path

    moved = {key: move(value) for key, value in state.items()}
    moved["dirpath"] = new
    if isinstance(state.get("best_k_models"), dict):
        moved["best_k_models"] = {move(path): score for path, score in state["best_k_models"].items()}
    return moved
