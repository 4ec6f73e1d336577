"""The domain evaluator: shipped classifiers on real data, their metrics, Stacked MNIST, train-classifier."""
import math
import tomllib
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.image.fid import FrechetInceptionDistance

from ganzoo.cli import main
from ganzoo.data.images import DigitsDataModule, MNISTDataModule
from ganzoo.data.stacked import StackedMNISTDataModule
from ganzoo.errors import ConfigError
from ganzoo.metrics.classifier import classifier_metrics
from ganzoo.metrics.domain import (
    ASSETS,
    DomainClassifier,
    conditional_accuracy,
    digit_kl,
    load_domain_classifier,
    mode_metrics,
    stacked_mnist_modes,
)
from ganzoo.modules.classifier import random_resample, random_shift
from ganzoo.nets.classifier import DigitClassifier

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def mnist_test(mnist_dir):
    dm = MNISTDataModule(data_dir=str(mnist_dir))
    test = dm._tensors(train=False)
    return test.images.float() / 127.5 - 1, test.labels


@pytest.fixture(scope="module")
def mnist_classifier():
    return load_domain_classifier("mnist")


@pytest.fixture(scope="module")
def mnist_probs(mnist_classifier, mnist_test):
    return mnist_classifier.probs(mnist_test[0])


@pytest.fixture(scope="module")
def stacked(mnist_dir):
    dm = StackedMNISTDataModule(data_dir=str(mnist_dir), num_train=2000, seed=0)
    dm.setup("fit")
    return dm


def test_shipped_mnist_classifier_is_99_percent_on_the_real_test_images(mnist_classifier, mnist_probs, mnist_test):
    accuracy = conditional_accuracy(mnist_probs, mnist_test[1])
    assert accuracy >= 0.99
    assert abs(accuracy - mnist_classifier.test_accuracy) <= 1e-3  # the figure recorded in the file
    assert mnist_classifier.dataset == "mnist" and mnist_classifier.image_shape == (1, 28, 28)
    assert torch.allclose(mnist_probs.sum(dim=1), torch.ones(len(mnist_probs)), atol=1e-5)
    assert classifier_metrics(mnist_probs.numpy())["classifier_score"] > 9.5  # confident and balanced


def test_shuffled_labels_are_right_one_time_in_ten(mnist_probs, mnist_test):
    shuffled = mnist_test[1][torch.randperm(len(mnist_test[1]), generator=torch.Generator().manual_seed(0))]
    assert 0.08 < conditional_accuracy(mnist_probs, shuffled) < 0.12
    with pytest.raises(ConfigError, match=r"labels \(N,\)"):
        conditional_accuracy(mnist_probs, shuffled[:10])


def test_classifier_stays_in_eval_mode_without_gradients(mnist_classifier, mnist_test):
    mnist_classifier.train()
    assert not any(m.training for m in mnist_classifier.modules())
    assert not any(p.requires_grad for p in mnist_classifier.parameters())
    images = mnist_test[0][:8]
    assert torch.equal(mnist_classifier(images), mnist_classifier(images))  # dropout off


# resizing 28 -> S -> 28 blurs: floors measured with the shipped classifier (0.987 at 32 px, 0.886 at 16 px)
@pytest.mark.parametrize("size, floor", [(32, 0.98), (16, 0.85)])
def test_other_image_sizes_are_resized_to_the_classifiers(mnist_classifier, mnist_test, size, floor):
    images, labels = mnist_test[0][:2000], mnist_test[1][:2000]
    resized = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    assert conditional_accuracy(mnist_classifier.probs(resized), labels) >= floor


def test_wrong_inputs_are_one_line_errors(mnist_classifier, mnist_test):
    rgb = mnist_test[0][:4].repeat(1, 3, 1, 1)
    with pytest.raises(ConfigError, match="1-channel images, got shape .4, 3, 28, 28.*stacked_mnist_modes"):
        mnist_classifier.probs(rgb)
    with pytest.raises(ConfigError, match=r"torch.uint8.*images.float\(\) / 127.5 - 1"):
        mnist_classifier.features(torch.zeros(4, 1, 28, 28, dtype=torch.uint8))


def test_features_drive_torchmetrics_fid(mnist_classifier, mnist_test):
    images = mnist_test[0][:2000]
    assert mnist_classifier.features(images[:3]).shape == (3, mnist_classifier.num_features)

    def fid(fake):
        metric = FrechetInceptionDistance(feature=mnist_classifier.feature_extractor())
        metric.update(images[:1000], real=True)
        metric.update(fake, real=False)
        return metric.compute().item()

    same, blurred = fid(images[1000:]), fid(F.avg_pool2d(images[1000:], 3, 1, 1))
    assert same < 0.2 * blurred


def _unsafe():
    _unsafe.ran = True
    return 0


class Unsafe:
    def __reduce__(self):
        return _unsafe, ()


def test_save_load_round_trip_and_refusals(mnist_classifier, mnist_test, tmp_path):
    path = mnist_classifier.save(tmp_path / "copy.pt")
    copy = DomainClassifier.load(str(path))
    assert torch.equal(copy(mnist_test[0][:16]), mnist_classifier(mnist_test[0][:16]))
    assert (copy.test_accuracy, copy.recipe, copy.version) == (
        mnist_classifier.test_accuracy, mnist_classifier.recipe, mnist_classifier.version)
    state = torch.load(path, weights_only=True)
    state["recipe"] = {"note": Unsafe()}  # loadable only by running code
    torch.save(state, tmp_path / "unsafe.pt")
    _unsafe.ran = False
    with pytest.raises(ConfigError, match="unsafe.pt' is not a ganzoo domain classifier file") as err:
        DomainClassifier.load(str(tmp_path / "unsafe.pt"))
    assert not _unsafe.ran and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="'.*missing.pt' not found"):
        DomainClassifier.load(str(tmp_path / "missing.pt"))
    with pytest.raises(ConfigError, match="'.*missing.pt' is neither a shipped one nor a file"):
        load_domain_classifier(str(tmp_path / "missing.pt"))
    with pytest.raises(ConfigError, match="choose one of: digits, mnist"):
        load_domain_classifier("cifar10")


def test_shipped_files_are_small_and_packaged():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ganzoo"]
    packaged = {p.name for pattern in patterns for p in (ROOT / "ganzoo").glob(pattern)}
    assert packaged >= {"mnist.pt", "digits.pt"}
    assert all((ASSETS / name).stat().st_size < 1_000_000 for name in packaged)


def test_shipped_digits_classifier_on_its_held_out_split():
    classifier = load_domain_classifier("digits")
    dm = DigitsDataModule(image_size=classifier.image_shape[-1])
    dm.setup("fit")
    held_out = dm.splits["test"]
    accuracy = conditional_accuracy(classifier.probs(held_out.images), held_out.labels)
    assert accuracy >= 0.97 and abs(accuracy - classifier.test_accuracy) <= 1e-3
    native = DigitsDataModule()  # 8 px, upsampled by the classifier
    native.setup("fit")
    assert conditional_accuracy(classifier.probs(native.splits["test"].images), held_out.labels) >= 0.95


def test_mode_metrics_of_hand_made_ids():
    assert mode_metrics(torch.arange(1000)) == {"modes_covered": 1000, "mode_kl": pytest.approx(0, abs=1e-12)}
    one = mode_metrics(torch.full((50,), 7))
    assert one["modes_covered"] == 1 and one["mode_kl"] == pytest.approx(math.log(1000))
    half = mode_metrics(torch.arange(500).repeat(3))
    assert half["modes_covered"] == 500 and half["mode_kl"] == pytest.approx(math.log(2))
    with pytest.raises(ConfigError, match=r"\[0, 1000\)"):
        mode_metrics(torch.tensor([3, 1000]))


def _digits(ids: torch.Tensor) -> torch.Tensor:
    return torch.stack([ids // 100, ids // 10 % 10, ids % 10], dim=1)


def test_digit_kl_splits_the_mode_kl_into_channels_and_dependence():
    every = _digits(torch.arange(1000))  # every combination once: nothing to split
    assert digit_kl(every) == pytest.approx(0, abs=1e-12)
    same = _digits(torch.arange(10).repeat(30) * 111)  # (d, d, d): each channel uniform, all dependence
    assert digit_kl(same) == pytest.approx(0, abs=1e-12)
    assert mode_metrics(torch.arange(10).repeat(30) * 111)["mode_kl"] == pytest.approx(math.log(100))
    red_seven = _digits(700 + torch.arange(100))  # R always 7, G and B independent and uniform
    assert digit_kl(red_seven) == pytest.approx(math.log(10))
    assert mode_metrics(700 + torch.arange(100))["mode_kl"] == pytest.approx(math.log(10))
    ids = torch.multinomial(torch.rand(1000) ** 4, 5000, replacement=True, generator=torch.Generator().manual_seed(0))
    q = torch.bincount(ids, minlength=1000).double().reshape(10, 10, 10) / ids.numel()
    product = q.sum((1, 2))[:, None, None] * q.sum((0, 2))[None, :, None] * q.sum((0, 1))[None, None, :]
    seen = q > 0
    dependence = float((q[seen] * (q[seen] / product[seen]).log()).sum())
    assert mode_metrics(ids)["mode_kl"] == pytest.approx(digit_kl(_digits(ids)) + dependence, rel=1e-9)
    with pytest.raises(ConfigError, match=r"ints in \[0, 10\)"):
        digit_kl(torch.tensor([[3, 10, 1]]))


@pytest.mark.slow
def test_real_stacked_mnist_covers_the_modes_and_collapse_does_not(mnist_classifier, stacked):
    images = stacked.splits["val"].images.float() / 127.5 - 1
    real = stacked_mnist_modes(mnist_classifier, images)
    assert real["modes_covered"] >= 990 and real["mode_kl"] < 0.1 and real["digit_kl"] < 0.02
    same = stacked_mnist_modes(mnist_classifier, images[:1].repeat(500, 1, 1, 1))
    assert same["modes_covered"] == 1 and same["mode_kl"] == pytest.approx(math.log(1000))
    red_only = images[:2000].clone()
    red_only[:, 1:] = images[0, 1:]  # only the R digit varies
    red = stacked_mnist_modes(mnist_classifier, red_only)
    assert red["modes_covered"] == 10 and red["digit_kl"] == pytest.approx(red["mode_kl"])  # no dependence
    with pytest.raises(ConfigError, match=r"must be \(N, 3, S, S\)"):
        stacked_mnist_modes(mnist_classifier, images[:4, :1])


def test_stacked_mnist_datamodule(stacked, mnist_test, mnist_classifier):
    assert StackedMNISTDataModule(image_size=32).image_shape == (3, 32, 32)
    assert stacked.image_shape == (3, 28, 28) and stacked.num_classes == 1000
    assert [len(stacked.splits[s]) for s in ("train", "val", "test")] == [2000, 10_000, 10_000]
    images, labels = next(iter(stacked.val_dataloader()))
    assert images.shape == (64, 3, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert labels.dtype == torch.int64 and 0 <= labels.min() and labels.max() <= 999
    # each channel is a real test digit whose label is that channel's decimal digit
    for image, label in zip(images[:4], labels[:4].tolist()):
        for channel, digit in zip(image, (label // 100, label // 10 % 10, label % 10)):
            match = (mnist_test[0][:, 0] == channel).flatten(1).all(dim=1).nonzero().flatten()
            assert len(match) >= 1 and (mnist_test[1][match] == digit).all()
    predicted = mnist_classifier(images.reshape(-1, 1, 28, 28)).argmax(dim=1).reshape(-1, 3)
    assert ((predicted * torch.tensor([100, 10, 1])).sum(dim=1) == labels).float().mean() >= 0.95


def test_stacked_mnist_draws_are_fixed_by_seed(stacked, mnist_dir):
    again = StackedMNISTDataModule(data_dir=str(mnist_dir), num_train=2000, num_val=100, seed=0)
    other = StackedMNISTDataModule(data_dir=str(mnist_dir), num_train=2000, num_val=100, seed=1)
    again.setup("fit")
    other.setup("fit")
    assert torch.equal(again.splits["train"].images, stacked.splits["train"].images)
    assert torch.equal(again.splits["val"].labels, stacked.splits["val"].labels[:100])
    assert not torch.equal(other.splits["train"].labels, stacked.splits["train"].labels)


def test_random_shift_moves_whole_images_by_at_most_two_pixels():
    images = torch.full((400, 1, 12, 12), -1.0)
    images[:, 0, 6, 5] = 1.0
    shifted = random_shift(images, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape and (shifted == 1).sum(dim=(1, 2, 3)).eq(1).all()
    rows, cols = (shifted[:, 0] == 1).nonzero()[:, 1:].T
    assert {(r - 6, c - 5) for r, c in zip(rows.tolist(), cols.tolist())} == {
        (dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}
    assert random_shift(images, 0) is images


def test_random_resample_blurs_like_a_round_trip_through_another_size():
    images = torch.rand(32, 1, 28, 28) * 2 - 1
    assert torch.equal(random_resample(images, (0.5, 0.5), prob=0.0), images)
    half = F.interpolate(images, size=(14, 14), mode="bilinear", antialias=True, align_corners=False)
    back = F.interpolate(half, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    assert torch.allclose(random_resample(images, (0.5, 0.5), prob=1.0), back.clamp(-1, 1))


@pytest.mark.parametrize("side", [8, 16, 28])
def test_digit_classifier_shapes(side):
    net = DigitClassifier(image_shape=(1, side, side), num_classes=10, width=4, feature_dim=12).eval()
    x = torch.rand(3, 1, side, side) * 2 - 1
    assert net.features(x).shape == (3, 12) and net(x).shape == (3, 10)
    with pytest.raises(ConfigError, match="S >= 8"):
        DigitClassifier(image_shape=(1, 4, 4))


def test_train_classifier_end_to_end_on_digits(tmp_path, capsys):
    out = tmp_path / "digits.pt"
    main(["train-classifier", "--data", "digits", "--epochs", "1", "--out", str(out), "--seed", "3"])
    assert "test accuracy" in capsys.readouterr().out
    classifier = load_domain_classifier(str(out))
    assert classifier.dataset == "digits" and classifier.image_shape == (1, 8, 8)
    assert classifier.recipe["epochs"] == 1 and classifier.recipe["seed"] == 3
    dm = DigitsDataModule()
    dm.setup("fit")
    held_out = dm.splits["test"]
    measured = conditional_accuracy(classifier.probs(held_out.images), held_out.labels)
    assert measured == pytest.approx(classifier.test_accuracy, abs=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "cifar10"], "unknown --data 'cifar10'; choose one of: digits, mnist"),
        (["--data", "mnist", "--data_dir", "no/such/dir"], "--data_dir 'no/such/dir' holds no MNIST"),
        (["--data", "digits", "--epochs", "0"], "--epochs must be an integer >= 1, got '0'"),
        (["--data", "digits"], "the following arguments are required: --out"),
    ],
)
def test_train_classifier_bad_input_is_one_line(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train-classifier", *args, *([] if "--out" in message else ["--out", str(tmp_path / "x.pt")])])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and err.startswith("ganzoo: error: ")
    assert message in err and "\n" not in err
    assert not (tmp_path / "x.pt").exists()
