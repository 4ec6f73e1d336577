"""Memorisation: a hand-computed case, the chunked search against brute force, and on MNIST copies of
training digits, noisy copies and held-out digits come apart while FD calls the copies perfect."""
import types

import pytest
import torch

from ganzoo import MNISTDataModule
from ganzoo.errors import ConfigError
from ganzoo.metrics.evaluator import ImageEvaluator
from ganzoo.metrics.memorisation import memorisation_scores, nearest_distances


def test_a_hand_computed_case():
    train = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    held_out = torch.tensor([[0.0, 1.0], [0.0, 2.0], [10.0, 3.0], [10.0, 4.0]])  # nearest training distances 1, 2, 3, 4
    fake = torch.tensor([[0.0, 0.5], [10.0, 1.5], [5.0, 0.0]])  # 0.5, 1.5, 5
    scores = memorisation_scores(fake, train, held_out, quantile=0.25)
    # the 25% quantile of 1, 2, 3, 4 (linear interpolation) is 1 + 0.75 = 1.75: 0.5 and 1.5 lie below it
    assert scores["threshold"] == pytest.approx(1.75)
    assert scores["copy_rate"] == pytest.approx(2 / 3)
    assert scores["nn_ratio"] == pytest.approx(1.5 / 2.5)  # median 1.5 against median 2.5


def test_the_chunked_search_is_the_brute_force_minimum():
    g = torch.Generator().manual_seed(0)
    queries, reference = torch.randn(50, 7, generator=g), torch.randn(301, 7, generator=g)
    expected = torch.cdist(queries.double(), reference.double(), compute_mode="donot_use_mm_for_euclid_dist").amin(1)
    found = nearest_distances(queries, reference, query_chunk=8, reference_chunk=13)
    assert found.shape == (50,)
    assert torch.allclose(found.double(), expected, atol=1e-4)
    with pytest.raises(ConfigError, match=r"got \(50, 7\) and \(0, 7\)"):
        nearest_distances(queries, reference[:0])


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    data = MNISTDataModule(data_dir=str(mnist_dir), subset=5000)  # G "trained" on 5,000 digits
    data.setup("fit")
    return data


def _score(data, images, tmp_path):
    chunks = iter(images.split(500))
    evaluator = ImageEvaluator(["fd_classifier", "memorisation", "memorisation_pixels"], classifier="mnist",
                               num_fake=len(images), batch_size=500, cache_dir=str(tmp_path))
    return evaluator.evaluate(lambda n, seed, labels: next(chunks), data)


@pytest.mark.slow
def test_copies_noisy_copies_and_held_out_digits_come_apart(mnist, tmp_path):
    train = mnist.splits["train"].images[:2000].float() / 127.5 - 1
    held_out = mnist.splits["test"].images[-2000:].float() / 127.5 - 1
    noise = torch.randn(train.shape, generator=torch.Generator().manual_seed(0))
    copies, real = _score(mnist, train, tmp_path), _score(mnist, held_out, tmp_path)
    sigmas = (0.02, 0.05, 0.1)  # noise std in [-1, 1] units
    noisy = [_score(mnist, (train + sigma * noise).clamp(-1, 1), tmp_path) for sigma in sigmas]
    fd, copy_rate, ratio = "fd_mnist_2k_train", "copy_rate_mnist_2k_train_test", "nn_ratio_mnist_2k_train_test"
    assert copies[fd] < real[fd] < 2  # FD alone: the copies look like the better "generator"
    assert copies[copy_rate] == 1.0 and copies[ratio] < 0.01
    assert real[copy_rate] <= 0.03 and 0.8 < real[ratio] < 1.25  # unseen digits: about 1% by construction
    rates, ratios = [n[copy_rate] for n in noisy], [n[ratio] for n in noisy]
    assert rates[0] >= rates[1] > rates[2] and rates[1] > 0.3 and 0.0 < ratios[0] < ratios[1] < ratios[2] < 0.9
    # in the bytes themselves the same copies, noise and all, are flagged; the unseen digits are not
    pixels_rate = "copy_rate_pixels_2k_train_test"
    assert copies[pixels_rate] == 1.0 and noisy[2][pixels_rate] > 0.9 and real[pixels_rate] <= 0.03


def test_data_without_a_test_split_is_refused_before_any_image_is_drawn():
    only_train = types.SimpleNamespace(image_shape=(1, 8, 8), num_classes=0, splits={"train": [torch.zeros(1, 8, 8)]})
    evaluator = ImageEvaluator(["memorisation_pixels"], num_fake=4, use_cache=False)
    with pytest.raises(ConfigError, match="memorisation compares samples with the test split, but SimpleNamespace has "
                                          "only train; give it held-out images"):
        evaluator.prepare(only_train)
