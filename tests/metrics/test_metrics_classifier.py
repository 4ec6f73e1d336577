"""Classifier metrics of generated images, and the digits datamodule that uses them."""
import math

import numpy as np
import pytest
import torch

from ganzoo import DigitsDataModule
from ganzoo.metrics import classifier_metrics


def test_confident_balanced_samples_score_the_number_of_classes():
    probs = np.eye(10)[np.arange(1000) % 10]
    assert classifier_metrics(probs) == pytest.approx(
        {"classifier_score": 10.0, "confidence": 1.0, "classes_covered": 10.0, "class_kl": 0.0}, abs=1e-6)


def test_one_class_and_undecided_samples_score_one():
    one_class = classifier_metrics(np.eye(10)[np.zeros(500, dtype=int)])
    assert one_class == pytest.approx(
        {"classifier_score": 1.0, "confidence": 1.0, "classes_covered": 1.0, "class_kl": math.log(10)}, abs=1e-6)
    undecided = classifier_metrics(np.full((500, 10), 0.1))
    assert undecided["classifier_score"] == pytest.approx(1.0) and undecided["confidence"] == pytest.approx(0.1)


def test_a_class_made_too_rarely_is_not_covered():
    labels = np.r_[np.arange(9).repeat(1111), [9]]  # class 9 once in 10,000: under 1% of a balanced share
    assert classifier_metrics(np.eye(10)[labels])["classes_covered"] == 9.0


def test_digits_classifier_tells_real_digits_from_noise():
    data = DigitsDataModule(image_size=16)
    real = data.target_metrics()
    assert real["classifier_score"] > 8 and real["classes_covered"] == 10
    noise = data.evaluate(torch.rand(1000, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert noise["classifier_score"] < 2 and noise["class_kl"] > 1


def test_the_digits_classifier_is_as_accurate_as_documented():
    data = DigitsDataModule()
    data.setup("fit")
    held_out = data.splits["val"]
    pixels = ((held_out.images + 1) / 2).reshape(len(held_out), 64).numpy()
    accuracy = (data._classifier().predict(pixels) == held_out.labels.numpy()).mean()
    assert len(held_out) == 180 and accuracy >= 0.977  # docs/images.md: 97.8% on the 180 held-out digits
