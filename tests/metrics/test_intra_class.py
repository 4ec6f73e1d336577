"""Intra-class FD: the closed form on Gaussian features of known moments, MNIST digits of the right class
against the wrong one, and one line for unconditional generators or unlabelled data."""
import types

import pytest
import torch

from ganzoo import ImageMetrics, MNISTDataModule
from ganzoo.errors import ConfigError
from ganzoo.metrics.evaluator import ImageEvaluator
from ganzoo.metrics.intra_class import intra_class_fd


def _with_moments(n, mean, variances, seed):
    """n rows whose sample mean is ``mean`` and sample covariance (n - 1 in the denominator) ``diag(variances)``."""
    x = torch.randn(n, len(mean), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = x - x.mean(0)
    whiten = torch.linalg.inv(torch.linalg.cholesky(x.T @ x / (n - 1)))
    return (x @ whiten.T) * torch.tensor(variances).sqrt() + torch.tensor(mean)


def _closed_form(m1, s1, m2, s2):
    """FD of N(m1, diag s1) and N(m2, diag s2): |m1 - m2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2))."""
    m1, s1, m2, s2 = map(torch.tensor, (m1, s1, m2, s2))
    return float(((m1 - m2) ** 2).sum() + (s1 + s2 - 2 * (s1 * s2).sqrt()).sum())


def test_each_class_against_the_closed_form_and_the_mean_over_classes():
    moments = {  # class: (real mean, real variances, fake mean, fake variances)
        0: ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 2.0, 0.0], [4.0, 1.0, 0.25]),
        1: ([5.0, -1.0, 2.0], [2.0, 0.5, 1.0], [5.0, -1.0, 2.0], [2.0, 0.5, 1.0]),
    }
    real = torch.cat([_with_moments(60, m[0], m[1], seed=c) for c, m in moments.items()])
    fake = torch.cat([_with_moments(40, m[2], m[3], seed=10 + c) for c, m in moments.items()])
    real_labels, fake_labels = torch.arange(2).repeat_interleave(60), torch.arange(2).repeat_interleave(40)
    mean, *per_class = intra_class_fd(real, real_labels, fake, fake_labels, num_classes=2)
    expected = [_closed_form(*moments[c]) for c in (0, 1)]  # 1 + 4 + (1 + 0 + 0.25) = 6.25 and 0
    assert expected[0] == pytest.approx(6.25)
    assert per_class == pytest.approx(expected, abs=1e-4) and mean == pytest.approx(sum(expected) / 2, abs=1e-4)
    swapped = intra_class_fd(real, real_labels, fake, 1 - fake_labels, num_classes=2)[0]
    assert swapped > 10  # the same samples, each under the other class's label


def test_too_few_images_of_a_class_fail_in_one_line():
    features, labels = torch.randn(6, 3), torch.tensor([0, 0, 0, 1, 1, 1])
    with pytest.raises(ConfigError, match="class 2 has 0 real and 0 generated images, and needs at least 2 of each"):
        intra_class_fd(features, labels, features, labels, num_classes=3)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    data = MNISTDataModule(data_dir=str(mnist_dir))
    data.setup("fit")
    return data


def _test_digits(mnist, labels):
    """A different held-out digit of each asked class: a generator that is perfect class by class."""
    test = mnist.splits["test"]
    by_class = [test.images[test.labels == k].float() / 127.5 - 1 for k in range(10)]
    seen = [0] * 10
    out = []
    for k in labels.tolist():
        out.append(by_class[k][seen[k]])
        seen[k] += 1
    return torch.stack(out)


def test_digits_of_the_asked_class_score_low_and_of_the_next_class_high(mnist, tmp_path):
    def evaluate(shift):
        evaluator = ImageEvaluator(["fd_classifier", "intra_fd_classifier"], classifier="mnist", num_fake=1000,
                                   num_real=5000, batch_size=250, cache_dir=str(tmp_path))
        return evaluator.evaluate(lambda n, seed, labels: _test_digits(mnist, (labels + shift) % 10), mnist)

    right, wrong = evaluate(0), evaluate(1)
    key = "intra_fd_mnist_1k_train5k"
    assert [k for k in right if k.startswith(key)] == [key, *(f"{key}_class{c}" for c in range(10))]
    assert right[key] == pytest.approx(sum(right[f"{key}_class{c}"] for c in range(10)) / 10)
    # the same digits overall (plain FD agrees within noise), but each under another class's label
    assert abs(right["fd_mnist_1k_train5k"] - wrong["fd_mnist_1k_train5k"]) < 1
    assert right[key] < 20 < 150 < wrong[key]


def test_unconditional_generators_and_unlabelled_data_fail_in_one_line(mnist):
    vanilla = types.SimpleNamespace(num_classes=0)
    evaluator = ImageEvaluator(["fd_classifier", "intra_fd_classifier"], classifier="mnist", num_fake=100)
    with pytest.raises(ConfigError, match=r"metrics \['intra_fd_classifier'\] need a class-conditional generator, "
                                          r"but SimpleNamespace is unconditional; drop them"):
        evaluator.check_generator(vanilla)
    evaluator.check_generator(types.SimpleNamespace(num_classes=10))  # a conditional one passes
    callback = ImageMetrics(metrics=["intra_fd_classifier"], classifier="mnist", num_fake=100)
    with pytest.raises(ConfigError, match="need a class-conditional generator"):
        callback.setup(types.SimpleNamespace(datamodule=mnist), vanilla, "fit")
    unlabelled = types.SimpleNamespace(image_shape=(1, 28, 28), num_classes=0, splits={"train": [torch.zeros(1, 28, 28)]})
    with pytest.raises(ConfigError, match="intra-class FD needs labelled data; SimpleNamespace has no classes"):
        evaluator.prepare(unlabelled)
    with pytest.raises(ConfigError, match="num_fake 10 gives fewer than 2 samples for each of 10 classes"):
        ImageEvaluator(["intra_fd_classifier"], classifier="mnist", num_fake=10).prepare(mnist)
