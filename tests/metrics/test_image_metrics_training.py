"""ImageMetrics during training, checkpoints without Inception weights, DDP, and ``ganzoo evaluate``."""
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from torchmetrics.image.fid import FrechetInceptionDistance

from ganzoo import DCGAN, DigitsDataModule, ImageMetrics
from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.metrics.evaluator import ImageEvaluator
from metric_helpers import TinyFeatures

TINY_GAN = dict(data_shape=(1, 8, 8), latent_dim=8, g_width=8, d_width=8)


def _metrics(**kwargs):
    settings = dict(metrics=["fid", "kid"], num_fake=8, num_real=8, batch_size=4, kid_subsets=2, kid_subset_size=4,
                    every_n_epochs=1, verbose=False)
    settings.update(kwargs)
    callback = ImageMetrics(**settings)
    callback.evaluator.inception = TinyFeatures()
    return callback


def test_metrics_are_logged_under_protocol_keys_after_the_sanity_check(trainer_kwargs, tmp_path):
    callback = _metrics()
    trainer = Trainer(**trainer_kwargs, max_epochs=2, limit_train_batches=2, limit_val_batches=1,
                      num_sanity_val_steps=1, callbacks=[callback])
    trainer.fit(DCGAN(**TINY_GAN), DigitsDataModule(batch_size=16))
    assert [h["generator_steps"] for h in callback.history] == [2, 4]  # none in the sanity check
    assert set(trainer.callback_metrics) >= {"val/fid_8_train8", "val/kid_8_train8", "val/kid_8_train8_std"}
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and lines[1]["fid_8_train8"] == pytest.approx(callback.history[1]["fid_8_train8"])
    assert lines[0]["protocol"]["num_real"] == 8 and lines[0]["protocol"]["dataset"] == "DigitsDataModule"
    assert lines[0]["generator"] == "G"  # no moving average kept: G itself was measured


def test_every_n_steps_counts_generator_steps(trainer_kwargs):
    callback = _metrics(every_n_epochs=None, every_n_steps=4)
    trainer = Trainer(**trainer_kwargs, max_epochs=4, limit_train_batches=2, limit_val_batches=1,
                      num_sanity_val_steps=0, callbacks=[callback])
    trainer.fit(DCGAN(**TINY_GAN), DigitsDataModule(batch_size=16))
    assert [h["generator_steps"] for h in callback.history] == [2, 6]


def test_missing_weights_stop_the_run_before_training_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    config = tmp_path / "fid.yaml"
    config.write_text(
        "model:\n  class_path: ganzoo.DCGAN\n  init_args: {g_width: 8, d_width: 8, latent_dim: 8}\n"
        "data:\n  class_path: ganzoo.DigitsDataModule\n  init_args: {batch_size: 16}\n"
        f"trainer:\n  max_steps: 4\n  logger: false\n  default_root_dir: {tmp_path}\n"
        "  callbacks:\n    - class_path: ganzoo.ImageMetrics\n      init_args: {metrics: [fid, is]}\n"
    )
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", str(config)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganzoo: error: InceptionV3 weights for FID/IS/KID not found")
    assert "weights-inception-2015-12-05-6726825d.pth" in err[0] and "download https://github.com" in err[0]
    assert not (tmp_path / "checkpoints").exists() and not list(tmp_path.rglob("*.ckpt"))


def test_checkpoints_stay_small_with_inception_in_the_callback(trainer_kwargs, tmp_path, random_inception_weights):
    callback = ImageMetrics(metrics=["fid"], feature=64, num_fake=4, num_real=4, batch_size=4,
                            inception_weights=str(random_inception_weights), verbose=False)
    kwargs = dict(trainer_kwargs, enable_checkpointing=True)
    trainer = Trainer(**kwargs, max_epochs=1, limit_train_batches=2, limit_val_batches=1, num_sanity_val_steps=0,
                      callbacks=[callback, ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)])
    trainer.fit(DCGAN(**TINY_GAN), DigitsDataModule(batch_size=16))
    assert "val/fid64_4_train4" in trainer.callback_metrics
    size = (tmp_path / "ckpt" / "last.ckpt").stat().st_size
    assert size < 1_000_000, size  # the InceptionV3 weights alone are 95 MB


class DCGANWithFID(DCGAN):
    """A user's module that keeps a torchmetrics FID (and its InceptionV3) as an attribute."""

    def __init__(self, weights: str = "", **kwargs):
        super().__init__(**kwargs)
        self.fid = FrechetInceptionDistance(feature=64, feature_extractor_weights_path=weights)


def test_a_metric_kept_on_the_module_is_left_out_of_checkpoints(trainer_kwargs, tmp_path, random_inception_weights):
    model = DCGANWithFID(weights=str(random_inception_weights), **TINY_GAN)
    assert sum(v.numel() for k, v in model.state_dict().items() if k.startswith("fid.")) > 20_000_000
    trainer = Trainer(**trainer_kwargs, max_steps=4)
    trainer.fit(model, DigitsDataModule(batch_size=16))
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    assert path.stat().st_size < 1_000_000
    restored = DCGANWithFID.load_from_checkpoint(path, map_location="cpu")  # strict: the metric's keys are filled in
    assert torch.equal(restored.generate(4, seed=0), model.cpu().generate(4, seed=0))
    resumed = Trainer(**trainer_kwargs, max_steps=8)
    resumed.fit(DCGANWithFID(weights=str(random_inception_weights), **TINY_GAN), DigitsDataModule(batch_size=16),
                ckpt_path=path)
    assert resumed.global_step == 8


# ------------------------------------------------------------------- DDP
def _sample(n, seed, labels):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _evaluate_in_process(rank, world, port, cache_dir, out):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        evaluator = ImageEvaluator(["fid", "kid", "is"], num_fake=10, num_real=11, batch_size=3, kid_subset_size=5,
                                   kid_subsets=4, is_splits=2, cache_dir=cache_dir)
        evaluator.inception = TinyFeatures()
        data = DigitsDataModule(batch_size=16)
        first = evaluator.evaluate(_sample, data)
        second = evaluator.evaluate(_sample, data)  # from the cache, read by both processes
        torch.save({"first": first, "second": second, "hits": evaluator.cache.hits}, f"{out}.{rank}")
    finally:
        torch.distributed.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_give_the_single_process_result(tmp_path):
    single = ImageEvaluator(["fid", "kid", "is"], num_fake=10, num_real=11, batch_size=3, kid_subset_size=5,
                            kid_subsets=4, is_splits=2, cache_dir=str(tmp_path / "single"))
    single.inception = TinyFeatures()
    expected = single.evaluate(_sample, DigitsDataModule(batch_size=16))
    out = tmp_path / "result"
    mp.start_processes(_evaluate_in_process, args=(2, _free_port(), str(tmp_path / "ddp"), str(out)), nprocs=2,
                       start_method="spawn")
    for rank in (0, 1):
        result = torch.load(f"{out}.{rank}", weights_only=False)
        for run in ("first", "second"):
            assert result[run].keys() == expected.keys()
            for key, value in expected.items():
                assert result[run][key] == pytest.approx(value, rel=1e-5, abs=1e-9), (rank, run, key)
        assert result["hits"] == 2  # fid and kid statistics, read back on the second evaluation
    stored = [torch.load(p, weights_only=True) for p in (tmp_path / "ddp").glob("fid-*.pt")]
    assert len(stored) == 1 and int(stored[0]["n"]) == 11  # every real image counted once


# -------------------------------------------------------------- evaluate
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("evaluate") / "dcgan.ckpt"
    trainer = Trainer(accelerator="cpu", max_steps=4, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(path.parent))
    trainer.fit(DCGAN(**TINY_GAN), DigitsDataModule(batch_size=16, seed=3))
    trainer.save_checkpoint(path)
    return path


def test_evaluate_prints_a_table_and_writes_the_protocol(checkpoint, tmp_path, capsys, random_inception_weights):
    args = ["evaluate", str(checkpoint), "--metrics", "fid", "--feature", "64", "--num_fake", "8", "--num_real", "6",
            "--batch_size", "4", "--inception_weights", str(random_inception_weights),
            "--cache_dir", str(tmp_path / "cache"), "--output", str(tmp_path / "fid.json"), "--device", "cpu"]
    main(args)
    out = capsys.readouterr().out
    assert "DCGAN after 2 generator steps, 8 generated vs 6 real (train), real statistics computed" in out
    assert "fid64_8_train6" in out
    report = json.loads((tmp_path / "fid.json").read_text())
    protocol = report["protocol"]
    assert protocol["num_fake"] == 8 and protocol["num_real"] == 6 and protocol["split"] == "train"
    assert protocol["seed"] == 0 and protocol["dataset"] == "DigitsDataModule"
    assert protocol["feature_extractors"]["inception"]["feature"] == 64
    assert protocol["feature_extractors"]["inception"]["antialias"] is False
    main(args)
    assert "real statistics cached" in capsys.readouterr().out
    assert json.loads((tmp_path / "fid.json").read_text())["metrics"] == report["metrics"]


def test_evaluate_rebuilds_the_recorded_datamodule(checkpoint):
    from ganzoo.evaluate import load_datamodule

    data = load_datamodule(str(checkpoint))
    assert isinstance(data, DigitsDataModule) and data.seed == 3 and data.batch_size == 16


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics", "fidd"], "unknown metric 'fidd'"),
        (["--split", "dev"], "unknown split 'dev'"),
        (["--data_dir", "x"], "--data_dir given, but DigitsDataModule takes no data_dir"),
        (["--metrics", "fd_classifier"], "need a domain classifier; pass classifier=mnist, digits or a file"),
    ],
)
def test_evaluate_bad_input_is_one_line(checkpoint, capsys, args, message, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(checkpoint), *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_evaluator_refuses_a_callback_with_two_schedules():
    with pytest.raises(ConfigError, match="give every_n_steps .* or every_n_epochs .*, not both"):
        ImageMetrics(every_n_steps=5, every_n_epochs=1)
