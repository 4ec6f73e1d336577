"""jsonargparse's parse errors as one line that names the option, the bad value and the fix.

jsonargparse reports a value it cannot parse as an indented tree: the top-level key
(``Parser key "model":``), the union it tried (``Does not validate against any of the
Union subtypes``) with one error per alternative, and, for a class given by
``class_path``, the error inside that class's ``init_args``. :func:`one_line_parse_error`
walks that tree down to the one error that matters and writes it the way ganzoo's own
:class:`~ganzoo.errors.ConfigError` messages read:

    model.init_args.latent_dim must be int, got 'abc'
    unknown option model.init_args.latnt_dim=4 of ganzoo.VanillaGAN; did you mean model.init_args.latent_dim?
"""
from __future__ import annotations

import difflib
import importlib
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import yaml

from ganzoo.modules.gan import GANModule

_PARSER_KEY = re.compile(r'Parser key "(?P<key>[^"]+)":[ \n]?(?P<rest>.*)', re.S)
_UNION = re.compile(
    r"Does not validate against any of the Union subtypes\nSubtypes: (?P<subtypes>.*?)\nErrors:\n(?P<errors>.*)"
    r"\nGiven value type: .*?\nGiven value: (?P<value>.*)",
    re.S,
)
_CLASS_PATH = re.compile(r"Problem with given class_path '(?P<class_path>[^']*)':\n(?P<rest>.*)", re.S)
_CALLABLE = re.compile(r"Type (?P<type>.*?) expects a function or a callable class: (?P<rest>.*)\. Got value: (?P<value>.*)", re.S)
_EXPECTED = re.compile(r"Expected a (?P<type>.+?)(?:\. Got value: (?P<value>.*))?", re.S)
_UNKNOWN_OPTION = re.compile(r"(?:Option|Subcommand '\w+' does not accept option) '(?P<key>[^']+)'")
_UNRECOGNIZED = re.compile(r"unrecognized arguments: --(?P<key>[^\s=]+)(?:=(?P<value>\S*))?")
_NESTED_ARG = re.compile(r"NestedArg\(key='(?P<key>[^']*)', val='(?P<value>.*)'\)", re.S)
# the first line of an error that says the class itself cannot be used, not one of its arguments
_CLASS_LOAD = re.compile(r"has no attribute|No module named|does not correspond to a subclass|Expected a dot import path")


@dataclass
class ParseProblem:
    """The one error a jsonargparse message is about.

    Attributes:
        key: the option's dotted path, e.g. ``("model", "init_args", "latent_dim")``.
        kind: ``"type"`` (a value of the wrong type), ``"class"`` (a class_path that cannot
            be used), ``"key"`` (an option that does not exist), ``"config"`` (the
            ``--config`` file) or ``"other"``.
        value: the bad value as given, where the message names it.
        expected: the accepted type as jsonargparse writes it, e.g. ``[<class 'int'>, <class 'NoneType'>]``.
        reason: jsonargparse's own words for the error, where they add something.
        owner: the class_path whose ``init_args`` hold ``key``.
    """

    key: tuple[str, ...]
    kind: str
    value: Optional[str] = None
    expected: Optional[str] = None
    reason: Optional[str] = None
    owner: Optional[str] = None


def one_line_parse_error(message: str, known_keys: Iterable[str] = (), config_files: Iterable[str] = ()) -> str:
    """One line for a jsonargparse error message: the option, the bad value and the fix.

    Args:
        message: ``str()`` of the ``ArgumentError`` jsonargparse raised, possibly many lines.
        known_keys: the parser's dotted option names (``trainer.max_epochs``, ...), to
            suggest the closest one for an unknown option.
        config_files: the ``--config`` paths given, to name them when one cannot be read.

    Returns:
        A message without line breaks, e.g. ``max_g_steps must be PositiveInt or null, got '-3' (...)``.
    """
    problem = _diagnose(message)
    if problem.kind == "type":
        line = f"{'.'.join(problem.key)} must be {_type_names(problem.expected)}"
        line += f", got {problem.value!r}" if problem.value is not None else ""
        line += f" ({problem.reason})" if problem.reason else ""
    elif problem.kind == "class":
        line = _unknown_class_line(problem)
    elif problem.kind == "key":
        line = _unknown_key_line(problem, known_keys)
    elif problem.kind == "config":
        line = _config_line(problem, list(config_files))
    else:
        line = f"{'.'.join(problem.key)}: {problem.reason}" if problem.key else problem.reason
    return " ".join(line.split())


def _diagnose(text: str, key: tuple[str, ...] = (), owner: Optional[str] = None) -> ParseProblem:
    """Follows one branch of jsonargparse's error tree, collecting the option's path on the way."""
    text = textwrap.dedent(text).strip()
    if match := _PARSER_KEY.fullmatch(text):
        return _diagnose(match["rest"], key + tuple(match["key"].split(".")), owner)
    if match := _UNION.fullmatch(text):
        return _diagnose_union(match, key, owner)
    if match := _CLASS_PATH.fullmatch(text):
        return _diagnose_class(match["rest"], key, match["class_path"], expected=None)
    if match := _CALLABLE.fullmatch(text):  # an optimizer or scheduler given as a class_path
        class_path = re.search(r"class_path='([^']*)'", match["value"])
        return _diagnose_class(match["rest"], key, class_path[1] if class_path else None, expected=match["type"])
    if text.startswith("- "):  # a bare list of alternatives' errors
        return _diagnose(_most_telling(_error_items(text)), key, owner)
    return _diagnose_leaf(text, key, owner)


def _diagnose_union(match: re.Match, key: tuple[str, ...], owner: Optional[str]) -> ParseProblem:
    """A value no alternative of a union type accepted: descend into the alternative that says why."""
    telling = _most_telling(_error_items(match["errors"]))
    nested = _NESTED_ARG.fullmatch(match["value"])  # --model.init_args.x=v arrives as NestedArg(key='x', val='v')
    if telling.startswith("Expected a ") and not (nested and nested["key"] == "class_path"):
        problem = ParseProblem(key, "type")  # every alternative only names its type
    else:
        problem = _diagnose(telling, key, owner)
    if problem.value is None and (nested or problem.key == key):  # a whole dict from a YAML file is no value to quote
        problem.value = nested["value"] if nested else match["value"]
    if problem.expected is None or (problem.kind == "type" and problem.key == key):
        problem.expected = match["subtypes"]  # the union is everything this key accepts
    return problem


def _diagnose_class(inner: str, key: tuple[str, ...], class_path: Optional[str], expected: Optional[str]) -> ParseProblem:
    """An error under a class_path: the class itself cannot be used, or one of its init_args is bad."""
    first_line = inner.strip().splitlines()[0] if inner.strip() else ""
    if _CLASS_LOAD.search(first_line):
        return ParseProblem(key + ("class_path",), "class", value=class_path, expected=expected, reason=first_line)
    return _diagnose(inner, key + ("init_args",), owner=class_path)


def _diagnose_leaf(text: str, key: tuple[str, ...], owner: Optional[str]) -> ParseProblem:
    """The innermost error: an unknown option or class, a value of the wrong type, or the config file."""
    first_line = text.splitlines()[0].strip() if text else ""
    if match := _UNKNOWN_OPTION.match(text):
        return ParseProblem(key + tuple(match["key"].split(".")), "key", owner=owner)
    if _CLASS_LOAD.search(first_line):  # a class_path given where a class is expected
        return ParseProblem(key + ("class_path",), "class", reason=first_line)
    if match := _UNRECOGNIZED.match(text):
        return ParseProblem(tuple(match["key"].split(".")), "key", value=match["value"])
    if match := _EXPECTED.fullmatch(text):
        return ParseProblem(key, "type", value=match["value"], expected=f"[{match['type']}]")
    if text.startswith("Not of type "):  # a restricted type such as PositiveInt: its restriction is the news
        return ParseProblem(key, "type", reason=text[0].lower() + text[1:])
    if key == ("config",) or text.startswith(("Problems parsing config", "Unexpected config")):
        return ParseProblem(("config",), "config", reason=text)
    return ParseProblem(key, "other", reason=text)


def _error_items(block: str) -> list[str]:
    """The ``- ...`` items of an error list, each with its own indented lines."""
    items: list[list[str]] = []
    for line in textwrap.dedent(block).strip().splitlines():
        if line.startswith("- "):
            items.append([line[2:]])
        elif items:
            items[-1].append(line)
    return [item[0] + "\n" + textwrap.dedent("\n".join(item[1:])) for item in items]


def _most_telling(items: list[str]) -> str:
    """The first error that says more than ``Expected a <type>`` (which every other alternative says)."""
    return next((item for item in items if not item.startswith("Expected a ")), items[0] if items else "")


def _type_names(expected: Optional[str]) -> str:
    """``[<class 'int'>, <class 'NoneType'>]`` as ``int or null``; module paths dropped."""
    names = re.sub(r"<class '([\w.]+)'>", r"\1", expected or "")
    names = re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", names).replace("NoneType", "null")
    if names.startswith("[") and names.endswith("]"):
        names = " or ".join(_split_top_level(names[1:-1]))
    return names or "a value of another type"


def _split_top_level(text: str) -> list[str]:
    """``a, B[c, d]`` as ``["a", "B[c, d]"]``: commas inside brackets stay."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return parts + [text[start:].strip()]


def _unknown_class_line(problem: ParseProblem) -> str:
    """A class_path that cannot be used: the closest importable name and the classes that fit."""
    base = _base_class(problem.expected)
    choices = _class_choices(base, problem.value or "") if base else []
    by_name = {choice.rpartition(".")[2]: choice for choice in choices}
    close = difflib.get_close_matches((problem.value or "").rpartition(".")[2], by_name, n=1)
    hints = [f"did you mean {by_name[close[0]]!r}?"] if close else []
    if base:
        hints.append(f"{'.'.join(problem.key[:-1])} takes a subclass of {base.__name__}")
        hints[-1] += f": {', '.join(choices)}" if choices else ""
    line = f"{'.'.join(problem.key)} {problem.value!r} is not accepted ({problem.reason})"
    return f"{line}; {' '.join(hints)}" if hints else line


def _base_class(expected: Optional[str]) -> Optional[type]:
    """The class a class_path must subclass, read from jsonargparse's type, e.g. ``Callable[..., Optimizer]``."""
    returned = re.sub(r"Callable\[\[.*?\], ", "Callable[", expected or "")  # a callable's class is what it returns
    for name in re.findall(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", returned):
        module = name.rpartition(".")[0]
        if module.split(".")[0] in ("typing", "collections", "builtins"):
            continue  # containers around the class, not the class
        found = getattr(_import_module(module), name.rpartition(".")[2], None)
        if isinstance(found, type):
            return found
    return None


def _class_choices(base: type, class_path: str) -> list[str]:
    """Import paths that fit ``base``: the zoo's registry for models, else classes of the module named."""
    if issubclass(base, GANModule):
        from ganzoo.registry import ZOO  # the zoo's one table of variants; each is exported as ganzoo.<Class>

        return sorted(f"ganzoo.{entry.cls.__name__}" for entry in ZOO.values())
    module = _import_module(class_path.rpartition(".")[0]) or _import_module("ganzoo")
    return sorted(
        f"{module.__name__}.{name}"
        for name, obj in vars(module).items()
        if not name.startswith("_") and isinstance(obj, type) and issubclass(obj, base) and obj is not base
    )


def _import_module(name: str):
    """The module ``name``, or None where it does not import (the user's typo, often)."""
    try:
        return importlib.import_module(name) if name else None
    except Exception:  # a module that fails to import for any reason offers no names
        return None


def _unknown_key_line(problem: ParseProblem, known_keys: Iterable[str]) -> str:
    """An option that does not exist: the closest that does, among the class's init_args or the parser's keys."""
    option = ".".join(problem.key)
    given = option if problem.value is None else f"{option}={problem.value}"
    if problem.owner:
        prefix = ".".join(problem.key[:-1])
        known = [f"{prefix}.{name}" for name in _init_args(problem.owner)]
        line = f"unknown option {given} of {problem.owner}"
    else:
        known, line = list(known_keys), f"unknown option {given}"
    close = _closest_key(option, known)
    if close:
        return f"{line}; did you mean {close}?"
    if problem.owner and known:
        return f"{line}; choose one of: {', '.join(sorted(known))}"
    return f"{line}; see the options with --help"


def _init_args(class_path: str) -> list[str]:
    """The init_args jsonargparse accepts for ``class_path`` (its own resolver, so ``**kwargs`` are followed)."""
    from jsonargparse import ArgumentParser

    module, _, name = class_path.rpartition(".")
    cls = getattr(_import_module(module), name, None)
    try:
        return ArgumentParser(exit_on_error=False).add_class_arguments(cls, fail_untyped=False)
    except (TypeError, ValueError):  # not a class, or a signature jsonargparse cannot read: no suggestion
        return []


def _closest_key(key: str, known: list[str]) -> Optional[str]:
    """``key`` with its first unknown dotted part replaced by the closest known one at that depth.

    ``trainr.max_epochs`` becomes ``trainer.max_epochs`` and ``trainer.max_epoks`` becomes
    ``trainer.max_epochs``; None where nothing is close.
    """
    parts = key.split(".")
    for depth in range(1, len(parts) + 1):
        prefixes = {".".join(k.split(".")[:depth]) for k in known}
        prefix = ".".join(parts[:depth])
        if prefix in prefixes:
            continue
        close = difflib.get_close_matches(prefix, prefixes, n=1)
        return ".".join([close[0], *parts[depth:]]) if close else None
    return None


def _config_line(problem: ParseProblem, config_files: list[str]) -> str:
    """The ``--config`` file is missing, is not YAML, or holds no mapping of options."""
    reason = problem.reason or ""
    broken = [path for path in config_files if not _is_yaml(path)] or config_files  # jsonargparse does not say which
    files = " ".join(broken) if broken else "file"
    if reason.startswith("Problems parsing config: "):
        # YAML's "in <string>, line L, column C" marks, each after the words it locates
        where = re.sub(r'\s*in "[^"]*", (line \d+, column \d+)', r" (\1)", reason.removeprefix("Problems parsing config: "))
        return f"--config {files} is not valid YAML: {'; '.join(where.splitlines())}; fix the file at that line"
    if problem.key == ("config",) and not reason.startswith("Unexpected config"):
        return f"--config: {reason}; pass the path of an existing YAML file (ganzoo fit --print_config writes one)"
    empty = [path for path in config_files if _is_empty(path)]
    if empty:
        return f"--config {' '.join(empty)} is empty; write the options in it as ganzoo fit --print_config does"
    return f"--config {files} is not a mapping of options ({reason}); write it as ganzoo fit --print_config does"


def _is_empty(path: str) -> bool:
    """True where ``path`` is a file that holds no YAML document (nothing, or only comments)."""
    try:
        return yaml.safe_load(Path(path).read_text()) is None
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return False


def _is_yaml(path: str) -> bool:
    """False where ``path`` is a file that YAML cannot parse; True otherwise (no file is not this problem)."""
    try:
        yaml.safe_load(Path(path).read_text())
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    except OSError:
        return True
    return True
