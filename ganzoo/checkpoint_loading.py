"""Loading a checkpoint runs nothing the user did not name.

People download GAN checkpoints from strangers. A checkpoint that loads cleanly with
``torch.load(weights_only=True)`` can still *name* classes (``ganzoo_class``,
``ganzoo_datamodule``, the ``class_path`` of G, D, the optimizers, ...) that a loader would
import and call with the checkpoint's arguments. Every ganzoo loading path
(:meth:`GANModule.load_from_checkpoint <ganzoo.GANModule.load_from_checkpoint>`,
``ganzoo generate``, ``ganzoo evaluate`` (the module and the datamodule it rebuilds),
``ganzoo fit/validate/test/predict --ckpt_path`` (the classes, then the shapes against the
configured model, both before the Trainer starts) goes through this module, which applies
one policy:

1. The file is read with ``torch.load(weights_only=True, mmap=True, map_location="cpu")``:
   tensors and plain containers only. A missing, empty, truncated or garbage file, or one
   that carries pickled objects, fails with one line (never advising ``weights_only=False``).
2. Before anything is imported or called, every class the checkpoint names is checked:
   ``ganzoo_class``, ``ganzoo_datamodule``, and each ``class_path`` / ``_class_path`` at any
   depth of ``hyper_parameters`` and ``datamodule_hyper_parameters``, plus a dotted string
   given to an argument that takes a class or a callable (which jsonargparse would import).
   Each must

   - resolve **without importing**: its module is already in ``sys.modules``;
   - subclass the base its key expects: GANModule for the module, LightningDataModule for
     the datamodule, and for an argument the base its owner's type hint names (``nn.Module``
     for G and D, ``torch.optim.Optimizer`` for ``*_optimizer``, ``LRScheduler`` or
     ``ReduceLROnPlateau`` for ``*_scheduler``; by the key's name where there is no hint);
   - come from a trusted origin (the module that defines it): ganzoo, ``torch.nn``,
     ``torch.optim``, or a module the user vouched for: ``--import MODULE`` on the command
     line, the modules the ``--model``/``--data`` of ``fit --ckpt_path`` name, or
     ``trusted_modules`` in Python. From Python, ``trusted_modules=None`` (the default) also
     trusts the user's own code: ``__main__`` and any imported module whose file lies
     outside the Python installation (not in the standard library or a site-packages
     folder; an editable install counts as your own code). A *function* (an optimizer
     factory, say) must come from such a module of the user's, never from ganzoo or torch.
3. ``_instantiator`` must be Lightning's own (``lightning.pytorch.cli.instantiate_module``).

Anything else (``subprocess.Popen``, ``os.system``, builtins, torch-fidelity's InceptionV3
extractor, a module not yet imported) is refused with one :class:`~ganzoo.errors.ConfigError`
line naming the key and the class. The file is read twice (here, then by Lightning's
loader); swapping it between the two reads is outside this policy. ``ganzoo generate`` checks
the file with the command's policy (a refusal says ``--import``) before
:meth:`GANModule.load_from_checkpoint` checks it again with the same trusted modules.

What else ganzoo reads with ``torch.load``, and why not through here: files that name no
class and are no Lightning checkpoint, each read with ``weights_only=True`` where it is
defined, into a fixed architecture: a domain classifier written by ``ganzoo train-classifier``
(:meth:`ganzoo.metrics.domain.DomainClassifier.load`, tagged by its format),
InceptionV3 weights (:mod:`ganzoo.metrics.inception`, checked before torch-fidelity
unpickles them), and the cache of real statistics (:mod:`ganzoo.metrics.real_stats`,
recomputed when unreadable). ``ganzoo train-classifier`` reads no checkpoint.
"""
from __future__ import annotations

import enum
import importlib
import inspect
import pickle
import re
import site
import sys
import sysconfig
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Optional, Union

import torch
from lightning.pytorch import LightningDataModule
from torch import nn

from ganzoo.errors import ConfigError

#: modules whose classes every checkpoint may name (and their submodules).
TRUSTED_ORIGINS = ("ganzoo", "torch.nn", "torch.optim")
#: the instantiators Lightning itself writes into hyper_parameters and allows on loading.
LIGHTNING_INSTANTIATORS = ("lightning.pytorch.cli.instantiate_module", "pytorch_lightning.cli.instantiate_module")
#: Lightning's names for a checkpoint of the run (``--ckpt_path last``), resolved by the Trainer.
LIGHTNING_CKPT_NAMES = ("last", "best", "hpc", "registry")

_SCHEDULERS = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
#: what a class_path may build when nothing tells its base: the kinds of object ganzoo builds.
_ANY_KNOWN_BASE = (nn.Module, torch.optim.Optimizer, *_SCHEDULERS, LightningDataModule)
#: hints whose values are plain data: a string there is never imported.
_PLAIN = (str, bytes, int, float, bool, complex, type(None), PathLike, enum.Enum)
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
_NO_HINT = object()


# ------------------------------------------------------------------ reading files
def read_checkpoint(path, label: Optional[str] = None) -> dict:
    """The checkpoint dict at ``path``, read safely (tensors memory-mapped, never unpickled objects).

    Args:
        path: a ``.ckpt`` file.
        label: how messages name the file; default ``checkpoint '<path>'``.

    Raises:
        ConfigError: one line when the file is missing, empty, truncated, not a checkpoint,
            or carries pickled objects.
    """
    label = label or f"checkpoint '{path}'"
    if not hasattr(path, "read"):  # a file object is read where it stands, then rewound for Lightning's loader
        _check_local_file(path, label)
    try:
        checkpoint = _torch_load(path)
    except Exception as err:
        # torch's own message advises weights_only=False, i.e. running the file's code: never repeat it
        reason = f"{type(err).__name__}: {err}".splitlines()[0].split(". ")[0]
        if isinstance(err, pickle.UnpicklingError):
            found = re.search(r"GLOBAL ([\w.]+)", str(err))
            if found:
                raise ConfigError(
                    f"{label} carries pickled Python objects (it names {found[1]}), which ganzoo never "
                    "loads (only tensors and plain data); use a checkpoint written by ganzoo fit"
                ) from None
            found = re.search(r"Unsupported operand \w+", str(err))
            reason = found[0] if found else type(err).__name__
        raise ConfigError(
            f"{label} is not a readable checkpoint ({reason}); the file is truncated or corrupt: "
            "use another one, e.g. the run's previous checkpoint"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ConfigError(f"{label} holds no Lightning checkpoint (no state_dict); pass a .ckpt written by ganzoo fit")
    return checkpoint


def _check_local_file(path, label: str) -> None:
    if "://" in str(path):
        raise ConfigError(f"{label} is not a local file; download it first (ganzoo checks a checkpoint before loading it)")
    if not Path(path).is_file():
        raise ConfigError(f"{label} not found; pass the path of a .ckpt file (e.g. <run dir>/checkpoints/last.ckpt)")
    if Path(path).stat().st_size == 0:
        raise ConfigError(f"{label} is empty (0 bytes): the write was cut off; use another checkpoint, e.g. the run's previous one")


def _torch_load(path) -> Any:
    with warnings.catch_warnings():  # a pickle's protocol is no news: the file is refused anyway
        warnings.filterwarnings("ignore", message=".*pickle protocol")
        if hasattr(path, "read"):
            start = path.tell()
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            finally:
                path.seek(start)
        try:
            return torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        except RuntimeError as err:
            if "mmap can only be used" not in str(err):
                raise
        return torch.load(path, map_location="cpu", weights_only=True)  # the legacy (non-zip) format cannot be mapped


def check_checkpoint_file(path: Optional[str]) -> Optional[dict]:
    """``--ckpt_path``'s checkpoint, read safely; ``None`` for none or one of Lightning's names (``last``, ...)."""
    if path is None or str(path) in LIGHTNING_CKPT_NAMES or str(path).startswith("registry:"):
        return None
    return read_checkpoint(path, f"--ckpt_path '{path}'")


def import_modules(names: Iterable[str]) -> tuple[str, ...]:
    """Imports the modules the user named with ``--import``; one line naming one that fails."""
    names = tuple(names or ())
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as err:
            reason = f"{type(err).__name__}: {err}".splitlines()[0]
            raise ConfigError(
                f"--import {name} failed ({reason}); name a module importable from the working directory "
                "or the Python path, e.g. --import mygans for ./mygans.py"
            ) from None
    return names


# ------------------------------------------------------------------ the policy
@dataclass(frozen=True)
class ClassPolicy:
    """Which classes a checkpoint may name; see the module docstring.

    Attributes:
        checkpoint: how messages name the file.
        trusted_modules: modules vouched for (with their submodules), beside :data:`TRUSTED_ORIGINS`.
        user_code: also trust ``__main__`` and modules whose files lie outside the Python installation.
        hint: the fix a refusal suggests, e.g. ``pass --import yourmodule``.
    """

    checkpoint: str
    trusted_modules: tuple[str, ...] = ()
    user_code: bool = False
    hint: str = "pass --import yourmodule"

    @classmethod
    def for_python(cls, path, trusted_modules: Optional[Iterable[str]] = None) -> "ClassPolicy":
        """The policy of the Python API: ``trusted_modules``, or the user's own code when ``None``."""
        if trusted_modules is None:
            return cls(f"checkpoint '{path}'", user_code=True, hint="import it or pass trusted_modules=['yourmodule']")
        return cls(f"checkpoint '{path}'", tuple(trusted_modules), hint="pass trusted_modules=['yourmodule']")

    def refuse(self, key: str, value: Any, reason: str, fix: Optional[str] = None) -> ConfigError:
        fix = fix or f"if you trust the file and the class is yours, {self.hint}"
        return ConfigError(f"{self.checkpoint} names {key} = {value!r}, which {reason}; {fix}")

    def resolve(self, key: str, path: Any, base: tuple[type, ...], functions: bool = False) -> Any:
        """The already imported class (or, with ``functions``, function) ``path`` names, or a one-line refusal."""
        if not isinstance(path, str) or not _DOTTED.fullmatch(path):
            raise self.refuse(key, path, "is not a full dotted class path (module.Class)")
        module_name, _, name = path.rpartition(".")
        module = sys.modules.get(module_name)
        if module is None:
            fix = f"if you trust the file and the class is yours, {self.hint.replace('yourmodule', module_name.split('.')[0])}"
            raise self.refuse(key, path, f"lives in '{module_name}', a module not imported (loading a checkpoint imports none)", fix)
        if module_name == "ganzoo":  # its public names are imported on first use; those imports are ganzoo's own
            module.import_public_api()
        target = getattr(module, "__dict__", {}).get(name)  # not getattr(): a module's __getattr__ may import
        if target is None:
            raise self.refuse(key, path, f"is not defined in its module '{module_name}'")
        origin = getattr(target, "__module__", None)
        if not isinstance(origin, str) or not self.trusts(origin):
            raise self.refuse(
                key, path, f"comes from '{origin}', not ganzoo, torch.nn, torch.optim or a module you named"
            )
        if isinstance(target, type):
            if not issubclass(target, base):
                kind = " or ".join(_name(b) for b in base)
                raise self.refuse(key, path, f"is not a subclass of {kind}", _wrong_kind_fix(base))
        elif not (functions and inspect.isfunction(target)):
            raise self.refuse(key, path, "is not a class")
        elif not self.trusts(origin, own_only=True):  # ganzoo's and torch's functions are not factories to call
            raise self.refuse(key, path, f"is a function of '{origin}'; a function must come from a module you named")
        return target

    def trusts(self, module_name: str, own_only: bool = False) -> bool:
        """Whether classes defined in ``module_name`` may be built (``own_only``: only modules the user named)."""
        def within(prefixes) -> bool:
            return any(module_name == m or module_name.startswith(m + ".") for m in prefixes)

        if within(self.trusted_modules) or (not own_only and within(TRUSTED_ORIGINS)):
            return True
        return self.user_code and not within(TRUSTED_ORIGINS) and _is_user_code(module_name)


def _wrong_kind_fix(base: tuple[type, ...]) -> str:
    from lightning.pytorch import LightningModule

    if any(issubclass(b, LightningModule) for b in base):  # say, DCGAN.load_from_checkpoint of a VanillaGAN's file
        return "it is a checkpoint of another kind of model: load it with GANModule.load_from_checkpoint or its own class"
    return "the file was not written for this (or was tampered with); use a checkpoint written by ganzoo fit"


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}".replace("torch.optim.optimizer.", "torch.optim.").replace(
        "torch.nn.modules.module.", "torch.nn."
    )


def _install_dirs() -> list[Path]:
    paths = sysconfig.get_paths()
    dirs = [paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    dirs += [*getattr(site, "getsitepackages", lambda: [])(), site.getusersitepackages()]
    return [Path(d).resolve() for d in dirs if d]


def _is_user_code(module_name: str) -> bool:
    """``__main__``, or an imported module whose file lies outside the standard library and site-packages."""
    if module_name == "__main__":
        return True
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if not file:
        return False  # builtins, frozen and namespace modules are never the user's
    path = Path(file).resolve()
    return not any(path.is_relative_to(d) for d in _install_dirs())


# ------------------------------------------------------------------ checking a checkpoint
def check_module_classes(checkpoint: dict, policy: ClassPolicy, base: type) -> type:
    """Checks every class the model's part of a checkpoint names; returns the module class it records.

    Args:
        checkpoint: as :func:`read_checkpoint` returns it.
        policy: who is trusted, and how refusals read.
        base: the class the module must subclass (GANModule, or the class loading it).

    Returns:
        The class of ``hyper_parameters._class_path`` (else ``ganzoo_class``), or ``base`` when it records neither.
    """
    return _check_part(checkpoint, "hyper_parameters", "ganzoo_class", base, policy) or base


def check_datamodule_classes(checkpoint: dict, policy: ClassPolicy, datamodule_class: Optional[type] = None) -> Optional[type]:
    """Checks the datamodule's part of a checkpoint; returns its recorded class, or ``datamodule_class`` if given
    (the user's ``--data``: the recorded class is then neither imported nor called, and not checked)."""
    keys = ("datamodule_hyper_parameters", "ganzoo_datamodule")
    return _check_part(checkpoint, *keys, LightningDataModule, policy, datamodule_class)


def _check_part(checkpoint: dict, hparams_key: str, class_key: str, base: type, policy: ClassPolicy,
                given: Optional[type] = None) -> Optional[type]:
    hparams = checkpoint.get(hparams_key) or {}
    if not isinstance(hparams, Mapping):
        raise policy.refuse(hparams_key, type(hparams).__name__, "is not a mapping of arguments")
    recorded = given
    if given is None:
        named = [(class_key, checkpoint.get(class_key))]
        named += [(f"{hparams_key}.{key}", hparams.get(key)) for key in ("class_path", "_class_path")]
        for key, path in named:  # the last one named is the one Lightning builds
            if path is not None:
                recorded = policy.resolve(key, path, (base,))
    _check_instantiator(hparams, hparams_key, policy)
    _Walker(policy).spec(recorded, hparams, hparams_key)
    return recorded


def _check_instantiator(hparams: Mapping, where: str, policy: ClassPolicy) -> None:
    value = hparams.get("_instantiator")
    if value is not None and value not in LIGHTNING_INSTANTIATORS:
        raise policy.refuse(f"{where}._instantiator", value, f"is not Lightning's instantiator ({LIGHTNING_INSTANTIATORS[0]})")


class _Walker:
    """Walks recorded constructor arguments, resolving each class they name against its owner's type hints."""

    def __init__(self, policy: ClassPolicy):
        self.policy = policy

    def spec(self, owner: Optional[type], spec: Mapping, where: str) -> None:
        """The arguments of a class spec: beside its ``_class_path`` (Lightning's form), or in ``init_args``."""
        self.arguments(owner, spec, where)
        for args_key in ("init_args", "dict_kwargs"):
            if isinstance(spec.get(args_key), Mapping):
                self.arguments(owner, spec[args_key], f"{where}.{args_key}")

    def arguments(self, owner: Optional[type], args: Mapping, where: str) -> None:
        hints = _init_hints(owner)
        for name, value in args.items():
            if name not in ("_class_path", "_instantiator", "class_path", "init_args", "dict_kwargs"):
                self.value(value, hints.get(name, _NO_HINT), f"{where}.{name}", str(name))

    def value(self, value: Any, hint: Any, where: str, name: str) -> None:
        if isinstance(value, Mapping):
            key = next((k for k in ("class_path", "_class_path") if value.get(k) is not None), None)
            if key is None:  # a plain dict: its values have no hint of their own
                for k, v in value.items():
                    self.value(v, _NO_HINT, f"{where}.{k}", str(k))
                return
            self.spec(self.policy.resolve(f"{where}.{key}", value[key], expected_base(hint, name)), value, where)
        elif isinstance(value, (list, tuple)):
            element = _element_hint(hint)
            for i, item in enumerate(value):
                self.value(item, element, f"{where}[{i}]", name)
        elif isinstance(value, str) and _DOTTED.fullmatch(value) and _may_import(hint):
            self.policy.resolve(where, value, expected_base(hint, name), functions=True)


def _init_hints(owner: Optional[type]) -> dict[str, Any]:
    """Type hints of ``owner``'s constructor arguments, its own first, then its bases' (``**kwargs`` forwarding)."""
    hints: dict[str, Any] = {}
    for klass in getattr(owner, "__mro__", ())[::-1]:
        init = vars(klass).get("__init__")
        if not inspect.isfunction(init):
            continue
        try:
            found = typing.get_type_hints(init)
        except Exception:  # an unresolvable annotation: that argument gets no hint, and the name decides
            found = {}
        hints.update(found)
    return hints


def _hint_parts(hint: Any) -> list[Any]:
    """The alternatives of a Union/Optional hint."""
    if typing.get_origin(hint) is Union or type(hint).__name__ == "UnionType":
        return [p for arg in typing.get_args(hint) for p in _hint_parts(arg)]
    return [hint]


def _element_hint(hint: Any) -> Any:
    for part in _hint_parts(hint):
        if typing.get_origin(part) in (list, tuple, set, frozenset, Iterable, Sequence) and typing.get_args(part):
            return typing.get_args(part)[0]
    return _NO_HINT


def _classes_in(hint: Any) -> list[type]:
    """The classes a value of ``hint`` may be built as: its classes, a ``type[X]``'s X, a callable's return type."""
    found = []
    for part in _hint_parts(hint):
        origin = typing.get_origin(part)
        if origin is Callable and typing.get_args(part):
            found += _classes_in(typing.get_args(part)[-1])
        elif origin is type and typing.get_args(part):
            found += _classes_in(typing.get_args(part)[0])
        elif isinstance(part, type) and not issubclass(part, _PLAIN) and part is not object:
            found.append(part)
    return found


def _may_import(hint: Any) -> bool:
    """Whether jsonargparse could import a dotted string given for ``hint`` (a class, type or callable)."""
    if hint is _NO_HINT or hint is Any:
        return False
    parts = _hint_parts(hint)
    return any(typing.get_origin(p) in (Callable, type) or p in (Callable, type) for p in parts) or bool(_classes_in(hint))


def expected_base(hint: Any, name: str) -> tuple[type, ...]:
    """The base a class given for argument ``name`` must subclass: from its type hint, else from the name."""
    classes = tuple(_classes_in(hint)) if hint is not _NO_HINT else ()
    if classes:
        return classes
    if name.endswith("optimizer"):
        return (torch.optim.Optimizer,)
    if name.endswith("scheduler"):
        return _SCHEDULERS
    if name in ("generator", "discriminator", "generator_ema"):
        return (nn.Module,)
    return _ANY_KNOWN_BASE


def trusted_modules_of_config(config: Any) -> tuple[str, ...]:
    """The modules of every ``class_path`` a parsed CLI config names: what the user vouched for."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if hasattr(value, "as_dict"):
            value = value.as_dict()
        if isinstance(value, Mapping):
            if isinstance(value.get("class_path"), str):
                found.append(value["class_path"].rpartition(".")[0])
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(config)
    return tuple(dict.fromkeys(m for m in found if m))
