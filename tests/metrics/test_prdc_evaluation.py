"""Precision, recall, density and coverage through ImageEvaluator, ImageMetrics and ``ganzoo evaluate``;
and ``ganzoo evaluate`` records the settings of exactly the metrics it computed."""
import json

import pytest
import torch
from lightning.pytorch import Trainer

from ganzoo import DCGAN, DigitsDataModule, ImageMetrics
from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.metrics.domain import load_domain_classifier
from ganzoo.metrics.evaluator import ImageEvaluator, split_dataset
from ganzoo.metrics.prdc import precision_recall_density_coverage
from ganzoo.viz import to_uint8

TINY_GAN = dict(data_shape=(1, 8, 8), latent_dim=8, g_width=8, d_width=8)
FOUR = ("precision", "recall", "density", "coverage")


def _first_train_images(data, n):
    return torch.stack([split_dataset(data, "train")[i][0] for i in range(n)])


def test_the_training_images_themselves_score_one_and_the_values_are_the_formula_on_the_classifier_features(tmp_path):
    data = DigitsDataModule()
    real = _first_train_images(data, 40)
    evaluator = ImageEvaluator(["prdc_classifier"], classifier="digits", num_fake=40, num_real=40, batch_size=40,
                               cache_dir=str(tmp_path))
    copies = evaluator.evaluate(lambda n, seed, labels: real[:n], data)
    keys = [f"{name}_digits_k{k}_40_train40" for name, k in zip(FOUR, (3, 3, 5, 5))]
    assert list(copies) == keys == evaluator.keys(data)
    assert [copies[k] for k in keys[:2] + keys[3:]] == [1.0, 1.0, 1.0]

    noise = lambda n, seed, labels: torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1  # noqa: E731
    values = evaluator.evaluate(noise, data)
    classifier = load_domain_classifier("digits")
    features = lambda images: classifier.features(to_uint8(images).float() / 127.5 - 1)  # noqa: E731 - as the evaluator
    expected = precision_recall_density_coverage(features(real), features(noise(40, evaluator_seed(evaluator, 0), None)))
    assert [values[k] for k in keys] == pytest.approx([expected[name] for name in FOUR], abs=1e-6)
    assert values[keys[1]] < 0.5 < copies[keys[1]]  # noise recalls none of the digits


def evaluator_seed(evaluator, chunk):
    """The seed the evaluator gives chunk ``chunk``'s latent codes."""
    import numpy as np

    return int(np.random.SeedSequence([evaluator.seed, chunk]).generate_state(1)[0])


def test_too_few_images_for_k_are_refused_before_any_image_is_drawn():
    evaluator = ImageEvaluator(["prdc_classifier"], classifier="digits", num_fake=5, num_real=40)
    with pytest.raises(ConfigError, match="pr_k 3 needs more than 3 generated images, got 3; lower pr_k or raise num_fake"):
        ImageEvaluator(["prdc_classifier"], classifier="digits", num_fake=3, num_real=40).prepare(DigitsDataModule())
    with pytest.raises(ConfigError, match="dc_k 5 needs more than 5 real images, got 5; lower dc_k or raise num_real"):
        ImageEvaluator(["prdc_classifier"], classifier="digits", num_fake=40, num_real=5).prepare(DigitsDataModule())
    evaluator.prepare(DigitsDataModule())  # 5 generated images are enough for k = 3


def test_image_metrics_logs_them_during_training(trainer_kwargs, tmp_path):
    callback = ImageMetrics(metrics=["prdc_classifier"], classifier="digits", num_fake=8, num_real=8, batch_size=8,
                            pr_k=2, dc_k=3, every_n_epochs=1, verbose=False)
    trainer = Trainer(**trainer_kwargs, max_epochs=1, limit_train_batches=2, limit_val_batches=1,
                      num_sanity_val_steps=0, callbacks=[callback])
    trainer.fit(DCGAN(**TINY_GAN), DigitsDataModule(batch_size=16))
    keys = [f"val/{name}_digits_k{k}_8_train8" for name, k in zip(FOUR, (2, 2, 3, 3))]
    assert set(keys) <= set(trainer.callback_metrics)
    line = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])
    assert line["protocol"]["prdc"]["pr_k"] == 2 and line["protocol"]["prdc"]["dc_k"] == 3


# ------------------------------------------------------- ganzoo evaluate
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("evaluate") / "dcgan.ckpt"
    trainer = Trainer(accelerator="cpu", max_steps=2, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(path.parent))
    trainer.fit(DCGAN(**TINY_GAN), DigitsDataModule(batch_size=16))
    trainer.save_checkpoint(path)
    return path


def _evaluate(checkpoint, tmp_path, *metrics, extra=()):
    output = tmp_path / f"{'_'.join(metrics)}.json"
    main(["evaluate", str(checkpoint), "--metrics", *metrics, "--num_fake", "8", "--num_real", "8", "--batch_size", "8",
          "--classifier", "digits", "--cache_dir", str(tmp_path / "cache"), "--output", str(output), "--device", "cpu",
          *extra])
    return json.loads(output.read_text())


def test_evaluate_records_only_the_settings_of_the_metrics_it_computed(checkpoint, tmp_path, random_inception_weights):
    report = _evaluate(checkpoint, tmp_path, "fd_classifier")
    protocol = report["protocol"]
    assert list(report["metrics"]) == ["fd_digits_8_train8"] and protocol["keys"] == ["fd_digits_8_train8"]
    assert not {"kid", "is_splits", "prdc"} & set(protocol), protocol
    assert list(protocol["feature_extractors"]) == ["classifier"] and "torch_fidelity" not in protocol["versions"]
    assert "InceptionV3" not in protocol["to_bytes"]

    inception = ["--inception_weights", str(random_inception_weights), "--feature", "64", "--kid_subsets", "3",
                 "--kid_subset_size", "4"]
    protocol = _evaluate(checkpoint, tmp_path, "kid", extra=inception)["protocol"]
    assert protocol["kid"] == {"subsets": 3, "subset_size": 4} and "is_splits" not in protocol
    assert list(protocol["feature_extractors"]) == ["inception"] and "torch_fidelity" in protocol["versions"]


def test_evaluate_prdc_names_k_and_counts_in_its_keys(checkpoint, tmp_path, capsys):
    report = _evaluate(checkpoint, tmp_path, "prdc_classifier", extra=["--pr_k", "2", "--dc_k", "4"])
    keys = [f"{name}_digits_k{k}_8_train8" for name, k in zip(FOUR, (2, 2, 4, 4))]
    printed = capsys.readouterr().out
    assert list(report["metrics"]) == keys and all(k in printed for k in keys)
    assert report["protocol"]["prdc"]["pr_k"] == 2 and report["protocol"]["prdc"]["dc_k"] == 4
    assert not {"kid", "is_splits"} & set(report["protocol"])
