"""GANModule's checks of bad input that need more than one value: optimizer settings, memory, checkpoints.

Each fails with one :class:`~ganzoo.errors.ConfigError` line before any training step.
"""
from __future__ import annotations

import numbers
import re
from contextlib import contextmanager
from typing import Iterator

from torch import nn

from ganzoo.errors import ConfigError, check_number

#: the largest learning rate accepted. Adam moves every weight by up to about lr per step, so
#: above 1e4 the first update alone throws weights of size ~0.1 out by 1e5 times their scale;
#: published GANs train at 1e-5..1e-2 and torch's optimizers default to at most 1 (Adadelta,
#: LBFGS); above 65504 a half-precision update is infinite at the first step, and at 1e300
#: float32 overflows inside Adam.
MAX_LEARNING_RATE = 1e4

_EXAMPLES = {"lr": "lr: 0.0002", "betas": "betas: [0.5, 0.999]", "eps": "eps: 1.0e-08", "weight_decay": "weight_decay: 0"}


def check_finite_settings(option: str, settings: dict) -> None:
    """Every number (or list of numbers) of an optimizer's param group or a scheduler's attributes is finite.

    torch checks the signs of lr, betas, eps and weight_decay, but a comparison with NaN is
    false, so NaN passes, and an infinite lr, weight decay or scheduler factor passes too;
    each would end the run at its first step, far from the option. ``lr`` is also bounded
    by :data:`MAX_LEARNING_RATE`.

    Args:
        option: what the user set, e.g. ``g_optimizer``.
        settings: ``optimizer.param_groups[0]`` or ``vars(scheduler)``.
    """
    for key, value in settings.items():
        values = value if isinstance(value, (tuple, list)) else [value]
        if key.startswith("_") or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            continue
        example = _EXAMPLES.get(key, f"leave {key} at its default")
        for v in values:
            check_number(f"{option} {key}", v, example, high=MAX_LEARNING_RATE if key == "lr" else None)


@contextmanager
def networks_that_fit_in_memory(hparams: dict) -> Iterator[None]:
    """Turns the allocator's failure while G and D are built (``latent_dim: 1000000000``, say) into one line.

    Args:
        hparams: the module's hyperparameters; those that size the networks are named.
    """
    try:
        yield
    except (RuntimeError, MemoryError) as err:
        text = str(err)
        if not isinstance(err, MemoryError) and "allocate" not in text and "out of memory" not in text.lower():
            raise
        wanted = re.search(r"allocate (\d+) bytes", text)
        size = f" (one tensor of {int(wanted[1]) / 2**30:.0f} GiB)" if wanted else ""
        sizes = ", ".join(f"{k}={v}" for k, v in hparams.items() if re.search(r"dim|width|shape", k) and v is not None)
        raise ConfigError(
            f"the networks do not fit in memory{size} with {sizes}; lower the largest of these (e.g. latent_dim=64)"
        ) from None


def first_line(err: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none."""
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def check_checkpoint_fits(module: nn.Module, checkpoint: dict, strict: bool = False) -> None:
    """Fails with one line when the checkpoint's weights are of another model than ``module``, before they load.

    Lightning's loading would stop with a traceback that lists every mismatched tensor
    (``size mismatch for generator.net.0.weight: ...``). A tensor of another shape fails any
    load; with ``strict`` (how ``fit``/``test`` ``--ckpt_path`` load) so does a tensor only one
    side has. ``fixed_z`` (any number of codes) and metric weights (left out of checkpoints)
    are not part of the model.
    """
    skip = tuple(getattr(module, "_metric_prefixes", lambda: [])()) + ("fixed_z",)
    own = {k: v.shape for k, v in module.state_dict().items() if not k.startswith(skip)}
    stored = {k: v.shape for k, v in checkpoint.get("state_dict", {}).items() if not k.startswith(skip) and hasattr(v, "shape")}
    mismatched = next((k for k in own if k in stored and own[k] != stored[k]), None)  # the first, in the module's order
    missing, unexpected = [k for k in own if k not in stored], [k for k in stored if k not in own]
    if mismatched is None and not (strict and (missing or unexpected)):
        return
    recorded = checkpoint.get("ganzoo_class") or (checkpoint.get("hyper_parameters") or {}).get("_class_path") or "?"
    recorded, here = str(recorded).rpartition(".")[2], type(module).__qualname__
    if mismatched is not None:
        detail = f"{mismatched} has shape {tuple(stored[mismatched])} there, {tuple(own[mismatched])} here"
    else:
        detail = "; ".join(
            ([f"it lacks {missing[0]}"] if missing else []) + ([f"it has {unexpected[0]}, this one has not"] if unexpected else [])
        )
    what = f"the checkpoint's {recorded} does not match this one" if recorded == here else (
        f"the checkpoint holds a {recorded}, not this {here}")
    raise ConfigError(
        f"{what} ({detail}); build the model it was trained with (its run's config.yaml: ganzoo fit --config "
        "<run dir>/config.yaml --ckpt_path ...) or pass a checkpoint of this model"
    )
