"""Counts a user reads are generator steps: every logger's x axis, pictures in TensorBoard, checkpoint names."""
import csv

import pytest
import torch
from helpers import ROOT, g_steps_in
from jsonargparse import Namespace
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import ganzoo.loggers
from ganzoo import (DCGAN, DigitsDataModule, GANCheckpoint, GANModule, MaxGeneratorSteps, Ring2D, SampleGrid,
                    TensorBoardLogger, VanillaGAN)  # fmt: skip
from ganzoo.cli import main
from ganzoo.commands.fit import _no_hp_metric
from ganzoo.errors import ConfigError

QUIET = dict(accelerator="cpu", devices=1, max_epochs=-1, enable_progress_bar=False, enable_model_summary=False,
             check_val_every_n_epoch=None, limit_val_batches=1)  # fmt: skip


def tiny_ring_gan(n_critic):
    return VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], n_critic=n_critic)


def test_tensorboard_gets_the_grids_and_every_value_at_generator_steps(tmp_path):
    """n_critic=2: 8 batches for 4 G steps. Grids every 2 G steps, validations every 4 batches (2 G steps)."""
    model = DCGAN(data_shape=[1, 8, 8], latent_dim=8, g_width=4, d_width=4, n_critic=2)
    logger = TensorBoardLogger(save_dir=str(tmp_path), name="tiny")
    grids = SampleGrid(every_n_steps=2, interpolation_rows=2, interpolation_steps=3, verbose=False)
    trainer = Trainer(**QUIET, logger=logger, enable_checkpointing=False, log_every_n_steps=1, val_check_interval=4,
                      callbacks=[MaxGeneratorSteps(4), grids])  # fmt: skip
    trainer.fit(model, DigitsDataModule(batch_size=8))
    assert logger.log_dir == str(tmp_path / "tiny" / "version_0")
    events = EventAccumulator(logger.log_dir, size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    images = events.Images("samples/grid")
    assert [image.step for image in images] == [0, 2, 4]  # G steps, where samples/grid_g*.png were written
    assert {(image.width, image.height) for image in images} == {(34 * 8 + 2, 34 * 8 + 2)}  # 8 px shown at 32 px
    assert [image.step for image in events.Images("samples/interpolation")] == [0, 2, 4]
    assert [s.step for s in events.Scalars("train/d_loss")] == [0, 1, 1, 2, 2, 3, 3, 4]  # each batch, 2 per G step
    assert [s.step for s in events.Scalars("val/d_loss")] == [2, 4]
    assert [s.step for s in events.Scalars("val/classifier_score")] == [2, 4]  # the digits' own metric, at G steps
    assert {s.value for s in events.Scalars("epoch")} == {0.0}
    assert "hp_metric" not in events.Tags()["scalars"]


def test_the_csv_step_column_counts_generator_steps(tmp_path):
    """n_critic=5: a value every 5 batches is one per G step; validations every 10 batches are every 2 G steps."""
    logger = CSVLogger(tmp_path)
    trainer = Trainer(**QUIET, logger=logger, enable_checkpointing=False, log_every_n_steps=5, val_check_interval=10,
                      callbacks=[MaxGeneratorSteps(6)])  # fmt: skip
    trainer.fit(tiny_ring_gan(5), Ring2D(batch_size=16))
    with open(tmp_path / "lightning_logs" / "version_0" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows if r["train/d_loss"]] == [1, 2, 3, 4, 5, 6]  # not batches 5, 10, ..., 30
    assert [int(r["step"]) for r in rows if r["val/d_loss"]] == [2, 4, 6]
    assert [int(r["step"]) for r in rows if r["val/modes"]] == [2, 4, 6]  # the distribution metrics too
    assert {float(r["epoch"]) for r in rows} == {0.0}


def test_checkpoint_names_count_generator_steps_and_every_n_g_steps_saves_by_them(tmp_path):
    checkpoint = GANCheckpoint(dirpath=tmp_path / "default", every_n_g_steps=3, save_top_k=-1)
    # two GANCheckpoints in one trainer must differ in their state key: every_n_g_steps is part of it
    own = GANCheckpoint(dirpath=tmp_path / "own", filename="{g_step}-{step}", every_n_g_steps=6, save_top_k=-1)
    trainer = Trainer(**QUIET, logger=False, val_check_interval=4, callbacks=[MaxGeneratorSteps(7), checkpoint, own])
    trainer.fit(tiny_ring_gan(2), Ring2D(batch_size=16))
    assert sorted(p.name for p in (tmp_path / "default").glob("*.ckpt")) == [
        "epoch=0-g_step=3.ckpt", "epoch=0-g_step=6.ckpt", "last.ckpt"]  # fmt: skip
    assert GANModule.load_from_checkpoint(tmp_path / "default" / "epoch=0-g_step=6.ckpt").g_steps == 6
    # {step} keeps Lightning's meaning: optimizer steps, n_critic + 1 = 3 per G step
    assert sorted(p.name for p in (tmp_path / "own").glob("g_step*.ckpt")) == ["g_step=6-step=18.ckpt"]


def test_a_resumed_run_goes_on_saving_every_n_g_steps_without_a_second_file_for_the_same_step(tmp_path):
    def run(g_steps, ckpt_path=None):
        checkpoint = GANCheckpoint(dirpath=tmp_path, every_n_g_steps=2, save_top_k=-1)
        trainer = Trainer(**{**QUIET, "limit_val_batches": 0}, logger=False, callbacks=[MaxGeneratorSteps(g_steps), checkpoint])
        trainer.fit(tiny_ring_gan(2), Ring2D(batch_size=16), ckpt_path=ckpt_path)

    run(4)
    run(8, ckpt_path=tmp_path / "last.ckpt")  # resumes at G step 4, which is saved already
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == [
        f"epoch=0-g_step={g}.ckpt" for g in (2, 4, 6, 8)] + ["last.ckpt"]  # fmt: skip
    assert g_steps_in(tmp_path / "last.ckpt") == 8


def test_top_k_keeps_the_best_and_names_each_by_its_validation_s_generator_step(tmp_path):
    checkpoint = GANCheckpoint(dirpath=tmp_path, monitor="val/d_loss", save_top_k=2)
    trainer = Trainer(**QUIET, logger=False, val_check_interval=2, callbacks=[MaxGeneratorSteps(6), checkpoint])
    trainer.fit(tiny_ring_gan(1), Ring2D(batch_size=16))  # validations after G steps 2, 4 and 6
    kept = sorted(p.name for p in tmp_path.glob("epoch=*.ckpt"))
    assert len(kept) == 2 and set(kept) <= {f"epoch=0-g_step={g}.ckpt" for g in (2, 4, 6)}
    assert sorted(checkpoint.best_k_models) == sorted(str(tmp_path / name) for name in kept)
    for name in kept:
        loaded = torch.load(tmp_path / name, weights_only=True)
        assert loaded["ganzoo_counters"]["g_steps"] == int(name.split("g_step=")[1].split(".")[0])
    assert (tmp_path / "last.ckpt").is_file()


def test_every_n_g_steps_and_every_n_train_steps_are_not_both_given():
    with pytest.raises(ConfigError, match="every_n_g_steps=5 or every_n_train_steps=10, not both"):
        GANCheckpoint(every_n_g_steps=5, every_n_train_steps=10)
    with pytest.raises(ConfigError, match="every_n_g_steps must be a positive integer, got 0"):
        GANCheckpoint(every_n_g_steps=0)


def test_a_missing_tensorboard_is_one_line_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(ganzoo.loggers, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"^ganzoo.TensorBoardLogger needs tensorboard, which is not installed; "
                                          r"pip install 'ganzoo\[tensorboard\]'"):  # fmt: skip
        TensorBoardLogger(save_dir=str(tmp_path))
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml"), "--trainer.logger=ganzoo.TensorBoardLogger",
              f"--trainer.logger.init_args.save_dir={tmp_path}"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and "\n" not in err
    assert err.startswith("ganzoo: error: trainer.logger ganzoo.TensorBoardLogger needs tensorboard")
    assert "pip install 'ganzoo[tensorboard]'" in err and not list(tmp_path.iterdir())  # nothing written


def test_the_cli_turns_off_hp_metric_unless_the_user_set_it(tmp_path):
    def trainer_config():
        init_args = Namespace(save_dir="runs", default_hp_metric=True)
        return Namespace(logger=[Namespace(class_path="lightning.pytorch.loggers.TensorBoardLogger", init_args=init_args)])

    unset = trainer_config()
    _no_hp_metric(unset, ["fit", "--trainer.logger=lightning.pytorch.loggers.TensorBoardLogger"])
    assert unset.logger[0].init_args.default_hp_metric is False
    on_command_line = trainer_config()
    _no_hp_metric(on_command_line, ["fit", "--trainer.logger.init_args.default_hp_metric=true"])
    assert on_command_line.logger[0].init_args.default_hp_metric is True
    config = tmp_path / "tb.yaml"
    config.write_text("trainer:\n  logger:\n    class_path: TensorBoardLogger\n    init_args: {default_hp_metric: true}\n")
    in_config = trainer_config()
    _no_hp_metric(in_config, ["fit", "--config", str(config)])
    assert in_config.logger[0].init_args.default_hp_metric is True
