"""FID, KID, IS and the domain-classifier metrics of a generator, on a stated protocol.

:class:`ImageEvaluator` draws ``num_fake`` samples, pushes them and ``num_real`` real
images of one split through the feature extractors once, and hands the features to the
metrics of :mod:`ganzoo.metrics.registry` (one entry each: its features, the real
statistics it needs, its keys, its compute function over torchmetrics). The key of each
value names its protocol, stylegan2 fashion: ``fid_10k_train`` is 10,000 generated images
against the whole training split, ``fid_10k_train5k`` against its first 5,000.

Images go to bytes by rounding (``round((x + 1) * 127.5)``, as saving a PNG would),
one channel is repeated to three for InceptionV3, and the resize to 299 px is stated
(``antialias``). Real statistics are cached on disk (:mod:`ganzoo.metrics.real_stats`).

Under DDP every process extracts its share (:mod:`ganzoo.metrics.gather`): sample chunk c
(``batch_size`` samples, latent codes seeded by ``(seed, c)``) goes to process
``c % world_size``, real image i to the process of its chunk, and the gathered features
are put back in chunk order. The result is the same on one process or many, and every
process returns it.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import warnings
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from ganzoo.errors import ConfigError, check_positive_int, choose_from
from ganzoo.metrics.gather import all_true, chunk_sizes, gather_chunks, world
from ganzoo.metrics.real_stats import RealStatsCache, dataset_fingerprint
from ganzoo.metrics.registry import (  # noqa: F401 - re-exported: ganzoo.metrics.evaluator.METRICS, ...
    FEATURES, METRICS, KeyParts, MetricInput, _Given, count_label, frechet_distance, mean_cov_sums,
)
from ganzoo.viz import to_uint8

#: ``sample_fn(n, seed, labels)``: n images in [-1, 1] ``(n, C, H, W)``; ``labels`` (n,) or None.
SampleFn = Callable[[int, int, Optional[Tensor]], Tensor]


def module_sampler(module) -> SampleFn:
    """A :data:`SampleFn` over a GANModule's ``generate`` (conditional modules take ``labels``)."""

    def sample(n: int, seed: int, labels: Optional[Tensor]) -> Tensor:
        if labels is None:
            return module.generate(n, seed=seed)
        return module.generate(n, seed=seed, labels=labels)

    return sample


def split_dataset(datamodule, split: str) -> Dataset:
    """The dataset of ``split`` (train, val or test): ``datamodule.splits`` or its dataloader's."""
    splits = getattr(datamodule, "splits", None)
    if not splits:
        datamodule.setup("fit")
        splits = getattr(datamodule, "splits", None)
    if isinstance(splits, dict) and split in splits:
        return splits[split]
    loader = getattr(datamodule, f"{split}_dataloader", None)
    if split not in ("train", "val", "test") or loader is None:
        raise choose_from("split", split, ("train", "val", "test"))
    return loader().dataset


class ImageEvaluator:
    """Computes generative metrics of images on one protocol.

    Its arguments are the one configuration of image metrics: the ``ImageMetrics``
    callback takes them as they are (``ImageMetrics(metrics=[...], num_fake=..., every_n_steps=...)``)
    and ``ganzoo evaluate`` builds one from its options with :meth:`from_args`.

    Args:
        metrics: names from :data:`METRICS` (``ganzoo.metrics.registry``): ``fid``, ``kid``,
            ``is`` (InceptionV3); ``fd_classifier`` (Fréchet distance in the domain classifier's
            features), ``classifier_score`` (the Inception Score's formula with it),
            ``class_accuracy`` (conditional GANs: how often a sample shows its requested
            class), ``stacked_modes`` (Stacked MNIST: modes covered of 1,000, KL to uniform);
            ``prdc`` and ``prdc_classifier`` (precision, recall, density and coverage in
            InceptionV3's or the domain classifier's features, :mod:`ganzoo.metrics.prdc`);
            ``memorisation`` (``_pixels``, ``_inception``: copies of training images, against the
            train and test splits), ``intra_fd_classifier``, ``intra_fid`` (conditional GANs: FD
            class by class).
        num_fake: generated images per evaluation.
        num_real: real images from ``split``; ``None`` uses the whole split.
        split: ``train``, ``val`` or ``test``.
        inception_weights: the InceptionV3 weights file or its folder; ``None`` looks in
            the torch hub cache (see :func:`ganzoo.metrics.inception.find_inception_weights`).
        classifier: the domain classifier: ``mnist``, ``digits`` or a file.
        feature: InceptionV3 feature size for FID and KID (2048 in the papers).
        antialias: antialiased resize to 299 px (``False``: TensorFlow 1.x bilinear,
            as torch-fidelity and the papers); a ``True`` adds ``_aa`` to the keys.
        kid_subsets: KID's random subsets.
        kid_subset_size: images in each KID subset.
        is_splits: splits of the Inception Score (10 in the papers).
        pr_k: precision and recall's neighbourhood size k (3, Kynkäänniemi et al. 2019).
        dc_k: density and coverage's neighbourhood size k (5, Naeem et al. 2020).
        seed: seed of the latent codes, the labels' order and KID/IS's subsets.
        batch_size: images per forward pass (and per seeded chunk of codes).
        cache_dir: folder of the real-statistics cache; ``None``: ``$GANZOO_CACHE/real_stats``,
            else ``~/.cache/ganzoo/real_stats``.
        use_cache: read and write that cache.
    """

    def __init__(
        self,
        metrics: Union[Sequence[str], str] = ("fid",),
        num_fake: int = 10_000,
        num_real: Optional[int] = None,
        split: str = "train",
        inception_weights: Optional[str] = None,
        classifier: Optional[str] = None,
        feature: int = 2048,
        antialias: bool = False,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        is_splits: int = 10,
        pr_k: int = 3,
        dc_k: int = 5,
        seed: int = 0,
        batch_size: int = 100,
        cache_dir: Optional[str] = None,
        use_cache: bool = True,
    ):
        if isinstance(metrics, str):
            metrics = [m.strip() for m in metrics.split(",") if m.strip()]
        if not metrics:
            raise ConfigError(f"metrics is empty; choose from: {', '.join(METRICS)}")
        for name in metrics:
            if name not in METRICS:
                raise choose_from("metric", name, METRICS)
        check_positive_int("num_fake", num_fake, "num_fake=10000")
        if num_real is not None:
            check_positive_int("num_real", num_real, "num_real=10000 (or None for the whole split)")
        for name, value, example in (("kid_subsets", kid_subsets, 100), ("kid_subset_size", kid_subset_size, 1000),
                                     ("is_splits", is_splits, 10), ("batch_size", batch_size, 100),
                                     ("pr_k", pr_k, 3), ("dc_k", dc_k, 5)):
            check_positive_int(name, value, f"{name}={example}")
        if split not in ("train", "val", "test"):
            raise choose_from("split", split, ("train", "val", "test"))
        self.metrics = list(dict.fromkeys(metrics))
        self.num_fake, self.num_real, self.split = num_fake, num_real, split
        self.inception_weights, self.classifier_name = inception_weights, classifier
        self.feature, self.antialias = feature, antialias
        self.kid_subsets, self.kid_subset_size, self.is_splits = kid_subsets, kid_subset_size, is_splits
        self.seed, self.batch_size = seed, batch_size
        self.pr_k, self.dc_k = pr_k, dc_k
        self.cache = RealStatsCache(cache_dir, enabled=use_cache)
        self.inception: Optional[nn.Module] = None
        self.classifier: Optional[nn.Module] = None
        self._real_count: Optional[int] = None

    @classmethod
    def from_args(cls, args: argparse.Namespace, **overrides) -> "ImageEvaluator":
        """An evaluator from a command line's parsed options, matched to the arguments above by name.

        Options that are not arguments are ignored; ``overrides`` (e.g. ``use_cache=not args.no_cache``)
        win over the options.
        """
        names = set(inspect.signature(cls).parameters)
        settings = {name: value for name, value in vars(args).items() if name in names}
        return cls(**{**settings, **overrides})

    # ------------------------------------------------------------- set-up
    def uses(self, extractor: str) -> bool:
        """Whether a chosen metric needs ``extractor`` (``inception`` or ``classifier``)."""
        return any(METRICS[m].extractor == extractor for m in self.metrics)

    def check_generator(self, module) -> None:
        """One line when a chosen metric compares classes (``intra_fd_classifier``, ``class_accuracy``) but
        ``module`` is unconditional (``num_classes`` 0): it cannot be asked for samples of a class; or when its
        labels are not the data's classes (``labels_are_classes`` false: a self-conditioned GAN's clusters)."""
        labelled = [m for m in self.metrics if METRICS[m].labels]
        if labelled and not getattr(module, "num_classes", 0):
            raise ConfigError(
                f"metrics {labelled} need a class-conditional generator, but {type(module).__name__} is unconditional; "
                "drop them from metrics, or evaluate a ConditionalGAN, ACGAN or ProjectionGAN"
            )
        if labelled and not getattr(module, "labels_are_classes", True):  # a self-conditioned GAN's clusters
            raise ConfigError(
                f"metrics {labelled} compare generated labels with the data's classes, but {type(module).__name__}'s "
                "labels are clusters it found, not classes; drop them from metrics (fd_classifier, classifier_score, "
                "prdc_classifier and the other metrics of unconditioned samples apply)"
            )

    @property
    def real_count(self) -> int:
        """Real images used (the whole split when ``num_real`` is None); known after :meth:`prepare`."""
        if self._real_count is None:
            raise RuntimeError("real_count is known after prepare(datamodule)")
        return self._real_count

    def _needed(self) -> set[str]:
        return {feature for m in self.metrics for feature in METRICS[m].features}

    def prepare(self, datamodule) -> None:
        """Loads the feature extractors and checks the data; every bad setting fails here, in one line."""
        from ganzoo.metrics.inception import resolve_inception

        shape = tuple(getattr(datamodule, "image_shape", ()) or ())
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise ConfigError(
                f"metrics {self.metrics} need images of 1 or 3 channels, but {type(datamodule).__name__} gives "
                f"samples of shape {tuple(getattr(datamodule, 'data_shape', shape))}; use them with an image datamodule"
            )
        if self.uses("inception") and self.inception is None:
            logits = "inception_logits" in self._needed()
            self.inception = resolve_inception(self.inception_weights, self.feature, self.antialias, logits)
        if self.uses("classifier") and self.classifier is None:
            if self.classifier_name is None:
                needs = [m for m in self.metrics if METRICS[m].extractor == "classifier"]
                raise ConfigError(f"metrics {needs} need a domain classifier; pass classifier=mnist, digits or a file")
            from ganzoo.metrics.domain import load_domain_classifier

            self.classifier = load_domain_classifier(self.classifier_name)
        available = len(split_dataset(datamodule, self.split))
        self._real_count = available if self.num_real is None else self.num_real
        if self._real_count > available:
            raise ConfigError(
                f"num_real {self.num_real} is more than the {available} images of the {self.split} split; "
                f"lower num_real or set it to None for the whole split"
            )
        for name in self.metrics:
            if METRICS[name].check is not None:
                METRICS[name].check(self, datamodule)

    def keys(self, datamodule=None) -> list[str]:
        """The names the values are reported under (``fid_10k_train``, ``is_10k``, ...)."""
        parts = self._key_parts(datamodule)
        return [key for name in self.metrics for key in METRICS[name].keys(parts)]

    def _key_parts(self, datamodule) -> KeyParts:
        full = self.num_real is None or (self._real_count is not None and datamodule is not None
                                         and self._real_count == len(split_dataset(datamodule, self.split)))
        return KeyParts(
            fake=count_label(self.num_fake),
            real=self.split if full else f"{self.split}{count_label(self.num_real)}",
            dims="" if self.feature == 2048 else str(self.feature),
            aa="_aa" if self.antialias else "",
            classifier=self._classifier_label(),
            pr_k=self.pr_k,
            dc_k=self.dc_k,
            classes=int(getattr(datamodule, "num_classes", 0) or 0),
        )

    def _classifier_label(self) -> str:
        if self.classifier is not None:
            return str(getattr(self.classifier, "dataset", "classifier"))
        return str(self.classifier_name or "classifier").rsplit("/", 1)[-1].split(".")[0]

    def protocol(self, datamodule) -> dict:
        """Everything the reported numbers depend on, for the JSON next to them: the settings of
        the metrics computed (:attr:`Metric.settings`), and of no other."""
        import torch_fidelity
        import torchmetrics

        inception = self.inception is not None and self.uses("inception")
        extractors = {}
        if inception:
            extractors["inception"] = self.inception.describe()
        if self.classifier is not None and self.uses("classifier"):
            extractors["classifier"] = describe_classifier(self.classifier)
        settings: dict = {}
        for name in self.metrics:
            if METRICS[name].settings is not None:
                settings.update(METRICS[name].settings(self))
        versions = {"torchmetrics": torchmetrics.__version__}
        if inception:
            versions["torch_fidelity"] = torch_fidelity.__version__
        return {
            "metrics": self.metrics,
            "keys": self.keys(datamodule),
            "dataset": type(datamodule).__name__,
            "image_shape": list(getattr(datamodule, "image_shape", ())),
            "split": self.split,
            "num_real": self._real_count,
            "num_fake": self.num_fake,
            "feature_extractors": extractors,
            "to_bytes": "round((x + 1) * 127.5), clamped to [0, 255]" + ("; 1 channel repeated to 3 for InceptionV3"
                                                                         if inception else ""),
            **settings,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "world_size": world()[1],
            "versions": versions,
        }

    # ---------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self, sample_fn: SampleFn, datamodule, device="cpu") -> dict[str, float]:
        """The metrics of the images ``sample_fn`` draws; a dict keyed by :meth:`keys`."""
        self.prepare(datamodule)
        device = torch.device(device)
        for net in (self.inception, self.classifier):
            if net is not None:
                net.to(device)
        real = self._real_statistics(datamodule, device)
        fake = self._fake_features(sample_fn, datamodule, device)
        parts = self._key_parts(datamodule)
        out: dict[str, float] = {}
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            torch.manual_seed(self.seed)  # KID's subsets and IS's shuffle, without touching training's RNG
            # torchmetrics warns that KID and IS keep every feature: they are given, and counted
            warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer")
            warnings.filterwarnings("ignore", message=".*degrees of freedom is <= 0")  # the std of one IS split
            for name in self.metrics:
                metric = METRICS[name]
                given = metric.reference(self, datamodule, device) if metric.reference else real.get(metric.real_kind)
                values = metric.compute(MetricInput(self, fake, given))
                out.update(zip(metric.keys(parts), values))
        return out

    def _features(self, images: Tensor, needed: Optional[set[str]] = None) -> dict[str, Tensor]:
        """The named features (:data:`FEATURES`) the metrics need (or those ``needed``), of images in
        [-1, 1] ``(N, C, H, W)``, after rounding them to bytes."""
        needed = self._needed() if needed is None else needed
        pixels = to_uint8(images)
        out = {}
        if self.inception is not None and needed & {"inception_pool", "inception_logits"}:
            rgb = pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels
            pool, logits = self.inception(rgb)
            out.update({"inception_pool": pool, "inception_logits": logits})
        if self.classifier is not None:
            scaled = pixels.float() / 127.5 - 1
            if "classifier_features" in needed:
                # Stacked MNIST through an MNIST classifier: each channel is one digit
                per_channel = scaled.shape[1] != self.classifier.image_shape[0]
                features = self.classifier.features
                out["classifier_features"] = _per_channel(features, scaled) if per_channel else features(scaled)
            if "classifier_probs" in needed:
                out["classifier_probs"] = self.classifier.probs(scaled)
        out["pixels"] = pixels
        return {name: value for name, value in out.items() if name in needed}

    def _real_description(self, datamodule, kind: str, fingerprint: str) -> dict:
        extractor = self.inception.describe() if kind.endswith("inception") else describe_classifier(self.classifier)
        return {
            "kind": kind,
            "dataset": type(datamodule).__name__,
            "fingerprint": fingerprint,
            "split": self.split,
            "num_real": self._real_count,
            "extractor": extractor,
        }

    def _real_statistics(self, datamodule, device) -> dict[str, dict[str, Tensor]]:
        kinds = list(dict.fromkeys(METRICS[m].real_kind for m in self.metrics if METRICS[m].real_kind))
        fingerprint = dataset_fingerprint(split_dataset(datamodule, self.split)) if kinds else ""
        descriptions = {k: self._real_description(datamodule, k, fingerprint) for k in kinds}
        present = all(self.cache.exists(k, d) for k, d in descriptions.items())
        stats = {k: self.cache.load(k, d) for k, d in descriptions.items()} if present else {}
        # decided together, so that either every process uses the cache or every one computes
        if kinds and not all_true(present and all(v is not None for v in stats.values()), device):
            if not present:
                self.cache.misses += len(kinds)
            stats = self._compute_real(datamodule, device)
            if world()[0] == 0:
                for kind in kinds:
                    self.cache.save(kind, descriptions[kind], stats[kind])
        return stats

    def _compute_real(self, datamodule, device) -> dict[str, dict[str, Tensor]]:
        """Each chosen metric's real statistics, by :attr:`Metric.real_kind`, from its first feature."""
        dataset = split_dataset(datamodule, self.split)
        rank, size = world()
        sizes = chunk_sizes(self._real_count, self.batch_size)
        local: dict[int, dict[str, Tensor]] = {}
        for c in range(rank, len(sizes), size):
            start = c * self.batch_size
            images = torch.stack([_image(dataset[i]) for i in range(start, start + sizes[c])]).to(device)
            local[c] = self._features(images)
        features = gather_chunks(local, sizes, device)
        stats = {}
        for metric in (METRICS[m] for m in self.metrics if METRICS[m].real_kind):
            rows = features[metric.features[0]]
            stats[metric.real_kind] = {"features": rows.float()} if metric.real == "features" else mean_cov_sums(rows)
        return stats

    def _fake_features(self, sample_fn: SampleFn, datamodule, device) -> dict[str, Tensor]:
        rank, size = world()
        sizes = chunk_sizes(self.num_fake, self.batch_size)
        num_classes = int(getattr(datamodule, "num_classes", 0) or 0)
        shape = tuple(datamodule.image_shape)
        with_labels = any(METRICS[m].labels for m in self.metrics)
        local: dict[int, dict[str, Tensor]] = {}
        for c in range(rank, len(sizes), size):
            n = sizes[c]
            labels = (torch.arange(n) + c * self.batch_size) % num_classes if with_labels else None  # balanced
            seed = int(np.random.SeedSequence([self.seed, c]).generate_state(1)[0])
            images = sample_fn(n, seed, labels)
            if tuple(images.shape) != (n, *shape):
                raise ConfigError(f"the generator gave samples of shape {tuple(images.shape)}; expected ({n}, {', '.join(map(str, shape))})")
            local[c] = self._features(images.to(device))
            if labels is not None:
                local[c]["labels"] = labels.to(device)
        return gather_chunks(local, sizes, device)


def describe_classifier(classifier: nn.Module) -> dict:
    """What a domain classifier's numbers depend on: its data, input size and (a hash of) its weights."""
    if hasattr(classifier, "describe"):
        return classifier.describe()
    digest = hashlib.sha256()
    for name, tensor in sorted(classifier.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return {
        "extractor": f"ganzoo domain classifier ({getattr(classifier, 'dataset', '?')})",
        "image_shape": list(getattr(classifier, "image_shape", ())),
        "num_features": getattr(classifier, "num_features", None),
        "test_accuracy": getattr(classifier, "test_accuracy", None),
        "weights_sha256": digest.hexdigest()[:16],
    }


def _image(item) -> Tensor:
    return item[0] if isinstance(item, (tuple, list)) else item


def _per_channel(fn, images: Tensor) -> Tensor:
    """``fn`` on each channel as a grey image, features concatenated: ``(N, C * F)``."""
    return torch.cat([fn(images[:, c : c + 1]) for c in range(images.shape[1])], dim=1)
