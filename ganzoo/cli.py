"""The ``ganzoo`` command: LightningCLI's fit/validate/test/predict (:mod:`ganzoo.commands.fit`) and
ganzoo's own commands (:mod:`ganzoo.commands`), with one-line errors and ganzoo's exit codes.

    ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml
    ganzoo fit --config zoo_configs/vanilla_ring8.yaml --max_g_steps 500
    ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml --print_config
    ganzoo generate runs/ganzoo/<run id>/checkpoints/last.ckpt --num_samples 64 --seed 0 --output samples.png
    ganzoo animate runs/ganzoo/<run id> --fps 5
"""
from __future__ import annotations

import errno
import os
import signal
import sys
from typing import Optional

from ganzoo.errors import ConfigError, NonFiniteLossError

#: names that lived here, still importable from ganzoo.cli; imported on first use, so that
#: ``ganzoo --help`` and ganzoo's own commands do not import Lightning before they need it.
_MOVED = {
    "check_checkpoint_file": "ganzoo.checkpoint_loading",
    "GANZooCLI": "ganzoo.commands.fit",
    "RunConfigSaver": "ganzoo.commands.fit",
    "check_trainer_settings": "ganzoo.commands.fit",
    "trainer_error_line": "ganzoo.commands.fit",
}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _config_error(err: BaseException) -> Optional[ConfigError]:
    """The ConfigError behind ``err``: jsonargparse wraps errors raised while it instantiates classes."""
    return _cause(err, lambda cause: isinstance(cause, (ConfigError, NonFiniteLossError)))


def _disk_full(err: BaseException) -> Optional[OSError]:
    """The "no space left on device" error behind ``err``, if that is what stopped the command."""
    return _cause(err, lambda cause: isinstance(cause, OSError) and cause.errno == errno.ENOSPC)


def _cause(err: BaseException, match) -> Optional[BaseException]:
    """The first exception in ``err``'s chain of causes for which ``match`` holds."""
    seen = set()
    while err is not None and id(err) not in seen:
        if match(err):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


#: the exit code of a run stopped by SIGTERM, after its checkpoint is saved: 128 + 15, as a shell
#: reports a process killed by SIGTERM, so a scheduler (SLURM's RequeueExit, a wrapper script)
#: tells a preempted run from a finished one (0), a crash (1) and a bad configuration (2).
SIGTERM_EXIT_CODE = 128 + int(signal.SIGTERM)


def _one_line(err: ConfigError) -> str:
    """The message of ``err`` on one line.

    A DataLoader worker's ConfigError reaches the main process re-raised with the worker's
    traceback in its message (``Caught ConfigError in DataLoader worker process 0 ...``):
    its last line is the message.
    """
    text = str(err).strip()
    if "Original Traceback" in text:
        text = text.splitlines()[-1].split("ConfigError: ", 1)[-1]
    return " ".join(text.split())


#: ganzoo's own subcommands, beside LightningCLI's fit/validate/test/predict.
COMMANDS = {
    "generate": ("ganzoo.commands.generate", "Write samples of a trained checkpoint"),
    "evaluate": ("ganzoo.commands.evaluate", "FID, KID, IS or domain metrics of a checkpoint"),
    "train-classifier": ("ganzoo.commands.train_classifier", "Train the domain classifier behind fd_classifier & co."),
    "animate": ("ganzoo.commands.animate", "Assemble a run's sample grids or figures into a GIF or MP4"),
}


def main(args: Optional[list[str]] = None) -> None:
    """Entry point of ``ganzoo`` and ``python -m ganzoo``; bad configuration exits 2 with one line."""
    argv = sys.argv[1:] if args is None else list(args)
    # `python -m ganzoo` puts the working directory first on sys.path, the `ganzoo` console script
    # its own bin folder: both must find ./mygans.py for `--model mygans.R1DCGAN` or `--import mygans`.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if argv in (["-h"], ["--help"]):
            _print_top_level_help()
        elif argv and argv[0] in COMMANDS:
            import importlib

            importlib.import_module(COMMANDS[argv[0]][0]).main(argv[1:])
        else:
            import ganzoo
            from ganzoo.commands.fit import GANZooCLI

            ganzoo.import_public_api()  # every ganzoo class, for the CLI's short class names
            GANZooCLI(args=args)
    except SystemExit as exit:
        if _is_sigterm(exit):  # Lightning's, a SystemExit with code 0, raised once last.ckpt is saved
            raise SystemExit(SIGTERM_EXIT_CODE) from None
        if argv in (["-h"], ["--help"]):
            print("\nganzoo's own commands (ganzoo COMMAND --help):")
            for name, (_, summary) in COMMANDS.items():
                print(f"  {name:<18}  {summary}")
        raise
    except Exception as err:
        config_error = _config_error(err)
        if config_error is None:
            _exit_if_disk_full(err)
            raise
        print(f"ganzoo: error: {_one_line(config_error)}", file=sys.stderr)
        raise SystemExit(2) from None


def _print_top_level_help() -> None:
    """LightningCLI's top-level help, without building the CLI (:mod:`ganzoo.commands.top_help`); exits 0."""
    from ganzoo.commands.top_help import TOP_LEVEL_HELP

    print(TOP_LEVEL_HELP.format(prog=os.path.basename(sys.argv[0])), end="")
    raise SystemExit(0)


def _is_sigterm(exit: SystemExit) -> bool:
    """Whether ``exit`` is Lightning's SIGTERMException (only once Lightning is imported can it be one)."""
    exceptions = sys.modules.get("lightning.pytorch.utilities.exceptions")
    return exceptions is not None and isinstance(exit, exceptions.SIGTERMException)


def _exit_if_disk_full(err: BaseException) -> None:
    """Ends the command with one line and exit code 1 when ``err`` is a full disk."""
    disk_full = _disk_full(err)
    if disk_full is None:
        return
    print(
        f"ganzoo: error: no space left on device while writing {disk_full.filename or 'a file'}; the checkpoints "
        "written before are intact (a checkpoint is written whole or not at all); free space or point "
        "--trainer.default_root_dir (or the logger's save_dir) elsewhere, then resume with --ckpt_path",
        file=sys.stderr,
    )
    raise SystemExit(1) from None


if __name__ == "__main__":
    main()
