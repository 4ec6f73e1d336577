"""The domain metrics through ImageEvaluator, on the real MNIST: real digits score as real digits, noise does not."""

import pytest
import torch

from ganzoo import MNISTDataModule
from ganzoo.data.stacked import StackedMNISTDataModule
from ganzoo.metrics.evaluator import ImageEvaluator


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    data = MNISTDataModule(data_dir=str(mnist_dir))
    data.setup("fit")
    return data


def _test_digits(mnist, n, labels=None):
    images = mnist.splits["test"].images.float() / 127.5 - 1
    if labels is None:
        return images[:n]
    by_class = [images[mnist.splits["test"].labels == k] for k in range(10)]
    seen = [0] * 10
    out = []
    for k in labels.tolist():  # a different real image of the asked class each time
        out.append(by_class[k][seen[k]])
        seen[k] += 1
    return torch.stack(out)


def _evaluator(tmp_path, metrics, **kwargs):
    settings = dict(classifier="mnist", num_fake=1000, num_real=5000, batch_size=250, cache_dir=str(tmp_path))
    settings.update(kwargs)
    return ImageEvaluator(metrics, **settings)


def test_real_test_digits_are_close_to_the_training_digits_and_noise_is_far(mnist, tmp_path):
    chunks = iter(_test_digits(mnist, 1000).split(250))
    real = _evaluator(tmp_path, ["fd_classifier", "classifier_score"]).evaluate(lambda n, s, l: next(chunks), mnist)
    noise = _evaluator(tmp_path, ["fd_classifier", "classifier_score"]).evaluate(
        lambda n, s, l: torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(s)) * 2 - 1, mnist)
    assert real["fd_mnist_1k_train5k"] < 5 < 100 < noise["fd_mnist_1k_train5k"]
    assert real["classifier_score_1k"] > 9.0 and real["classes_covered_1k"] == 10
    assert noise["classifier_score_1k"] < 2.0


def test_conditional_accuracy_of_samples_that_show_their_class(mnist, tmp_path):
    asked = []

    def faithful(n, seed, labels):
        asked.append(labels)
        return _test_digits(mnist, n, labels)

    right = _evaluator(tmp_path, ["class_accuracy"]).evaluate(faithful, mnist)["class_accuracy_1k"]
    assert right >= 0.99
    assert torch.cat(asked).bincount().tolist() == [100] * 10  # balanced requests
    wrong = _evaluator(tmp_path, ["class_accuracy"]).evaluate(
        lambda n, s, labels: _test_digits(mnist, n, (labels + 1) % 10), mnist)["class_accuracy_1k"]
    assert wrong < 0.05


@pytest.mark.slow
def test_stacked_mnist_mode_counting(tmp_path, mnist_dir):
    data = StackedMNISTDataModule(data_dir=str(mnist_dir), num_train=12_000, num_val=10_000)
    data.setup("fit")
    real = data.splits["val"]
    images = torch.stack([real[i][0] for i in range(10_000)])
    chunks = iter(images.split(1000))
    evaluator = _evaluator(tmp_path, ["stacked_modes", "fd_classifier"], num_fake=10_000, num_real=2000, batch_size=1000)
    covered = evaluator.evaluate(lambda n, s, l: next(chunks), data)
    assert covered["modes_covered_10k"] >= 990 and covered["mode_kl_10k"] < 0.1 and covered["digit_kl_10k"] < 0.02
    same = images[:1].expand(1000, -1, -1, -1)  # one digit triple: one mode
    collapsed = _evaluator(tmp_path, ["stacked_modes"], num_fake=1000, batch_size=1000).evaluate(
        lambda n, s, l: same, data)
    assert collapsed["modes_covered_1k"] <= 3 and collapsed["mode_kl_1k"] > 6.0 and collapsed["digit_kl_1k"] > 6.0
