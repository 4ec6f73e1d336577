"""The ``ganzoo`` command: a LightningCLI over GANModule and any LightningDataModule.

    ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml
    ganzoo fit --config zoo_configs/vanilla_ring8.yaml --max_g_steps 500
    ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml --print_config
"""
from __future__ import annotations

import sys
from typing import Optional

from jsonargparse.typing import PositiveInt
from lightning.pytorch import LightningDataModule, Trainer
from lightning.pytorch.cli import LightningCLI

from ganzoo.callbacks.steps import MaxGeneratorSteps
from ganzoo.errors import ConfigError
from ganzoo.modules.gan import GANModule


class GANZooCLI(LightningCLI):
    """LightningCLI with ganzoo's defaults.

    - any GANModule subclass as ``model`` and any LightningDataModule as ``data``;
    - G's and D's optimizers are constructor arguments of the model, so Lightning's
      own ``--optimizer`` injection is off (``auto_configure_optimizers=False``);
    - ``max_g_steps``: train for this many generator updates (see
      :class:`~ganzoo.callbacks.MaxGeneratorSteps`); leaves ``max_epochs`` unbounded
      unless it is set too;
    - the datamodule's ``data_shape`` is linked into the model's ``data_shape``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("subclass_mode_model", True)
        kwargs.setdefault("subclass_mode_data", True)
        kwargs.setdefault("auto_configure_optimizers", False)
        # A rerun into the same directory (or a logger that writes there too) must not abort.
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        super().__init__(GANModule, LightningDataModule, *args, **kwargs)

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument(
            "--max_g_steps",
            type=Optional[PositiveInt],
            default=None,
            help="Train for this many generator updates (trainer.max_steps counts G and D steps together).",
        )
        parser.link_arguments("data.data_shape", "model.init_args.data_shape", apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        config = self.config.get(self.subcommand, self.config) if self.subcommand else self.config
        if config.get("max_g_steps") and config.trainer.get("max_epochs") is None:
            config.trainer.max_epochs = -1

    def instantiate_trainer(self, **kwargs) -> Trainer:
        trainer = super().instantiate_trainer(**kwargs)
        config = self.config.get(self.subcommand, self.config) if self.subcommand else self.config
        if config.get("max_g_steps"):
            trainer.callbacks.append(MaxGeneratorSteps(config.max_g_steps))
        return trainer


def _config_error(err: BaseException) -> Optional[ConfigError]:
    """The ConfigError behind ``err``: jsonargparse wraps errors raised while it instantiates classes."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, ConfigError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def main(args: Optional[list[str]] = None) -> None:
    """Entry point of ``ganzoo`` and ``python -m ganzoo``; bad configuration exits 2 with one line."""
    try:
        GANZooCLI(args=args)
    except Exception as err:
        config_error = _config_error(err)
        if config_error is None:
            raise
        print(f"ganzoo: error: {config_error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
