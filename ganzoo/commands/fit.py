"""``ganzoo fit`` (and ``validate``, ``test``, ``predict``): a LightningCLI over GANModule and any LightningDataModule.

    ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml
    ganzoo fit --config zoo_configs/vanilla_ring8.yaml --max_g_steps 500
    ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml --print_config
"""
from __future__ import annotations

import re
import sys
from argparse import ArgumentError
from contextlib import ExitStack
from typing import Optional

import yaml
from jsonargparse.typing import PositiveInt
from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from ganzoo import compat
from ganzoo.argparsing import check_output_path
from ganzoo.callbacks.progress import GANProgressBar
from ganzoo.callbacks.report import RunReport
from ganzoo.callbacks.steps import MaxGeneratorSteps, stop_line
from ganzoo.checkpoint_loading import (
    ClassPolicy,
    check_checkpoint_file,
    check_module_classes,
    trusted_modules_of_config,
)
from ganzoo.cli_errors import one_line_parse_error
from ganzoo.commands.quiet import quiet_continued_run, quiet_upstream, quiet_wandb
from ganzoo.commands.resumed_run import continue_run
from ganzoo.errors import ConfigError, check_number
from ganzoo.loggers import check_tensorboard, claim_directory, claim_on_rank_zero, release_directory, run_dir
from ganzoo.modules.checks import check_checkpoint_fits
from ganzoo.modules.gan import GANModule


class RunConfigSaver(SaveConfigCallback):
    """Writes the resolved config to ``<run dir>/config.yaml`` and gives it to W&B as the run's config.

    Lightning's own callback writes into ``trainer.log_dir``, which for W&B is the bare
    ``save_dir`` shared by every run: the second run there would abort (or, with
    ``overwrite``, erase the first run's config). The run directory of
    :func:`ganzoo.loggers.run_dir` belongs to one run.
    """

    def __init__(self, *args, **kwargs):
        kwargs["save_to_log_dir"] = False
        super().__init__(*args, **kwargs)

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        # Before anything is written: the run directory must be this run's own (claim_directory).
        if not self.already_saved:
            claim_on_rank_zero(trainer, lambda: self._claim_run_dir(trainer))
        super().setup(trainer, pl_module, stage)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        claimed = getattr(self, "_claimed", None)
        if claimed is not None and trainer.global_step == 0:  # stopped before its first update: nothing to keep
            release_directory(claimed, (self.config_filename,))

    def _claim_run_dir(self, trainer: Trainer) -> None:
        directory = run_dir(trainer)
        claim_directory(
            directory,
            resume_from=self.config.get("ckpt_path"),
            used_if=(self.config_filename,),
            fix=f"pass --trainer.default_root_dir <a new directory> (or use a logger, which gives each run its own "
            f"directory), or continue that run with --ckpt_path {directory / 'checkpoints' / 'last.ckpt'}",
        )
        self._claimed = directory

    def save_config(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        path = run_dir(trainer) / self.config_filename
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"ganzoo: writing {path.parent}/ ({run_contents(trainer)})")
        self.parser.save(self.config, str(path), **compat.keep_none_values(), overwrite=True, multifile=self.multifile)
        resolved = yaml.safe_load(self.parser.dump(self.config, **compat.keep_none_values()))
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.experiment.config.update({"config": resolved}, allow_val_change=True)


class GANZooCLI(LightningCLI):
    """LightningCLI with ganzoo's defaults.

    - any GANModule subclass as ``model`` and any LightningDataModule as ``data``;
    - G's and D's optimizers are constructor arguments of the model, so Lightning's
      own ``--optimizer`` injection is off (``auto_configure_optimizers=False``);
    - ``max_g_steps``: train for this many generator updates (see
      :class:`~ganzoo.callbacks.MaxGeneratorSteps`); leaves ``max_epochs`` unbounded
      unless it is set too;
    - the datamodule's ``data_shape`` and ``num_classes`` are linked
      into the model's arguments of the same names, where the model has them;
    - the resolved config goes to the run's own directory and to W&B (:class:`RunConfigSaver`);
    - every run ends with a :class:`~ganzoo.callbacks.RunReport` (table and ``report.json``),
      unless ``trainer.callbacks`` lists one (``verbose: false`` keeps it silent);
    - a value jsonargparse cannot parse (unknown class_path or option, wrong type, a
      missing or broken ``--config`` file) raises a one-line :class:`ConfigError`
      instead of printing the usage and exiting;
    - a :class:`~ganzoo.callbacks.GANProgressBar` unless ``trainer.enable_progress_bar``
      is false or the config names a progress bar of its own;
    - quiet: Lightning's tips and info lines, upstream deprecations and W&B's closing
      summary are hidden (:mod:`ganzoo.commands.quiet`) unless ``--verbose``; ganzoo says
      where the run is written and, in generator steps, why it stopped.
    """

    def __init__(self, *args, **kwargs):
        # the parsers raise, so that parse_arguments can condense the error; subcommand parsers inherit this
        kwargs["parser_kwargs"] = {"exit_on_error": False, **(kwargs.get("parser_kwargs") or {})}
        kwargs.setdefault("subclass_mode_model", True)
        kwargs.setdefault("subclass_mode_data", True)
        kwargs.setdefault("auto_configure_optimizers", False)
        kwargs.setdefault("save_config_callback", RunConfigSaver)
        self._quiet = ExitStack()  # entered once the arguments are parsed, unless --verbose
        try:
            super().__init__(GANModule, LightningDataModule, *args, **kwargs)
        finally:
            try:
                if kwargs.get("run", True):
                    self._finish_wandb_runs()
            finally:
                self._quiet.close()

    def _finish_wandb_runs(self) -> None:
        """Ends the W&B run of a finished command, so the next command in this process starts its own.

        Lightning leaves the run open after ``fit`` (a later ``test`` may log to it); one
        ``ganzoo`` command is one run.
        """
        trainer = getattr(self, "trainer", None)
        for logger in trainer.loggers if trainer is not None else []:
            if isinstance(logger, WandbLogger) and compat.wandb_run_started(logger) and trainer.is_global_zero:
                logger.experiment.finish()

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        # ganzoo's --verbose (below) takes the place of Trainer.validate's and .test's `verbose`,
        # which hid their results table: that table always shows
        return {
            name: skip | {"verbose"} if name in ("validate", "test") else skip
            for name, skip in LightningCLI.subcommands().items()
        }

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument(
            "--max_g_steps",
            type=Optional[PositiveInt],
            default=None,
            help="Train for this many generator updates (trainer.max_steps counts G and D steps together).",
        )
        parser.add_argument(
            "--verbose",
            type=bool,
            nargs="?",
            const=True,  # --verbose alone, or --verbose true/false as the other switches
            default=False,
            help="Also show what ganzoo hides by default: Lightning's tips and info lines (seed, devices, its stop "
            "line), upstream deprecation warnings and W&B's run summary.",
        )
        parser.link_arguments("data.data_shape", "model.init_args.data_shape", apply_on="instantiate")
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")

    def parse_arguments(self, parser, args) -> None:
        argv = sys.argv[1:] if args is None else args if isinstance(args, (list, tuple)) else []
        self._argv = argv  # what the user wrote, for settings whose default ganzoo changes
        try:
            super().parse_arguments(parser, args)
            if not _parsed_value(self.config, "verbose"):  # before the seed is set, which Lightning announces
                self._quiet.enter_context(quiet_upstream())
        except ArgumentError as err:
            known = compat.option_strings([parser, *compat.subcommand_parsers(self)])
            raise ConfigError(one_line_parse_error(str(err), known, _config_files(argv))) from err
        except UnicodeDecodeError as err:  # jsonargparse reads --config as text and lets this through
            files = " ".join(_config_files(argv)) or "file"
            raise ConfigError(
                f"--config {files} is not a text file ({err.reason} at byte {err.start}); "
                "pass a YAML file, e.g. one written by ganzoo fit --print_config"
            ) from None

    def _parse_ckpt_path(self) -> None:
        # LightningCLI parses --ckpt_path's hyperparameters into the config here (importing the classes
        # they name), before any hook: check the file and every class it names first. The modules
        # the user's own config names (--model mygans.R1DCGAN, say) are the ones vouched for.
        subcommand = self.config.get("subcommand")
        checkpoint = check_checkpoint_file(self.config[subcommand].get("ckpt_path")) if subcommand else None
        self._checkpoint = checkpoint  # read once (memory-mapped): instantiate_trainer checks its shapes
        if checkpoint is not None:
            path = self.config[subcommand].get("ckpt_path")
            trusted = trusted_modules_of_config([self.config[subcommand].get(key) for key in ("model", "data")])
            hint = "name its module in your config (e.g. --model yourmodule.YourGAN)"
            check_module_classes(checkpoint, ClassPolicy(f"--ckpt_path '{path}'", trusted, hint=hint), GANModule)
        super()._parse_ckpt_path()

    def _subcommand_config(self):
        """The parsed config of the running subcommand (``fit``, ...), or the whole config without one."""
        return self.config.get(self.subcommand, self.config) if self.subcommand else self.config

    def before_instantiate_classes(self) -> None:
        config = self._subcommand_config()
        clip, accumulate = config.trainer.get("gradient_clip_val"), config.trainer.get("accumulate_grad_batches")
        if clip:
            raise ConfigError(
                f"trainer.gradient_clip_val={clip} does not apply: GANs train by manual optimization; set "
                f"model.init_args.gradient_clip_norm: {clip} (each network's gradient, clipped after AMP unscales)"
            )
        if accumulate not in (None, 1):
            raise ConfigError(
                f"trainer.accumulate_grad_batches={accumulate} does not apply: GANs train by manual optimization, "
                "one D update per batch; raise data.init_args.batch_size instead"
            )
        if config.get("max_g_steps") and config.trainer.get("max_epochs") is None:
            config.trainer.max_epochs = -1
        check_trainer_settings(config.trainer)
        _no_hp_metric(config.trainer, getattr(self, "_argv", []))
        if self.subcommand == "fit":
            self._continue_resumed_run(config)

    def _continue_resumed_run(self, config) -> None:
        """A fit resumed from a checkpoint in a run's directory continues that run (:mod:`ganzoo.commands.resumed_run`)."""
        continued = continue_run(config.trainer, config.get("ckpt_path"))
        if continued is None:
            return
        if rank_zero_only.rank == 0:
            print(f"ganzoo: continuing the run of {continued}/, where --ckpt_path lies (another id or name starts a new run)")
        if not config.get("verbose"):
            self._quiet.enter_context(quiet_continued_run())

    def instantiate_trainer(self, **kwargs) -> Trainer:
        config = self._subcommand_config()
        self._check_checkpoint_fits_model()
        callbacks = callbacks_with_progress_bar({**self._get(self.config_init, "trainer", default={}), **kwargs})
        kwargs = kwargs if callbacks is None else {**kwargs, "callbacks": callbacks}
        try:
            trainer = super().instantiate_trainer(**kwargs)
        except (MisconfigurationException, ValueError) as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(trainer_error_line(err, {**self._get(self.config_init, "trainer", default={})})) from None
        if config.get("max_g_steps"):
            trainer.callbacks.append(MaxGeneratorSteps(config.max_g_steps))
        add_run_report(trainer)
        if not config.get("verbose"):
            quiet_wandb(trainer.loggers)
        return trainer

    def after_fit(self) -> None:
        # MaxGeneratorSteps says why the run stopped itself; Lightning's line counts optimizer steps
        if not any(isinstance(callback, MaxGeneratorSteps) for callback in self.trainer.callbacks):
            line = stop_line(self.trainer, self.model)
            if line and self.trainer.is_global_zero:
                print(line)

    def _check_checkpoint_fits_model(self) -> None:
        """Fails with one line, before the Trainer starts, when ``--ckpt_path`` holds another model's weights."""
        checkpoint, self._checkpoint = getattr(self, "_checkpoint", None), None  # the file _parse_ckpt_path read
        if isinstance(self.model, GANModule) and checkpoint is not None:
            check_checkpoint_fits(self.model, checkpoint, strict=self.model.strict_loading)


def add_run_report(trainer: Trainer) -> None:
    """Gives every run its end-of-run report (:class:`~ganzoo.callbacks.RunReport`), unless the config lists one."""
    if not any(isinstance(callback, RunReport) for callback in trainer.callbacks):
        trainer.callbacks.append(RunReport())


def check_trainer_settings(trainer) -> None:
    """Trainer settings Lightning accepts at construction but fails on later, or reports in many lines.

    Args:
        trainer: the parsed ``trainer`` section of the config (a jsonargparse Namespace).
    """
    interval = trainer.get("val_check_interval")
    if interval is not None:
        example = "trainer.val_check_interval: 500 (batches) or 0.5 (of an epoch)"
        if isinstance(interval, int) and not isinstance(interval, bool):
            check_number("trainer.val_check_interval", interval, example, low=1)
        else:
            check_number("trainer.val_check_interval", interval, example, low=0, high=1, low_open=True)
    if trainer.get("enable_checkpointing") is False:
        for callback in trainer.get("callbacks") or []:
            class_path = _class_path(callback)
            if _is_model_checkpoint(class_path):
                raise ConfigError(
                    f"trainer.enable_checkpointing=false, but trainer.callbacks has {class_path}, which writes "
                    "checkpoints; set enable_checkpointing true, or remove that callback from the config"
                )
    every = trainer.get("check_val_every_n_epoch")
    if every is not None:
        check_number("trainer.check_val_every_n_epoch", every, "trainer.check_val_every_n_epoch: 1, or null", low=1)
    if trainer.get("default_root_dir"):  # the run writes there: a folder it cannot create fails now, not after setup
        check_output_path("trainer.default_root_dir", trainer.default_root_dir, directory=True)
    loggers = trainer.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        class_path = _class_path(logger)
        if class_path.endswith("TensorBoardLogger"):
            check_tensorboard(f"trainer.logger {class_path}")
        save_dir = logger.get("init_args", {}).get("save_dir") if class_path else None
        if save_dir:
            check_output_path("trainer.logger.init_args.save_dir", save_dir, directory=True)


def _no_hp_metric(trainer, argv: list[str]) -> None:
    """Turns off the placeholder ``hp_metric`` (-1) of Lightning's TensorBoardLogger where the user did not set it.

    The parsed config holds every default, so whether ``default_hp_metric`` was set is read
    from the command line and its ``--config`` files.
    """
    loggers = trainer.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        init_args = logger.get("init_args") if _class_path(logger).endswith("TensorBoardLogger") else None
        if init_args is not None and init_args.get("default_hp_metric") and not _mentions(argv, "default_hp_metric"):
            init_args.default_hp_metric = False


def _mentions(argv: list[str], key: str) -> bool:
    """Whether ``key`` appears in the command line ``argv`` or in one of its ``--config`` files."""
    texts = list(argv)
    for path in _config_files(argv):
        try:
            texts.append(open(path, encoding="utf-8").read())
        except (OSError, ValueError):
            pass  # a config given as a string, or one jsonargparse has already refused
    return any(key in text for text in texts)


def callbacks_with_progress_bar(settings: dict) -> Optional[list]:
    """The trainer's callbacks with a :class:`GANProgressBar` added; ``None`` when it gets none.

    None when ``enable_progress_bar`` is false or a progress bar is already among the
    callbacks. It must be there when the Trainer is built, or Lightning adds its own bar.

    Args:
        settings: the trainer's arguments, with its instantiated ``callbacks``.
    """
    callbacks = settings.get("callbacks") or []
    callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
    if settings.get("enable_progress_bar") is False or any(isinstance(c, ProgressBar) for c in callbacks):
        return None
    return [GANProgressBar(), *callbacks]  # first: its last line comes before the reports of the others


def run_contents(trainer: Trainer) -> str:
    """What a run's directory will hold, for the line that names it."""
    contents = ["config.yaml"]
    if trainer.checkpoint_callbacks and trainer.state.fn == "fit":
        contents.append("checkpoints/")
    return ", ".join([*contents, "pictures and reports"])


def _parsed_value(config, key: str):
    """``key`` of the parsed config, inside the subcommand's part when there is one (``fit``, ...)."""
    subcommand = config.get("subcommand")
    return (config.get(subcommand) if subcommand else config).get(key)


def _class_path(config) -> str:
    """The class_path of a class given in the config (a Namespace), or "" for a plain value such as ``false``."""
    return str(config.get("class_path", "")) if hasattr(config, "get") else ""


def _is_model_checkpoint(class_path: str) -> bool:
    """Whether ``class_path`` (already imported by the parser) names a ModelCheckpoint."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    module, _, name = class_path.rpartition(".")
    found = getattr(sys.modules.get(module), name, None)
    return isinstance(found, type) and issubclass(found, ModelCheckpoint)


def trainer_error_line(err: Exception, settings: dict) -> str:
    """One line for an error Lightning's Trainer raised at construction, naming the trainer option it is about.

    Lightning names the option in some messages (```max_epochs` must be ...``) and only its
    value in others (``No supported gpu backend found!`` for ``accelerator: gpu``).
    """
    reason = " ".join(str(err).split())
    named = [key for key in settings if re.search(rf"\b{re.escape(key)}\b", reason)]
    named += [
        key for key, value in settings.items()
        if key not in named and isinstance(value, str) and len(value) > 2 and value.lower() in reason.lower()
    ]  # fmt: skip
    plain = (str, int, float, bool, type(None))  # a callback list would print as object addresses
    options = ", ".join(
        f"trainer.{key}={settings[key]!r}" if isinstance(settings[key], plain) else f"trainer.{key}" for key in named
    ) or "the trainer settings"
    return f"Lightning refuses {options}: {reason}; change {'it' if len(named) == 1 else 'them'} (see ganzoo fit --help)"


def _config_files(argv: list[str]) -> list[str]:
    """The paths given to ``--config`` / ``-c`` in ``argv``, in order."""
    paths = []
    for flag, value in zip(argv, [*argv[1:], None]):
        if flag in ("-c", "--config") and value is not None:
            paths.append(value)
        elif flag.startswith("--config="):
            paths.append(flag.split("=", 1)[1])
    return paths
