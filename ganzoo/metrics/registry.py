"""The image metrics ganzoo knows, one entry each, in the manner of stylegan2-ada's ``metric_main``.

An entry is a function that computes a metric's values from features, registered with
everything else the evaluator needs to know about it::

    @register_metric("fid", features=("inception_pool",), real="mean_cov",
                     keys=lambda p: [f"fid{p.dims}_{p.fake}_{p.real}{p.aa}"])
    def fid(run: MetricInput) -> list[float]:
        return [frechet_distance(run.real, run.fake["inception_pool"])]

- ``features``: the named features it reads (:data:`FEATURES`: InceptionV3's pool
  features or logits, the domain classifier's features or probabilities, the bytes);
  the first one is the one its real statistics are taken of. The evaluator loads the
  network those features need (``extractor``, by default the first feature's) and pushes
  each image through it once for all metrics.
- ``real``: the real statistics it needs of that feature: ``"mean_cov"`` (torchmetrics
  FID's sums of features and of their outer products), ``"features"`` (the rows
  themselves, for KID) or ``None``; they are cached on disk under
  ``<fid|kid>-<inception|classifier>-<hash>.pt``.
- ``keys``: the names its values are reported under, from the protocol's parts
  (:class:`KeyParts`): ``fid_10k_train`` is 10,000 generated images against the whole
  training split, ``fid_10k_train5k`` against its first 5,000.
- ``labels``, ``check``, ``settings``, ``reference``: see :class:`Metric`.
- the function returns one value per key, in the same order.

Every value comes from torchmetrics' public API (``update``, ``merge_state``, ``compute``)
or from :mod:`ganzoo.metrics.classifier` / :mod:`ganzoo.metrics.domain`; nothing here
re-implements FID, KID or IS.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

import torch
from torch import Tensor, nn

from ganzoo.errors import ConfigError

if TYPE_CHECKING:
    from ganzoo.metrics.evaluator import ImageEvaluator

#: feature name -> the network that gives it (``None``: the image bytes themselves).
FEATURES = {
    "inception_pool": "inception",
    "inception_logits": "inception",
    "classifier_features": "classifier",
    "classifier_probs": "classifier",
    "pixels": None,
}
#: ``real`` statistics -> the prefix of their cache files.
REAL_STATISTICS = {"mean_cov": "fid", "features": "kid"}


@dataclass(frozen=True)
class KeyParts:
    """The parts of the protocol that metric keys are built from (``fid768_10k_train5k_aa``)."""

    fake: str  #: generated images, ``10k``
    real: str  #: the real images: the split, with a count when not the whole of it, ``train5k``
    dims: str  #: InceptionV3's feature size when not 2048, ``768``
    aa: str  #: ``_aa`` for an antialiased resize
    classifier: str  #: the domain classifier's name, ``mnist``
    pr_k: int = 3  #: precision and recall's neighbourhood size
    dc_k: int = 5  #: density and coverage's neighbourhood size
    classes: int = 0  #: the data's classes (0: unlabelled), for per-class keys


@dataclass
class MetricInput:
    """What a metric's function gets.

    Attributes:
        evaluator: the :class:`~ganzoo.metrics.evaluator.ImageEvaluator`, for its settings
            (``kid_subsets``, ``is_splits``, ...) and networks (``classifier``).
        fake: the generated images' features, by name, ``(num_fake, ...)``; ``labels``
            ``(num_fake,)`` too when the metric asked for labels.
        real: this metric's real statistics (``None`` when it declares none).
    """

    evaluator: "ImageEvaluator"
    fake: dict[str, Tensor]
    real: Optional[dict[str, Tensor]]


@dataclass(frozen=True)
class Metric:
    """One registered metric: see the module docstring.

    Attributes:
        extractor: the network it needs loaded, ``inception`` or ``classifier`` (by default
            the one of its first feature).
        labels: the generator is asked for balanced class labels (each class equally often).
        check: ``check(evaluator, datamodule)`` raises a one-line ``ConfigError`` for data
            or settings the metric cannot measure; run before any image is generated.
        settings: ``settings(evaluator)``, the evaluator settings its values depend on
            (``{"kid": {"subsets": 100, ...}}``), recorded in the protocol only when it is computed.
        reference: ``reference(evaluator, datamodule, device)`` gives the real tensors the
            metric reads as ``run.real``, for real data beyond ``real``'s statistics of the
            one split (the rows of two splits, labels); it caches them itself.
    """

    name: str
    compute: Callable[[MetricInput], list[float]]
    features: tuple[str, ...]
    real: Optional[str]
    keys: Callable[[KeyParts], list[str]]
    extractor: Optional[str]
    labels: bool = False
    check: Optional[Callable[["ImageEvaluator", Any], None]] = None
    settings: Optional[Callable[["ImageEvaluator"], dict]] = None
    reference: Optional[Callable[["ImageEvaluator", Any, Any], dict[str, Tensor]]] = None

    @property
    def real_kind(self) -> Optional[str]:
        """The name of its cached real statistics, ``fid-inception``; ``None`` when it needs none."""
        return None if self.real is None else f"{REAL_STATISTICS[self.real]}-{self.extractor}"


#: metric name -> :class:`Metric`, in registration order.
METRICS: dict[str, Metric] = {}


def register_metric(name: str, *, features: tuple[str, ...], keys: Callable[[KeyParts], list[str]],
                    real: Optional[str] = None, extractor: Optional[str] = None, labels: bool = False, check=None,
                    settings=None, reference=None):
    """Registers the decorated function as metric ``name`` (see the module docstring)."""
    unknown = [f for f in features if f not in FEATURES]
    if unknown or not features or (real is not None and real not in REAL_STATISTICS):
        raise ConfigError(f"metric {name!r}: features {list(features)} or real {real!r} unknown; choose features "
                          f"from {', '.join(FEATURES)} and real from {', '.join(REAL_STATISTICS)} or None")

    def register(fn: Callable[[MetricInput], list[float]]) -> Callable[[MetricInput], list[float]]:
        if name in METRICS:
            raise ConfigError(f"metric {name!r} is already registered; give the new one another name")
        network = extractor or FEATURES[features[0]]
        METRICS[name] = Metric(name, fn, tuple(features), real, keys, network, labels, check, settings, reference)
        return fn

    return register


def count_label(n: int) -> str:
    """``10000 -> "10k"``, ``2500 -> "2500"``: the sample counts in metric keys."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


class _Given(nn.Module):
    """Hands torchmetrics features computed beforehand (it reads ``num_features``)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def frechet_distance(real: dict[str, Tensor], fake_features: Tensor) -> float:
    """torchmetrics' FID from real sums (``sum``, ``cov_sum``, ``n``) and fake features ``(N, D)``.

    The cached real sums enter through ``merge_state`` (a fresh metric's states are zeros,
    so the merged sums are the cached ones exactly).
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    device = fake_features.device
    fid = FrechetInceptionDistance(_Given(fake_features.shape[1]), sync_on_compute=False).to(device)
    state = {name: torch.zeros_like(value) for name, value in fid.metric_state.items()}
    state.update(real_features_sum=real["sum"].to(device, torch.float64),
                 real_features_cov_sum=real["cov_sum"].to(device, torch.float64),
                 real_features_num_samples=real["n"].to(device))
    fid.merge_state(state)
    for chunk in fake_features.split(1000):
        fid.update(chunk.float(), real=False)
    return float(fid.compute())


def mean_cov_sums(features: Tensor) -> dict[str, Tensor]:
    """The real statistics ``"mean_cov"``: torchmetrics FID's real sums of features ``(N, D)``."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(_Given(features.shape[1]), sync_on_compute=False).to(features.device)
    for chunk in features.split(1000):
        fid.update(chunk, real=True)
    state = fid.metric_state
    return {"sum": state["real_features_sum"], "cov_sum": state["real_features_cov_sum"],
            "n": state["real_features_num_samples"]}


# ------------------------------------------------------------------ the metrics
def _check_kid(evaluator: "ImageEvaluator", datamodule) -> None:
    smaller = min(evaluator.num_fake, evaluator.real_count)
    if evaluator.kid_subset_size > smaller:
        raise ConfigError(f"kid_subset_size {evaluator.kid_subset_size} is more than the {smaller} images on one "
                          f"side; lower kid_subset_size or raise num_fake/num_real")


def _check_labelled(evaluator: "ImageEvaluator", datamodule) -> None:
    if not getattr(datamodule, "num_classes", 0):
        raise ConfigError(f"class_accuracy needs labelled data; {type(datamodule).__name__} has no classes")


def _check_stacked(evaluator: "ImageEvaluator", datamodule) -> None:
    shape = tuple(datamodule.image_shape)
    if shape[0] != 3:
        raise ConfigError(f"stacked_modes needs 3-channel Stacked MNIST images, got image shape {shape}")


@register_metric("fid", features=("inception_pool",), real="mean_cov",
                 keys=lambda p: [f"fid{p.dims}_{p.fake}_{p.real}{p.aa}"])
def fid(run: MetricInput) -> list[float]:
    """Fréchet Inception Distance (Heusel et al. 2017)."""
    return [frechet_distance(run.real, run.fake["inception_pool"])]


@register_metric("kid", features=("inception_pool",), real="features", check=_check_kid,
                 settings=lambda e: {"kid": {"subsets": e.kid_subsets, "subset_size": e.kid_subset_size}},
                 keys=lambda p: [f"kid{p.dims}_{p.fake}_{p.real}{p.aa}", f"kid{p.dims}_{p.fake}_{p.real}{p.aa}_std"])
def kid(run: MetricInput) -> list[float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): mean and std over random subsets."""
    from torchmetrics.image.kid import KernelInceptionDistance

    fake = run.fake["inception_pool"]
    metric = KernelInceptionDistance(_Given(fake.shape[1]), subsets=run.evaluator.kid_subsets,
                                     subset_size=run.evaluator.kid_subset_size, sync_on_compute=False)
    metric.update(run.real["features"].to(fake.device), real=True)
    metric.update(fake.float(), real=False)
    mean, std = metric.compute()
    return [float(mean), float(std)]


@register_metric("is", features=("inception_logits",), settings=lambda e: {"is_splits": e.is_splits}, keys=lambda p: [f"is_{p.fake}{p.aa}", f"is_{p.fake}{p.aa}_std"])
def inception_score(run: MetricInput) -> list[float]:
    """Inception Score (Salimans et al. 2016): mean and std over ``is_splits`` splits."""
    from torchmetrics.image.inception import InceptionScore

    logits = run.fake["inception_logits"]
    score = InceptionScore(_Given(logits.shape[1]), splits=run.evaluator.is_splits, sync_on_compute=False)
    score.update(logits.double())
    mean, std = score.compute()  # the std of one split is 0 (torch-fidelity), not NaN
    return [float(mean), float(std) if run.evaluator.is_splits > 1 else 0.0]


@register_metric("fd_classifier", features=("classifier_features",), real="mean_cov",
                 keys=lambda p: [f"fd_{p.classifier}_{p.fake}_{p.real}"])
def fd_classifier(run: MetricInput) -> list[float]:
    """Fréchet distance in the domain classifier's penultimate features."""
    return [frechet_distance(run.real, run.fake["classifier_features"])]


@register_metric("classifier_score", features=("classifier_probs",),
                 keys=lambda p: [f"classifier_score_{p.fake}", f"classes_covered_{p.fake}"])
def classifier_score(run: MetricInput) -> list[float]:
    """The Inception Score's formula with the domain classifier, and the classes it sees produced."""
    from ganzoo.metrics.classifier import classifier_metrics

    values = classifier_metrics(run.fake["classifier_probs"].double().cpu().numpy())
    return [values["classifier_score"], values["classes_covered"]]


@register_metric("class_accuracy", features=("classifier_probs",), labels=True, check=_check_labelled,
                 keys=lambda p: [f"class_accuracy_{p.fake}"])
def class_accuracy(run: MetricInput) -> list[float]:
    """Conditional GANs: how often a sample shows the class it was asked for."""
    from ganzoo.metrics.domain import conditional_accuracy

    return [float(conditional_accuracy(run.fake["classifier_probs"], run.fake["labels"]))]


@register_metric("stacked_modes", features=("pixels",), extractor="classifier", check=_check_stacked,
                 keys=lambda p: [f"modes_covered_{p.fake}", f"mode_kl_{p.fake}", f"digit_kl_{p.fake}"])
def stacked_modes(run: MetricInput) -> list[float]:
    """Stacked MNIST: modes (of 1,000) with a sample, the KL of the mode histogram to uniform, and the
    part of that KL due to the channels' own digit histograms."""
    from ganzoo.metrics.domain import stacked_mnist_modes

    modes = stacked_mnist_modes(run.evaluator.classifier, run.fake["pixels"].float() / 127.5 - 1)
    return [float(modes["modes_covered"]), float(modes["mode_kl"]), float(modes["digit_kl"])]


def _check_prdc(evaluator: "ImageEvaluator", datamodule) -> None:
    for name, k, side, n in (("pr_k", evaluator.pr_k, "generated", evaluator.num_fake),
                             ("pr_k", evaluator.pr_k, "real", evaluator.real_count),
                             ("dc_k", evaluator.dc_k, "real", evaluator.real_count)):
        if k >= n:
            raise ConfigError(f"{name} {k} needs more than {k} {side} images, got {n}; lower {name} or raise "
                              f"{'num_fake' if side == 'generated' else 'num_real'}")


def _prdc_keys(space: str, p: KeyParts) -> list[str]:
    """``precision_mnist_k3_10k_train``, ..., ``coverage_mnist_k5_10k_train``."""
    return [f"{name}_{space}_k{k}_{p.fake}_{p.real}" for name, k in
            (("precision", p.pr_k), ("recall", p.pr_k), ("density", p.dc_k), ("coverage", p.dc_k))]


def _prdc(run: MetricInput, feature: str) -> list[float]:
    from ganzoo.metrics.prdc import precision_recall_density_coverage

    fake = run.fake[feature]
    values = precision_recall_density_coverage(run.real["features"].to(fake.device), fake,
                                               run.evaluator.pr_k, run.evaluator.dc_k)
    return [values["precision"], values["recall"], values["density"], values["coverage"]]


def _prdc_settings(evaluator: "ImageEvaluator") -> dict:
    return {"prdc": {"pr_k": evaluator.pr_k, "dc_k": evaluator.dc_k, "distance": "euclidean",
                     "ball": "closed: |y - x| <= distance of x to its k-th nearest other sample"}}


@register_metric("prdc", features=("inception_pool",), real="features", check=_check_prdc, settings=_prdc_settings,
                 keys=lambda p: [f"{key}{p.aa}" for key in _prdc_keys(f"inception{p.dims}", p)])
def prdc(run: MetricInput) -> list[float]:
    """Precision, recall (Kynkäänniemi et al. 2019), density, coverage (Naeem et al. 2020) in InceptionV3's features."""
    return _prdc(run, "inception_pool")


@register_metric("prdc_classifier", features=("classifier_features",), real="features", check=_check_prdc,
                 settings=_prdc_settings, keys=lambda p: _prdc_keys(p.classifier, p))
def prdc_classifier(run: MetricInput) -> list[float]:
    """Precision, recall, density and coverage in the domain classifier's penultimate features."""
    return _prdc(run, "classifier_features")


# memorisation (ganzoo.metrics.memorisation): copies of training images, against the whole train and test splits
def _register_memorisation(name: str, feature: str, space: Callable[[KeyParts], str]) -> None:
    from ganzoo.metrics.memorisation import COPY_QUANTILE, check_splits, memorisation_values, train_and_held_out

    keys = lambda p: [f"{kind}_{space(p)}_{p.fake}_train_test" for kind in ("copy_rate", "nn_ratio")]  # noqa: E731
    settings = lambda evaluator: {"memorisation": {  # noqa: E731
        "train": "every image of the train split", "held_out": "every image of the test split",
        "copy_quantile": COPY_QUANTILE, "distance": "euclidean, to the nearest training image"}}
    register_metric(name, features=(feature,), keys=keys, check=check_splits, settings=settings,
                    reference=train_and_held_out(feature))(memorisation_values(feature))


_register_memorisation("memorisation", "classifier_features", lambda p: p.classifier)
_register_memorisation("memorisation_pixels", "pixels", lambda p: "pixels")
_register_memorisation("memorisation_inception", "inception_pool", lambda p: f"inception{p.dims}{p.aa}")


# intra-class Fréchet distance (ganzoo.metrics.intra_class): conditional generators, class by class
def _register_intra_class(name: str, feature: str, prefix: Callable[[KeyParts], str]) -> None:
    from ganzoo.metrics.intra_class import check_conditional_data, intra_class_values, labelled_real

    keys = lambda p: [prefix(p)] + [f"{prefix(p)}_class{c}" for c in range(p.classes)]  # noqa: E731
    register_metric(name, features=(feature,), keys=keys, labels=True, check=check_conditional_data,
                    reference=labelled_real(feature))(intra_class_values(feature))


_register_intra_class("intra_fd_classifier", "classifier_features", lambda p: f"intra_fd_{p.classifier}_{p.fake}_{p.real}")
_register_intra_class("intra_fid", "inception_pool", lambda p: f"intra_fid{p.dims}_{p.fake}_{p.real}{p.aa}")
