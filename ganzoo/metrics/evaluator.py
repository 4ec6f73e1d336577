"""FID, KID, IS and the domain-classifier metrics of a generator, on a stated protocol.

:class:`ImageEvaluator` draws ``num_fake`` samples, pushes them and ``num_real`` real
images of one split through the feature extractors once, and hands the features to
torchmetrics (``FrechetInceptionDistance``, ``KernelInceptionDistance``,
``InceptionScore``); nothing here re-implements a metric. The key of each value names
its protocol, stylegan2 fashion: ``fid_10k_train`` is 10,000 generated images against
the whole training split, ``fid_10k_train5k`` against its first 5,000.

Images go to bytes by rounding (``round((x + 1) * 127.5)``, as saving a PNG would),
one channel is repeated to three for InceptionV3, and the resize to 299 px is stated
(``antialias``). Real statistics are cached on disk (:mod:`ganzoo.metrics.real_stats`).

Under DDP every process extracts its share: sample chunk c (``batch_size`` samples,
latent codes seeded by ``(seed, c)``) goes to process ``c % world_size``, real image i to
the process of its chunk, so each image is counted once (no sampler padding), and the
gathered features are put back in chunk order. The result is the same on one process or
many, and every process returns it.
"""
from __future__ import annotations

import hashlib
import warnings
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from ganzoo.errors import ConfigError, check_positive_int, choose_from
from ganzoo.metrics.real_stats import RealStatsCache, dataset_fingerprint
from ganzoo.viz import to_uint8

#: metric name -> the features it needs ("inception" or the domain "classifier").
METRICS = {
    "fid": "inception",
    "kid": "inception",
    "is": "inception",
    "fd_classifier": "classifier",
    "classifier_score": "classifier",
    "class_accuracy": "classifier",
    "stacked_modes": "classifier",
}

#: ``sample_fn(n, seed, labels)``: n images in [-1, 1] ``(n, C, H, W)``; ``labels`` (n,) or None.
SampleFn = Callable[[int, int, Optional[Tensor]], Tensor]


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

    Args:
        metrics: names from :data:`METRICS`: ``fid``, ``kid``, ``is`` (InceptionV3);
            ``fd_classifier`` (Fréchet distance in the domain classifier's features),
            ``classifier_score`` (the Inception Score's formula with it),
            ``class_accuracy`` (conditional GANs: how often a sample shows its requested
            class), ``stacked_modes`` (Stacked MNIST: modes covered of 1,000, KL to uniform).
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
        seed: seed of the latent codes, the labels' order and KID/IS's subsets.
        batch_size: images per forward pass (and per seeded chunk of codes).
        cache_dir: folder of the real-statistics cache; ``None``: ``$GANZOO_CACHE/real_stats``,
            else ``~/.cache/ganzoo/real_stats``.
        use_cache: read and write that cache.
    """

    def __init__(
        self,
        metrics: Sequence[str] = ("fid",),
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
                                     ("is_splits", is_splits, 10), ("batch_size", batch_size, 100)):
            check_positive_int(name, value, f"{name}={example}")
        if split not in ("train", "val", "test"):
            raise choose_from("split", split, ("train", "val", "test"))
        self.metrics = list(dict.fromkeys(metrics))
        self.num_fake, self.num_real, self.split = num_fake, num_real, split
        self.inception_weights, self.classifier_name = inception_weights, classifier
        self.feature, self.antialias = feature, antialias
        self.kid_subsets, self.kid_subset_size, self.is_splits = kid_subsets, kid_subset_size, is_splits
        self.seed, self.batch_size = seed, batch_size
        self.cache = RealStatsCache(cache_dir, enabled=use_cache)
        self.inception: Optional[nn.Module] = None
        self.classifier: Optional[nn.Module] = None
        self._real_count: Optional[int] = None

    # ------------------------------------------------------------- set-up
    def uses(self, extractor: str) -> bool:
        return any(METRICS[m] == extractor for m in self.metrics)

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
            self.inception = resolve_inception(self.inception_weights, self.feature, self.antialias, "is" in self.metrics)
        if self.uses("classifier") and self.classifier is None:
            if self.classifier_name is None:
                needs = [m for m in self.metrics if METRICS[m] == "classifier"]
                raise ConfigError(f"metrics {needs} need a domain classifier; pass classifier=mnist, digits or a file")
            from ganzoo.metrics.domain import load_domain_classifier

            self.classifier = load_domain_classifier(self.classifier_name)
        if "class_accuracy" in self.metrics and not getattr(datamodule, "num_classes", 0):
            raise ConfigError(f"class_accuracy needs labelled data; {type(datamodule).__name__} has no classes")
        if "stacked_modes" in self.metrics and shape[0] != 3:
            raise ConfigError(f"stacked_modes needs 3-channel Stacked MNIST images, got image shape {shape}")
        available = len(split_dataset(datamodule, self.split))
        self._real_count = available if self.num_real is None else self.num_real
        if self._real_count > available:
            raise ConfigError(
                f"num_real {self.num_real} is more than the {available} images of the {self.split} split; "
                f"lower num_real or set it to None for the whole split"
            )
        if "kid" in self.metrics and self.kid_subset_size > min(self.num_fake, self._real_count):
            raise ConfigError(
                f"kid_subset_size {self.kid_subset_size} is more than the {min(self.num_fake, self._real_count)} "
                f"images on one side; lower kid_subset_size or raise num_fake/num_real"
            )

    def keys(self, datamodule=None) -> list[str]:
        """The names the values are reported under (``fid_10k_train``, ``is_10k``, ...)."""
        fake = count_label(self.num_fake)
        full = self.num_real is None or (self._real_count is not None and datamodule is not None
                                         and self._real_count == len(split_dataset(datamodule, self.split)))
        real = self.split if full else f"{self.split}{count_label(self.num_real)}"
        dims = "" if self.feature == 2048 else str(self.feature)
        aa = "_aa" if self.antialias else ""
        name = self._classifier_label()
        table = {
            "fid": [f"fid{dims}_{fake}_{real}{aa}"],
            "kid": [f"kid{dims}_{fake}_{real}{aa}", f"kid{dims}_{fake}_{real}{aa}_std"],
            "is": [f"is_{fake}{aa}", f"is_{fake}{aa}_std"],
            "fd_classifier": [f"fd_{name}_{fake}_{real}"],
            "classifier_score": [f"classifier_score_{fake}", f"classes_covered_{fake}"],
            "class_accuracy": [f"class_accuracy_{fake}"],
            "stacked_modes": [f"modes_covered_{fake}", f"mode_kl_{fake}"],
        }
        return [key for metric in self.metrics for key in table[metric]]

    def _classifier_label(self) -> str:
        if self.classifier is not None:
            return str(getattr(self.classifier, "dataset", "classifier"))
        return str(self.classifier_name or "classifier").rsplit("/", 1)[-1].split(".")[0]

    def protocol(self, datamodule) -> dict:
        """Everything a reported number depends on, for the JSON next to it."""
        import torch_fidelity
        import torchmetrics

        extractors = {}
        if self.inception is not None:
            extractors["inception"] = self.inception.describe()
        if self.classifier is not None:
            extractors["classifier"] = describe_classifier(self.classifier)
        world = _world()
        return {
            "metrics": self.metrics,
            "keys": self.keys(datamodule),
            "dataset": type(datamodule).__name__,
            "image_shape": list(getattr(datamodule, "image_shape", ())),
            "split": self.split,
            "num_real": self._real_count,
            "num_fake": self.num_fake,
            "feature_extractors": extractors,
            "to_bytes": "round((x + 1) * 127.5), clamped to [0, 255]; 1 channel repeated to 3 for InceptionV3",
            "kid": {"subsets": self.kid_subsets, "subset_size": self.kid_subset_size},
            "is_splits": self.is_splits,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "world_size": world[1],
            "versions": {"torchmetrics": torchmetrics.__version__, "torch_fidelity": torch_fidelity.__version__},
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
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            torch.manual_seed(self.seed)  # KID's subsets and IS's shuffle, without touching training's RNG
            # torchmetrics warns that KID and IS keep every feature: they are given, and counted
            warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer")
            warnings.filterwarnings("ignore", message=".*degrees of freedom is <= 0")  # the std of one IS split
            return self._compute(real, fake, datamodule)

    def _features(self, images: Tensor) -> dict[str, Tensor]:
        """Features of images in [-1, 1] ``(N, C, H, W)``, after rounding them to bytes."""
        pixels = to_uint8(images)
        out = {}
        if self.inception is not None:
            rgb = pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels
            out["inception_pool"], logits = self.inception(rgb)
            if "is" in self.metrics:
                out["inception_logits"] = logits
        if self.classifier is not None:
            scaled = pixels.float() / 127.5 - 1
            if "fd_classifier" in self.metrics:
                # Stacked MNIST through an MNIST classifier: each channel is one digit
                per_channel = scaled.shape[1] != self.classifier.image_shape[0]
                out["classifier_features"] = (
                    _per_channel(self.classifier.features, scaled) if per_channel else self.classifier.features(scaled)
                )
            if {"classifier_score", "class_accuracy"} & set(self.metrics):
                out["classifier_probs"] = self.classifier.probs(scaled)
            if "stacked_modes" in self.metrics:
                out["pixels"] = pixels
        return out

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
        needed = {"fid": "fid-inception", "kid": "kid-inception", "fd_classifier": "fid-classifier"}
        kinds = [needed[m] for m in self.metrics if m in needed]
        fingerprint = dataset_fingerprint(split_dataset(datamodule, self.split)) if kinds else ""
        descriptions = {k: self._real_description(datamodule, k, fingerprint) for k in kinds}
        present = all(self.cache.exists(k, d) for k, d in descriptions.items())
        stats = {k: self.cache.load(k, d) for k, d in descriptions.items()} if present else {}
        # decided together, so that either every process uses the cache or every one computes
        if kinds and not _all_true(present and all(v is not None for v in stats.values()), device):
            if not present:
                self.cache.misses += len(kinds)
            stats = self._compute_real(datamodule, kinds, device)
            if _world()[0] == 0:
                for kind in kinds:
                    self.cache.save(kind, descriptions[kind], stats[kind])
        return stats

    def _compute_real(self, datamodule, kinds: list[str], device) -> dict[str, dict[str, Tensor]]:
        from torchmetrics.image.fid import FrechetInceptionDistance

        dataset = split_dataset(datamodule, self.split)
        rank, world = _world()
        sizes = _chunk_sizes(self._real_count, self.batch_size)
        local: dict[int, dict[str, Tensor]] = {}
        for c in range(rank, len(sizes), world):
            start = c * self.batch_size
            images = torch.stack([_image(dataset[i]) for i in range(start, start + sizes[c])]).to(device)
            local[c] = self._features(images)
        features = _gather_chunks(local, sizes, device)
        stats = {}
        for kind in kinds:
            name = "inception_pool" if kind.endswith("inception") else "classifier_features"
            if kind.startswith("kid"):
                stats[kind] = {"features": features[name].float()}
                continue
            fid = FrechetInceptionDistance(_Given(features[name].shape[1]), sync_on_compute=False).to(device)
            for chunk in features[name].split(1000):
                fid.update(chunk, real=True)
            stats[kind] = {"sum": fid.real_features_sum, "cov_sum": fid.real_features_cov_sum,
                           "n": fid.real_features_num_samples}
        return stats

    def _fake_features(self, sample_fn: SampleFn, datamodule, device) -> dict[str, Tensor]:
        rank, world = _world()
        sizes = _chunk_sizes(self.num_fake, self.batch_size)
        num_classes = int(getattr(datamodule, "num_classes", 0) or 0)
        shape = tuple(datamodule.image_shape)
        local: dict[int, dict[str, Tensor]] = {}
        for c in range(rank, len(sizes), world):
            n = sizes[c]
            labels = None
            if "class_accuracy" in self.metrics:  # balanced: every class equally often
                labels = (torch.arange(n) + c * self.batch_size) % num_classes
            seed = int(np.random.SeedSequence([self.seed, c]).generate_state(1)[0])
            images = sample_fn(n, seed, labels)
            if tuple(images.shape) != (n, *shape):
                raise ConfigError(f"the generator gave samples of shape {tuple(images.shape)}; expected ({n}, {', '.join(map(str, shape))})")
            local[c] = self._features(images.to(device))
            if labels is not None:
                local[c]["labels"] = labels.to(device)
        return _gather_chunks(local, sizes, device)

    def _compute(self, real: dict, fake: dict[str, Tensor], datamodule) -> dict[str, float]:
        from torchmetrics.image.inception import InceptionScore
        from torchmetrics.image.kid import KernelInceptionDistance

        from ganzoo.metrics.classifier import classifier_metrics

        keys = iter(self.keys(datamodule))
        out: dict[str, float] = {}
        for metric in self.metrics:
            if metric in ("fid", "fd_classifier"):
                kind, name = ("fid-inception", "inception_pool") if metric == "fid" else ("fid-classifier", "classifier_features")
                out[next(keys)] = frechet_distance(real[kind], fake[name])
            elif metric == "kid":
                kid = KernelInceptionDistance(_Given(self.feature), subsets=self.kid_subsets,
                                              subset_size=self.kid_subset_size, sync_on_compute=False)
                kid.update(real["kid-inception"]["features"].to(fake["inception_pool"].device), real=True)
                kid.update(fake["inception_pool"].float(), real=False)
                mean, std = kid.compute()
                out[next(keys)], out[next(keys)] = float(mean), float(std)
            elif metric == "is":
                score = InceptionScore(_Given(fake["inception_logits"].shape[1]), splits=self.is_splits, sync_on_compute=False)
                score.update(fake["inception_logits"].double())
                mean, std = score.compute()  # the std of one split is 0 (torch-fidelity), not NaN
                out[next(keys)], out[next(keys)] = float(mean), float(std) if self.is_splits > 1 else 0.0
            elif metric == "classifier_score":
                values = classifier_metrics(fake["classifier_probs"].double().cpu().numpy())
                out[next(keys)], out[next(keys)] = values["classifier_score"], values["classes_covered"]
            elif metric == "class_accuracy":
                from ganzoo.metrics.domain import conditional_accuracy

                out[next(keys)] = float(conditional_accuracy(fake["classifier_probs"], fake["labels"]))
            elif metric == "stacked_modes":
                from ganzoo.metrics.domain import stacked_mnist_modes

                modes = stacked_mnist_modes(self.classifier, fake["pixels"].float() / 127.5 - 1)
                out[next(keys)], out[next(keys)] = float(modes["modes_covered"]), float(modes["mode_kl"])
        return out


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


def frechet_distance(real: dict[str, Tensor], fake_features: Tensor) -> float:
    """torchmetrics' FID from real sums (``sum``, ``cov_sum``, ``n``) and fake features ``(N, D)``."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    device = fake_features.device
    fid = FrechetInceptionDistance(_Given(fake_features.shape[1]), sync_on_compute=False).to(device)
    fid.real_features_sum = real["sum"].to(device, torch.float64)
    fid.real_features_cov_sum = real["cov_sum"].to(device, torch.float64)
    fid.real_features_num_samples = real["n"].to(device)
    for chunk in fake_features.split(1000):
        fid.update(chunk.float(), real=False)
    return float(fid.compute())


def _chunk_sizes(total: int, batch_size: int) -> list[int]:
    return [min(batch_size, total - start) for start in range(0, total, batch_size)]


def _image(item) -> Tensor:
    return item[0] if isinstance(item, (tuple, list)) else item


def _per_channel(fn, images: Tensor) -> Tensor:
    """``fn`` on each channel as a grey image, features concatenated: ``(N, C * F)``."""
    return torch.cat([fn(images[:, c : c + 1]) for c in range(images.shape[1])], dim=1)


# ---------------------------------------------------------------- processes
def _world() -> tuple[int, int]:
    """(rank, world size) of the default process group, (0, 1) without one."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _all_true(flag: bool, device) -> bool:
    rank, world = _world()
    if world == 1:
        return flag
    value = torch.tensor([int(flag)], device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MIN)
    return bool(value.item())


def _gather_chunks(local: dict[int, dict[str, Tensor]], chunk_sizes: list[int], device) -> dict[str, Tensor]:
    """Each name's per-sample rows from every process, in chunk order (chunk c lives on rank c % world)."""
    rank, world = _world()
    if world == 1:
        names = local[0].keys()
        return {name: torch.cat([local[c][name] for c in range(len(chunk_sizes))]) for name in names}
    everyone: list = [None] * world
    torch.distributed.all_gather_object(everyone, sorted(local[rank].keys()) if local else None)
    names = next(n for n in everyone if n is not None)
    out = {}
    for name in names:
        mine = torch.cat([local[c][name] for c in sorted(local)]) if local else None
        chunks: dict[int, Tensor] = {}
        for r, block in enumerate(_gather_rows(mine, device)):
            owned = list(range(r, len(chunk_sizes), world))
            chunks.update(zip(owned, block.split([chunk_sizes[c] for c in owned])))
        out[name] = torch.cat([chunks[c] for c in range(len(chunk_sizes))])
    return out


def _gather_rows(mine: Optional[Tensor], device) -> list[Tensor]:
    """Every process's tensor (rows may differ in number; ``None`` where a process has none)."""
    rank, world = _world()
    meta = None if mine is None else (tuple(mine.shape), str(mine.dtype).replace("torch.", ""))
    metas: list = [None] * world
    torch.distributed.all_gather_object(metas, meta)
    shape, dtype = next(m for m in metas if m is not None)
    rows = [m[0][0] if m is not None else 0 for m in metas]
    buffer = torch.zeros((max(rows), *shape[1:]), dtype=getattr(torch, dtype), device=device)
    if mine is not None:
        buffer[: mine.shape[0]] = mine.to(device)
    gathered = [torch.empty_like(buffer) for _ in range(world)]
    torch.distributed.all_gather(gathered, buffer)
    return [block[:n] for block, n in zip(gathered, rows)]
