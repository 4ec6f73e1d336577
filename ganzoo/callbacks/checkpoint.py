"""A ModelCheckpoint whose ``last.ckpt`` always holds the end of training."""
from __future__ import annotations

import os

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint


class GANCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint with ``save_last=True``, and ``last.ckpt`` brought up to date when training ends.

    Lightning saves when validation runs. A run that stops between two validations
    (``max_g_steps`` not a multiple of ``val_check_interval``) would otherwise leave
    ``last.ckpt`` behind the final weights. All of ModelCheckpoint's arguments apply.
    """

    def __init__(self, *args, save_last: bool = True, **kwargs):
        super().__init__(*args, save_last=save_last, **kwargs)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        if self.save_last and self.dirpath and getattr(self, "_last_global_step_saved", None) != trainer.global_step:
            trainer.save_checkpoint(os.path.join(self.dirpath, self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION))
