"""A ModelCheckpoint whose ``last.ckpt`` always holds the end of training, or the step a SIGTERM stopped."""
from __future__ import annotations

import os

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ganzoo.checkpoint_io import remove_partial_files
from ganzoo.loggers import claim_directory, claim_on_rank_zero, release_directory


class GANCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint with ``save_last=True``, and ``last.ckpt`` brought up to date when training ends.

    Lightning saves when validation runs. A run that stops between two validations
    (``max_g_steps`` not a multiple of ``val_check_interval``) would otherwise leave
    ``last.ckpt`` behind the final weights. All of ModelCheckpoint's arguments apply.

    A SIGTERM (a cluster's preemption, ``kill``) makes Lightning stop at the end of the
    current batch; ``last.ckpt`` is then written from that batch's consistent state, and
    ``--ckpt_path <run dir>/checkpoints/last.ckpt`` resumes the run.
    """

    def __init__(self, *args, save_last: bool = True, **kwargs):
        super().__init__(*args, save_last=save_last, **kwargs)

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
