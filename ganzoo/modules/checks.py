"""GANModule's argument checks and hyperparameter bookkeeping: optimizer settings, memory, shapes,
labels, checkpoints, and which arguments a checkpoint records.

Each check fails with one :class:`~ganzoo.errors.ConfigError` line before any training step.
"""
from __future__ import annotations

import inspect
import numbers
import re
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

import torch
from torch import Tensor, nn

from ganzoo.errors import ConfigError, check_number
from ganzoo.modules.sampling import Labels, evaluating
from ganzoo.nets.packing import samples_per_score

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


def check_optimizer_factories(optimizers: Sequence[Callable], schedulers: Sequence[Optional[Callable]]) -> None:
    """Builds each optimizer (G's, then D's) and scheduler once on a stand-in parameter, so a bad setting
    (a negative learning rate, say) fails at construction with one line, before any training."""
    for player, make_optimizer, make_scheduler in zip("gd", optimizers, schedulers):
        try:
            optimizer = make_optimizer([nn.Parameter(torch.zeros(1))])
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{player}_optimizer cannot be built: {err}; e.g. lr: 0.0002 and betas: [0.5, 0.999]") from None
        check_finite_settings(f"{player}_optimizer", optimizer.param_groups[0])
        if make_scheduler is None:
            continue
        try:
            scheduler = make_scheduler(optimizer)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{player}_scheduler cannot be built: {err}; check its init_args") from None
        check_finite_settings(f"{player}_scheduler", vars(scheduler))


def save_plain_hyperparameters(module: Any, frame: Any, base: type) -> None:
    """``module.save_hyperparameters`` from the constructor's ``frame``, without what cannot be reloaded.

    Under LightningCLI the hparams of injected networks and optimizers are their
    class_path configs, which let load_from_checkpoint rebuild them. Objects passed from
    Python (modules, callables) cannot be stored safely: they are dropped. The CLI links
    the datamodule's ``data_shape`` (and its alias ``image_shape``) into every model's
    arguments; a model without that argument (in any class from ``base`` down) must not
    record it, or reloading would pass it to ``__init__``; nor the arguments a variant's
    ``derived_hyperparameters`` names, which it passes to its parent itself.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is an instance of `nn.Module`")
        module.save_hyperparameters(frame=frame)
    objects = [k for k, v in module.hparams.items() if _is_object(v)]
    accepted = {
        name
        for klass in type(module).__mro__
        if isinstance(klass, type) and issubclass(klass, base)
        for name in inspect.signature(klass.__init__).parameters
    }
    # A variant sets some of its parents' arguments itself (SelfConditionedGAN's num_classes): not its own.
    derived = set(getattr(module, "derived_hyperparameters", ()))
    unknown = [k for k in module.hparams if not k.startswith("_") and (k not in accepted or k in derived)]
    if objects or unknown:
        # Saved again without them: Lightning hands ``hparams_initial`` to the loggers, and a CSV or
        # TensorBoard logger would try to write every injected network as YAML (seconds per million weights).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is an instance of `nn.Module`")
            module.save_hyperparameters(ignore=objects + unknown, frame=frame)


def _is_object(value: Any) -> bool:
    """Whether a hyperparameter is an object built in Python (a module, a callable, a list of modules)."""
    if isinstance(value, (list, tuple)):
        return any(_is_object(item) for item in value)
    return isinstance(value, nn.Module) or callable(value)


def check_labels(labels: Optional[Labels], n: int, num_classes: int, name: str, noun: str = "class") -> Optional[Tensor]:
    """Requested classes as int64 ``(n,)`` on the CPU; bad labels raise one line.

    Args:
        labels: ``None``, one class for all ``n`` samples, or one class per sample
            (a list or a tensor of integers in ``[0, num_classes)``).
        n: number of samples.
        num_classes: classes of the module (0: unconditional, which takes no labels).
        name: the module's class name, for messages.
        noun: what a label is, for messages: ``"class"``, or ``"cluster"`` for a
            :class:`~ganzoo.SelfConditionedGAN`.
    """
    if labels is None:
        return None
    if not num_classes:
        raise ConfigError(
            f"{name} is unconditional and takes no labels; train a conditional variant "
            "(ganzoo.ConditionalGAN, ACGAN or ProjectionGAN) to choose classes"
        )
    try:
        tensor = torch.as_tensor(labels).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(f"labels must be integer class indices, got {labels!r}; e.g. labels=7 or [0, 1, 2]") from None
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise ConfigError(f"labels must be integer class indices, got dtype {tensor.dtype}; e.g. labels=7 or [0, 1, 2]")
    if tensor.dim() == 0:
        tensor = tensor.expand(n)
    if tensor.dim() != 1 or tensor.shape[0] != n:
        raise ConfigError(
            f"got {tensor.numel()} labels of shape {tuple(tensor.shape)} for {n} samples; pass one label per "
            "sample or a single class for all"
        )
    bad = tensor[(tensor < 0) | (tensor >= num_classes)]
    if bad.numel():
        raise ConfigError(
            f"label {bad[0].item()} is outside [0, {num_classes}): {name} has {num_classes} {plural(noun)}; "
            f"pass {noun} indices 0..{num_classes - 1}"
        )
    return tensor.to(torch.int64)


def plural(noun: str) -> str:
    """The plural of a label's noun: ``"class"`` -> ``"classes"``, ``"cluster"`` -> ``"clusters"``."""
    return "classes" if noun == "class" else f"{noun}s"


def _shape(t: Tensor) -> str:
    return "(N, " + ", ".join(str(s) for s in t.shape[1:]) + ")" if t.dim() > 1 else "(N,)"


@torch.no_grad()
def check_networks_fit(module: Any, real: Tensor, source: str = "the data") -> None:
    """Fails with one line, before any update, when ``module``'s G or D does not fit samples like ``real``.

    G and D run in eval mode on two codes; their modes are restored after.
    """
    n = 2 * samples_per_score(module.discriminator)  # two scores from a D that packs samples
    # At setup Lightning already reports the target device while the weights are still on the CPU.
    device = next(module.generator.parameters(), real).device
    labels = torch.arange(n, device=device) % module.num_classes if module.num_classes else None
    with evaluating(module.generator, module.discriminator):
        try:
            fake = module(module.sample_prior(n).to(device), labels)
        except RuntimeError as err:  # say, mat1 and mat2 shapes cannot be multiplied
            raise ConfigError(
                f"generator does not take the module's latent codes, shape (N, {module.latent_dim}) for "
                f"latent_dim={module.latent_dim} ({first_line(err)}); make the generator's input size equal latent_dim"
            ) from None
        if fake.shape[1:] != real.shape[1:]:
            raise ConfigError(
                f"generator output shape {_shape(fake)} does not match the shape {_shape(real)} of "
                f"{source}; make the generator's output shape equal the data shape"
            )
        try:
            scores = module.discriminator(fake) if labels is None else module.discriminate(fake, labels)
        except RuntimeError as err:
            raise ConfigError(
                f"discriminator does not take samples of shape {_shape(fake)}, the shape of {source} "
                f"({first_line(err)}); make the discriminator's input shape equal the data shape"
            ) from None
        if scores.numel() != 2:
            raise ConfigError(
                f"discriminator output shape {tuple(scores.shape)} for {n} samples; it must return one "
                "raw score per sample, shape (N,) or (N, 1) (one per pack of m samples, (N / m,), for a D with pack=m)"
            )


def check_packing(module: Any) -> None:
    """One line when a conditional module gets a D that packs samples (PacGAN): it scores each sample with its label."""
    pack = samples_per_score(module.discriminator)
    if pack > 1 and module.num_classes:
        raise ConfigError(
            f"{type(module).__name__} is conditional: its D scores each sample with its own label, so it cannot "
            f"judge packs of {pack} samples (its discriminator has pack={pack}); use a discriminator with pack=1"
        )


_WARNED: set = set()


def renamed_argument(old: str, old_value: Any, new: str, new_value: Any) -> Any:
    """The value of an argument that was renamed from ``old`` to ``new``: ``old_value`` still works,
    with one deprecation warning per process; both at once must agree.

    For ``image_shape``, now ``data_shape`` in every variant.
    """
    if old_value is None:
        return new_value
    if new_value is not None and tuple(new_value) != tuple(old_value):
        raise ConfigError(f"{old}={tuple(old_value)} and {new}={tuple(new_value)} disagree; {old} is the old name of {new}: pass {new} only")
    if old not in _WARNED:
        _WARNED.add(old)
        from lightning.pytorch.utilities import rank_zero_deprecation

        rank_zero_deprecation(f"the argument {old} is now {new}; {old} still works but will be removed, write {new}={list(old_value)}")
    return old_value


#: every BatchNorm class of torch (named, not through torch's private base class).
_BATCH_NORMS = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm,
    nn.LazyBatchNorm1d, nn.LazyBatchNorm2d, nn.LazyBatchNorm3d,
)


def warn_batch_norm_under_input_gradients(module: Any) -> None:
    """Warns once when a penalty that differentiates D's input meets a D holding BatchNorm.

    BatchNorm in training mode normalises each sample by its batch's statistics, so D's
    gradient with respect to one sample depends on the others, and a per-sample gradient
    penalty (WGAN-GP's, R1, R2, any regulariser with ``differentiates_inputs``) penalises
    the wrong quantity. ``module`` is a GANModule with its D, ``gp_weight`` and ``regularisers``.
    """
    penalties = (["the WGAN-GP gradient penalty"] if module.gp_weight else []) + [
        f"the {type(r).__name__} penalty" for r in module.regularisers if r.differentiates_inputs
    ]
    norms = [name or type(m).__name__ for name, m in module.discriminator.named_modules() if isinstance(m, _BATCH_NORMS)]
    if not penalties or not norms:
        return
    from lightning.pytorch.utilities import rank_zero_warn

    rank_zero_warn(
        f"{type(module).__name__}'s discriminator holds BatchNorm (discriminator.{norms[0]}) and {' and '.join(penalties)} "
        "differentiates D's input: BatchNorm mixes the samples of a batch, so D's gradient for one sample depends on "
        "the others and the per-sample penalty is wrong; use a discriminator without BatchNorm (layer or spectral "
        "norm; in DCGAN, use d_norm: layer)"
    )
