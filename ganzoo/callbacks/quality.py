"""FID, KID, IS and domain-classifier metrics of an image GAN, evaluated during validation."""
from __future__ import annotations

import inspect
import json
import time
from typing import Optional

from lightning.pytorch import Callback, LightningModule, Trainer

from ganzoo.errors import ConfigError, check_positive_int
from ganzoo.loggers import run_dir
from ganzoo.metrics.evaluator import ImageEvaluator, module_sampler


def _changed(settings: dict) -> list[str]:
    """The evaluator settings that differ from ImageEvaluator's defaults (a config file spells out every one)."""
    defaults = {name: p.default for name, p in inspect.signature(ImageEvaluator).parameters.items()}
    as_list = lambda v: list(v) if isinstance(v, (list, tuple)) else v  # noqa: E731 - YAML gives lists for tuples
    return [name for name, value in settings.items() if name not in defaults or as_list(value) != as_list(defaults[name])]


class ImageMetrics(Callback):
    """Evaluates image metrics at validation, on a protocol the logged keys name.

    At the end of a validation (never in Lightning's sanity check), once
    ``every_n_steps`` generator steps or ``every_n_epochs`` epochs have passed since the
    last evaluation, it draws ``num_fake`` images with fixed seeds and logs, for example,
    ``val/fid_10k_train`` (10,000 generated images against the whole training split),
    ``val/kid_10k_train``, ``val/is_10k``; see :class:`~ganzoo.metrics.ImageEvaluator`
    for the metrics and key names. The values can drive ``ModelCheckpoint(monitor=...)``.
    Each evaluation is also appended to ``<run dir>/metrics.jsonl`` with its protocol.

    Every setting is checked, and the InceptionV3 weights found and checked, before
    training starts: a missing weights file stops the run in one line that says where
    to get it. To train without these metrics, leave the callback out.

    The feature extractors live in this callback, not in the LightningModule, so the
    91 MB of Inception weights never enter a checkpoint.

    Args:
        every_n_steps: generator steps between evaluations.
        every_n_epochs: epochs between evaluations (used when ``every_n_steps`` is None;
            both None: every validation).
        verbose: print each evaluation's values.
        evaluator: an :class:`~ganzoo.metrics.ImageEvaluator` to use, instead of ``settings``.
        **settings: the evaluator's arguments, as :class:`~ganzoo.metrics.ImageEvaluator`
            takes them (``metrics``, ``num_fake``, ``num_real``, ``split``,
            ``inception_weights``, ``classifier``, ``feature``, ``antialias``, ``kid_subsets``,
            ``kid_subset_size``, ``is_splits``, ``pr_k``, ``dc_k``, ``seed``, ``batch_size``, ``cache_dir``,
            ``use_cache``); in a YAML they sit beside ``every_n_steps`` in ``init_args``.
    """

    def __init__(
        self,
        every_n_steps: Optional[int] = None,
        every_n_epochs: Optional[int] = None,
        verbose: bool = True,
        evaluator: Optional[ImageEvaluator] = None,
        **settings,
    ):
        if every_n_steps is not None:
            check_positive_int("every_n_steps", every_n_steps, "every_n_steps=5000")
        if every_n_epochs is not None:
            check_positive_int("every_n_epochs", every_n_epochs, "every_n_epochs=1")
        if every_n_steps is not None and every_n_epochs is not None:
            raise ConfigError(
                f"give every_n_steps ({every_n_steps}) or every_n_epochs ({every_n_epochs}), not both"
            )
        if evaluator is not None and _changed(settings):
            raise ConfigError(f"give evaluator or its settings ({', '.join(_changed(settings))}), not both")
        self.evaluator = evaluator if evaluator is not None else ImageEvaluator(**settings)
        self.every_n_steps = every_n_steps
        self.every_n_epochs = every_n_epochs
        self.verbose = verbose
        self._last_step: Optional[int] = None
        self._last_epoch: Optional[int] = None
        #: every evaluation so far: ``{"generator_steps", "epoch", "seconds", <key>: value}``.
        self.history: list[dict] = []

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is None:
            raise ConfigError("ImageMetrics needs a datamodule (it reads the real images of a split); pass datamodule=...")
        self.evaluator.check_generator(pl_module)
        self.evaluator.prepare(datamodule)

    def _due(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        if self.every_n_steps is not None:
            return self._last_step is None or pl_module.g_steps - self._last_step >= self.every_n_steps
        every = self.every_n_epochs or 1
        return self._last_epoch is None or trainer.current_epoch - self._last_epoch >= every

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not self._due(trainer, pl_module):
            return
        start = time.perf_counter()
        values = self.evaluator.evaluate(module_sampler(pl_module), trainer.datamodule, pl_module.device)
        self._last_step, self._last_epoch = pl_module.g_steps, trainer.current_epoch
        # every process computed the same values from the gathered features: no sync needed
        pl_module.log_dict({f"val/{k}": v for k, v in values.items()}, sync_dist=False)
        record = {"generator_steps": pl_module.g_steps, "epoch": trainer.current_epoch,
                  "generator": pl_module.sampled_generator(),
                  "seconds": round(time.perf_counter() - start, 2), **values}
        self.history.append(record)
        if trainer.is_global_zero:
            self._write(trainer, record)

    def _write(self, trainer: Trainer, record: dict) -> None:
        directory = run_dir(trainer)
        directory.mkdir(parents=True, exist_ok=True)
        line = dict(record, protocol=self.evaluator.protocol(trainer.datamodule))
        with open(directory / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps(line) + "\n")
        if self.verbose:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("generator_steps", "epoch", "seconds", "generator"))
            print(f"ImageMetrics at G step {record['generator_steps']} ({record['seconds']:.0f} s): {shown}")

    def state_dict(self) -> dict:
        return {"last_step": self._last_step, "last_epoch": self._last_epoch}

    def load_state_dict(self, state_dict: dict) -> None:
        self._last_step = state_dict.get("last_step")
        self._last_epoch = state_dict.get("last_epoch")
