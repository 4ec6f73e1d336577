"""The registry of image metrics: every entry measures a tiny case, a new entry is one function,
and the callback and ``ganzoo evaluate`` take the evaluator's settings once."""
import math

import pytest
import torch

from ganzoo import ImageMetrics
from ganzoo.errors import ConfigError
from ganzoo.metrics.evaluator import METRICS, ImageEvaluator
from ganzoo.metrics.registry import FEATURES, REAL_STATISTICS, register_metric

N = 4  # InceptionV3 costs ~0.2 s an image on one CPU core
#: grey digits for the digits classifier, but three of them stacked where a metric asks for Stacked MNIST
CHANNELS = {"stacked_modes": 3}


class _Labelled:
    """A datamodule of N labelled 16 px images in 2 classes (two of each, for per-class metrics), and N held out."""

    def __init__(self, channels=1):
        g = torch.Generator().manual_seed(0)
        images = torch.rand(2 * N, channels, 16, 16, generator=g) * 2 - 1
        self.image_shape, self.num_classes = (channels, 16, 16), 2
        labels = torch.arange(2 * N) % 2
        self.splits = {"train": list(zip(images[:N], labels[:N])), "test": list(zip(images[N:], labels[N:]))}


def _sampler(channels):
    return lambda n, seed, labels: torch.rand(n, channels, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _tiny(metric, weights, tmp_path):
    return ImageEvaluator([metric], num_fake=N, num_real=N, batch_size=3, kid_subsets=2, kid_subset_size=3,
                          is_splits=2, pr_k=2, dc_k=3, inception_weights=str(weights), classifier="digits",
                          cache_dir=str(tmp_path))


@pytest.mark.parametrize("name", list(METRICS))
def test_every_registered_metric_gives_its_keys_and_finite_values(name, random_inception_weights, tmp_path):
    metric = METRICS[name]
    assert set(metric.features) <= set(FEATURES) and metric.real in (None, *REAL_STATISTICS)
    channels = CHANNELS.get(name, 1)
    evaluator = _tiny(name, random_inception_weights, tmp_path)
    values = evaluator.evaluate(_sampler(channels), _Labelled(channels))
    assert list(values) == evaluator.keys(_Labelled(channels)) and values
    assert all(math.isfinite(v) for v in values.values()), values
    if metric.real is not None:  # its real statistics were cached under their kind, and are read back
        again = _tiny(name, random_inception_weights, tmp_path)
        assert again.evaluate(_sampler(channels), _Labelled(channels)) == values and again.cache.hits == 1
    if metric.reference is not None:  # the real rows it reads (one split or two) come back from the cache
        again = _tiny(name, random_inception_weights, tmp_path)
        assert again.evaluate(_sampler(channels), _Labelled(channels)) == values
        assert again.cache.hits >= 1 and again.cache.misses == 0


@pytest.fixture
def mean_brightness():
    @register_metric("mean_brightness", features=("pixels",), keys=lambda p: [f"mean_brightness_{p.fake}"])
    def compute(run):
        return [float(run.fake["pixels"].float().mean() / 255)]

    yield compute
    del METRICS["mean_brightness"]


def test_a_new_metric_is_one_entry(mean_brightness, tmp_path):
    grey = lambda n, seed, labels: torch.zeros(n, 1, 16, 16)  # noqa: E731 - 0.0 is byte 128
    values = ImageEvaluator(["mean_brightness", "mean_brightness"], num_fake=4, batch_size=3).evaluate(grey, _Labelled())
    assert values == {"mean_brightness_4": pytest.approx(128 / 255)}
    with pytest.raises(ConfigError, match="metric 'mean_brightness' is already registered"):
        register_metric("mean_brightness", features=("pixels",), keys=lambda p: [])(mean_brightness)


def test_an_entry_with_an_unknown_feature_is_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"metric 'x': features \['pool'\] or real 'sums' unknown; choose features"):
        register_metric("x", features=("pool",), real="sums", keys=lambda p: [])
    assert "x" not in METRICS


def test_the_callback_and_the_command_build_the_same_evaluator_from_the_same_settings():
    from ganzoo.evaluate import parser

    settings = dict(metrics=["fid", "kid"], num_fake=500, num_real=300, split="val", feature=768, antialias=True,
                    kid_subsets=5, kid_subset_size=50, is_splits=3, seed=7, batch_size=25, cache_dir="/tmp/stats")
    args = parser().parse_args(["run.ckpt", "--metrics", "fid", "kid", "--num_fake", "500", "--num_real", "300",
                                "--split", "val", "--feature", "768", "--antialias", "--kid_subsets", "5",
                                "--kid_subset_size", "50", "--is_splits", "3", "--seed", "7", "--batch_size", "25",
                                "--cache_dir", "/tmp/stats"])
    from_command = ImageEvaluator.from_args(args, use_cache=not args.no_cache)
    from_callback = ImageMetrics(every_n_steps=10, **settings).evaluator
    described = lambda e: {k: v for k, v in vars(e).items() if k != "cache"}  # noqa: E731
    assert described(from_command) == described(from_callback) == described(ImageEvaluator(**settings))
    assert from_command.cache.dir == from_callback.cache.dir and from_command.cache.enabled


def test_the_command_has_an_option_for_every_evaluator_argument():
    import inspect

    from ganzoo.evaluate import parser

    options = vars(parser().parse_args(["run.ckpt"]))
    arguments = set(inspect.signature(ImageEvaluator).parameters) - {"use_cache"}  # given as --no_cache
    assert arguments <= set(options) and "no_cache" in options


def test_the_callback_takes_an_evaluator_or_its_settings_not_both():
    evaluator = ImageEvaluator(["kid"], num_fake=20)
    assert ImageMetrics(evaluator=evaluator).evaluator is evaluator
    with pytest.raises(ConfigError, match=r"give evaluator or its settings \(num_fake\), not both"):
        ImageMetrics(evaluator=evaluator, num_fake=10)


def test_a_config_file_gives_the_callback_its_settings_flat_or_an_evaluator():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_argument("--callback", type=ImageMetrics)
    flat = {"class_path": "ganzoo.ImageMetrics", "init_args": {"every_n_steps": 3, "metrics": ["kid"], "num_fake": 20}}
    nested = {"class_path": "ganzoo.ImageMetrics", "init_args": {"every_n_steps": 3, "evaluator": {
        "class_path": "ganzoo.ImageEvaluator", "init_args": {"metrics": ["kid"], "num_fake": 20}}}}
    for spec in (flat, nested):
        callback = parser.instantiate_classes(parser.parse_object({"callback": spec})).callback
        assert (callback.evaluator.metrics, callback.evaluator.num_fake, callback.every_n_steps) == (["kid"], 20, 3)
