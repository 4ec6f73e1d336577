"""FID, KID and IS: parity with torch-fidelity and scipy, key names, bytes, the real-statistics cache."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch
import torch_fidelity
from torch import nn
from torch.utils.data import Dataset

from ganzoo.errors import ConfigError
from ganzoo.metrics.evaluator import ImageEvaluator, count_label, frechet_distance
from metric_helpers import TinyFeatures

N = 12  # InceptionV3 costs ~0.2 s an image on one of these CPU cores


class _Bytes(Dataset):
    """uint8 (3, H, W) images, the input torch-fidelity takes."""

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


class _Images:
    """The smallest datamodule the evaluator reads: image_shape, num_classes and splits."""

    def __init__(self, images, labels=None, **more_splits):
        self.image_shape = tuple(images.shape[1:])
        self.num_classes = 10 if labels is not None else 0
        labels = labels if labels is not None else torch.zeros(len(images), dtype=torch.long)
        self.splits = {"train": list(zip(images, labels)), **more_splits}


def _u8(images):
    return ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def _from_list(images, batch_size):
    chunks = iter(images.split(batch_size))
    return lambda n, seed, labels: next(chunks)


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(N, 1, 16, 16, generator=g) * 2 - 1
    fake = nn.functional.interpolate(torch.rand(N, 1, 4, 4, generator=g), size=16, mode="bilinear") * 2 - 1
    return real, fake


def test_fid_kid_is_equal_torch_fidelity_on_the_same_images_and_weights(images, random_inception_weights):
    real, fake = images
    evaluator = ImageEvaluator(["fid", "kid", "is"], num_fake=N, num_real=N, batch_size=6, kid_subsets=1,
                               kid_subset_size=N, is_splits=1, inception_weights=str(random_inception_weights),
                               use_cache=False)
    ours = evaluator.evaluate(_from_list(fake, 6), _Images(real))
    rgb = lambda x: _u8(x).expand(-1, 3, -1, -1).contiguous()  # noqa: E731 - one channel repeated, as ganzoo does
    theirs = torch_fidelity.calculate_metrics(
        input1=_Bytes(rgb(fake)), input2=_Bytes(rgb(real)), cuda=False, fid=True, kid=True, isc=True,
        feature_extractor_weights_path=str(random_inception_weights), kid_subsets=1, kid_subset_size=N,
        isc_splits=1, batch_size=6, cache=False, verbose=False, save_cpu_ram=True,
    )
    assert theirs["frechet_inception_distance"] > 1  # the random features are not degenerate
    assert theirs["inception_score_mean"] > 1.05
    assert ours["fid_12_train"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-3)
    assert ours["kid_12_train"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-3)
    assert ours["is_12"] == pytest.approx(theirs["inception_score_mean"], rel=1e-3)
    assert ours["is_12_std"] == 0.0


def test_frechet_distance_equals_scipy_reference():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    fake = rng.normal(loc=0.5, size=(300, 6)) @ rng.normal(size=(6, 6))
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    reference = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    real_t = torch.tensor(real)
    stats = {"sum": real_t.sum(0), "cov_sum": real_t.T @ real_t, "n": torch.tensor(len(real))}
    assert frechet_distance(stats, torch.tensor(fake, dtype=torch.float32)) == pytest.approx(reference, rel=1e-4)


@pytest.mark.parametrize(
    "kwargs, keys",
    [
        (dict(metrics=["fid", "kid", "is"], num_fake=10_000), ["fid_10k_train", "kid_10k_train", "kid_10k_train_std",
                                                             "is_10k", "is_10k_std"]),
        (dict(metrics="fid", num_fake=50_000, num_real=5000, split="test"), ["fid_50k_test5k"]),
        (dict(metrics="fid", num_fake=2500, feature=768, antialias=True), ["fid768_2500_train_aa"]),
        (dict(metrics=["classifier_score", "fd_classifier"], classifier="mnist", num_fake=1000),
         ["classifier_score_1k", "classes_covered_1k", "fd_mnist_1k_train"]),
    ],
)
def test_keys_name_the_protocol(kwargs, keys):
    assert ImageEvaluator(**kwargs).keys() == keys


def test_counts_in_keys():
    assert [count_label(n) for n in (10_000, 50_000, 1000, 2500, 12)] == ["10k", "50k", "1k", "2500", "12"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(metrics=["fid", "fidd"]), "unknown metric 'fidd'; choose one of"),
        (dict(metrics=[]), "metrics is empty"),
        (dict(num_fake=0), "num_fake must be a positive integer, got 0"),
        (dict(split="training"), "unknown split 'training'; choose one of: test, train, val"),
        (dict(kid_subset_size=-5), "kid_subset_size must be a positive integer, got -5"),
    ],
)
def test_bad_settings_fail_in_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message) as err:
        ImageEvaluator(**kwargs)
    assert "\n" not in str(err.value)


def test_settings_that_do_not_fit_the_data_fail_before_any_image_is_generated(images):
    real, _ = images
    tiny = dict(inception_weights=None, use_cache=False)
    for kwargs, message in [
        (dict(metrics=["fid"], num_real=100), "num_real 100 is more than the 12 images of the train split"),
        (dict(metrics=["kid"], num_fake=20, kid_subset_size=50), "kid_subset_size 50 is more than the 12 images"),
        (dict(metrics=["class_accuracy"], classifier="mnist"), "class_accuracy needs labelled data"),
    ]:
        evaluator = ImageEvaluator(**kwargs, **tiny)
        evaluator.inception = TinyFeatures()
        evaluator.classifier = nn.Identity()
        with pytest.raises(ConfigError, match=message):
            evaluator.prepare(_Images(real))
    vectors = type("Vectors", (), {"data_shape": (2,), "image_shape": ()})()
    with pytest.raises(ConfigError, match=r"need images of 1 or 3 channels, but Vectors gives samples of shape \(2,\)"):
        ImageEvaluator(["fid"]).prepare(vectors)


def test_images_are_rounded_to_bytes_and_grey_repeated_to_rgb():
    evaluator = ImageEvaluator(["fid"], num_fake=2, num_real=2, use_cache=False)
    seen = []
    evaluator.inception = lambda x: (seen.append(x), (x.float().flatten(1), None))[1]
    # 0.0 -> 127.5 rounds to 128 (truncation would give 127); -1 -> 0; 1 -> 255
    values = torch.tensor([-1.0, 0.0, 1.0, 2 / 255 - 1 + 0.003]).view(1, 1, 2, 2)
    evaluator._features(values)
    assert seen[0].dtype == torch.uint8 and seen[0].shape == (1, 3, 2, 2)
    assert seen[0][0, :, 0, 0].tolist() == [0, 0, 0]
    assert seen[0][0, 0].flatten().tolist() == [0, 128, 255, 1]
    assert torch.equal(seen[0][:, 0], seen[0][:, 2])


def _tiny_evaluator(cache_dir, **kwargs):
    settings = dict(metrics=["fid", "kid"], num_fake=N, num_real=N, batch_size=4, kid_subset_size=6, kid_subsets=3,
                    cache_dir=str(cache_dir))
    settings.update(kwargs)
    evaluator = ImageEvaluator(**settings)
    evaluator.inception = TinyFeatures()
    return evaluator


def test_real_statistics_are_cached_and_reused(images, tmp_path):
    real, fake = images
    first = _tiny_evaluator(tmp_path)
    a = first.evaluate(lambda n, seed, labels: fake[:n], _Images(real))
    assert first.cache.misses == 2 and first.inception.calls == 2 * N  # real and fake images
    second = _tiny_evaluator(tmp_path)
    b = second.evaluate(lambda n, seed, labels: fake[:n], _Images(real))
    assert second.cache.hits == 2 and second.cache.misses == 0
    assert second.inception.calls == N  # only the generated images went through the network
    assert b == a
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == ["fid", "kid"]


@pytest.mark.parametrize(
    "change",
    [dict(num_real=8), dict(split="val"), dict(antialias=True), "dataset content", "extractor"],
)
def test_a_changed_protocol_recomputes_the_real_statistics(images, tmp_path, change):
    real, fake = images
    data = _Images(real, val=list(zip(real.flip(0), torch.zeros(N, dtype=torch.long))))
    _tiny_evaluator(tmp_path).evaluate(lambda n, seed, labels: fake[:n], data)
    if change == "dataset content":
        data, evaluator = _Images(real.clone().mul_(0.5)), _tiny_evaluator(tmp_path)
    else:
        evaluator = _tiny_evaluator(tmp_path, **(change if isinstance(change, dict) else {}))
        if change == "extractor":
            evaluator.inception.describe = lambda: {"extractor": "other weights"}
        if isinstance(change, dict) and "antialias" in change:
            evaluator.inception.describe = lambda: {"extractor": "tiny test features", "antialias": True}
    evaluator.evaluate(lambda n, seed, labels: fake[:n], data)
    assert evaluator.cache.hits == 0 and evaluator.cache.misses == 2


def test_a_corrupt_cache_file_is_recomputed(images, tmp_path):
    real, fake = images
    reference = _tiny_evaluator(tmp_path).evaluate(lambda n, seed, labels: fake[:n], _Images(real))
    for path in tmp_path.iterdir():
        path.write_bytes(b"not a torch file")
    again = _tiny_evaluator(tmp_path)
    with pytest.warns(UserWarning, match="ignoring unreadable real-statistics cache"):
        assert again.evaluate(lambda n, seed, labels: fake[:n], _Images(real)) == reference
    assert again.cache.hits == 0


def test_a_failed_cache_write_warns_keeps_the_metrics_and_leaves_no_file(images, tmp_path, monkeypatch):
    import errno

    real, fake = images
    reference = _tiny_evaluator(tmp_path / "good").evaluate(lambda n, seed, labels: fake[:n], _Images(real))

    def full_disk(payload, file):
        file.write(b"half a file")
        raise OSError(errno.ENOSPC, "no space left on device")

    monkeypatch.setattr("ganzoo.metrics.real_stats.torch.save", full_disk)
    with pytest.warns(UserWarning, match=r"could not write the real-statistics cache .*--no_cache"):
        assert _tiny_evaluator(tmp_path / "full").evaluate(lambda n, seed, labels: fake[:n], _Images(real)) == reference
    assert list((tmp_path / "full").iterdir()) == []


def test_generated_images_are_reproducible_by_seed_and_chunked_with_distinct_seeds(images, tmp_path):
    real, _ = images
    seeds = []

    def sample(n, seed, labels):
        seeds.append(seed)
        return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1

    a = _tiny_evaluator(tmp_path, seed=3).evaluate(sample, _Images(real))
    b = _tiny_evaluator(tmp_path, seed=3).evaluate(sample, _Images(real))
    c = _tiny_evaluator(tmp_path, seed=4).evaluate(sample, _Images(real))
    assert a == b and a != c
    assert len(set(seeds[:3])) == 3 and seeds[:3] == seeds[3:6]


def test_kid_and_is_leave_the_training_random_state_alone(images, tmp_path):
    real, fake = images
    evaluator = _tiny_evaluator(tmp_path, metrics=["kid", "is"], is_splits=2)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    evaluator.evaluate(lambda n, seed, labels: fake[:n], _Images(real))
    assert torch.equal(torch.rand(3), expected)


def test_counts_are_exact_when_the_batch_does_not_divide_them(images, tmp_path):
    real, fake = images
    evaluator = _tiny_evaluator(tmp_path, num_fake=7, num_real=10, batch_size=4, kid_subset_size=5)
    asked = []
    evaluator.evaluate(lambda n, seed, labels: (asked.append(n), fake[:n])[1], _Images(real))
    assert asked == [4, 3]
    stored = torch.load(next(tmp_path.glob("fid-*.pt")), weights_only=True)
    assert int(stored["n"]) == 10
    assert math.isfinite(float(stored["sum"].sum()))
