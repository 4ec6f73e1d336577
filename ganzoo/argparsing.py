"""What ganzoo's own commands (generate, evaluate, train-classifier) share on their command line.

- :class:`CommandParser`: argparse whose errors are one :class:`~ganzoo.errors.ConfigError`
  line (``ganzoo: error: ...``, exit code 2) instead of a usage block;
- :func:`positive_int`, :func:`positive_float`: argument types that name the bound;
- :func:`respell`, :func:`dashed`: an option's old spelling (``--data-dir``) keeps working, with one
  deprecation line on stderr; ganzoo spells options with underscores, as LightningCLI does (``--data_dir``);
- :func:`check_output_path`: a command checks that it can write its output before the work.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Mapping, Optional, Sequence

from ganzoo.errors import ConfigError


class CommandParser(argparse.ArgumentParser):
    """argparse with ganzoo's one-line errors: a bad argument raises :class:`ConfigError`.

    ``ganzoo.cli.main`` prints it as ``ganzoo: error: <message>`` and exits 2, like a bad
    value of ``ganzoo fit``; ``--help`` still prints the usage.

    Args:
        old_spellings: deprecated option spellings and their current ones (see :func:`dashed`);
            each still works, with one line on stderr.
    """

    def __init__(self, *args, old_spellings: Optional[Mapping[str, str]] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.old_spellings = dict(old_spellings or {})

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(respell(args, self.old_spellings), namespace)

    def error(self, message: str):
        # argparse writes "argument --num_samples: must be ..."; the option leads the line, as in ganzoo fit's
        if match := re.fullmatch(r"argument (\S+?)(?:/\S+)?: (.*)", message, flags=re.S):
            message = f"{match[1]} {match[2]}" if match[2].startswith("must be") else f"{match[1]}: {match[2]}"
        raise ConfigError(f"{self.prog}: {message}; see {self.prog} --help")


def dashed(*options: str) -> dict[str, str]:
    """The old dashed spellings of ``options`` (``--data_dir``): ``{"--data-dir": "--data_dir", ...}``."""
    return {"--" + option[2:].replace("_", "-"): option for option in options}


def respell(argv: Sequence[str], old_spellings: Mapping[str, str]) -> list[str]:
    """``argv`` with each old spelling of an option (``--data-dir`` or ``--data-dir=x``) replaced by its current one.

    Each old spelling used prints one line on stderr: ``ganzoo: --data-dir is deprecated; use --data_dir``.
    Arguments after ``--`` are values, left as they are.
    """
    out, used = [], []
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + list(argv[i:])
        name, eq, value = arg.partition("=")
        if name in old_spellings:
            if name not in used:
                used.append(name)
                print(f"ganzoo: {name} is deprecated; use {old_spellings[name]}", file=sys.stderr)
            arg = old_spellings[name] + eq + value
        out.append(arg)
    return out


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1; the error names the value (argparse adds the option)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (``nan`` and ``inf`` parse as floats; they are refused here)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def check_output_path(option: str, path: str | os.PathLike, directory: bool = False) -> Path:
    """Fails with one line, before any work, when the command could not write ``path``.

    Nothing is created: a scratch file is written and removed in the nearest folder that
    exists on the way to ``path`` (the writer creates the missing folders below it). The
    probe, unlike ``os.access``, also tells a read-only filesystem, and tells it to root.

    Args:
        option: the option that named the path, e.g. ``--output``.
        path: the file (or folder) to be written.
        directory: ``path`` is a folder the command fills.

    Returns:
        ``path`` as a :class:`Path`.
    """
    path = Path(path).expanduser()
    if not directory and path.is_dir():
        raise ConfigError(f"{option} '{path}' is a folder; name a file inside it, e.g. {option} {path / 'out'}{path.suffix}")
    folder = path if directory else path.parent
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise ConfigError(
            f"{option} '{path}' cannot be written: '{existing}' is a file, not a folder; choose another path, nothing was computed"
        )
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".ganzoo-write-test-"):
            pass
    except OSError as err:
        raise ConfigError(
            f"{option} '{path}' cannot be written ({err.strerror or type(err).__name__} in '{existing}'); "
            "choose a folder you can write to, nothing was computed"
        ) from None
    return path
