"""A ModelCheckpoint whose ``last.ckpt`` always holds the end of training, or the step a SIGTERM stopped."""
from __future__ import annotations

import os

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException


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

    def _bring_last_up_to_date(self, trainer: Trainer):
        if self.save_last and self.dirpath and getattr(self, "_last_global_step_saved", None) != trainer.global_step:
            path = os.path.join(self.dirpath, self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION)
            # Recorded first, so the checkpoint's callback state owns last.ckpt: a resumed run then
            # overwrites it instead of starting a last-v1.ckpt beside it.
            self.last_model_path = path
            trainer.save_checkpoint(path)
            self._last_global_step_saved = trainer.global_step
            return path
        return None
