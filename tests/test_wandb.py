"""W&B: the zoo's logger goes offline by itself, and an offline run holds losses, config and grids."""
from pathlib import Path

import numpy as np
import pytest
import yaml
from wandb_offline import read_offline_run, records

from ganzoo import WandbLogger
from ganzoo.cli import main

DIGITS = Path(__file__).resolve().parents[1] / "zoo_configs" / "dcgan_digits.yaml"


def test_an_offline_run_through_the_cli_can_be_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    args = ["fit", "--config", str(DIGITS), "--max_g_steps=4", f"--trainer.logger.init_args.save_dir={tmp_path}",
            "--trainer.log_every_n_steps=1", "--trainer.val_check_interval=4", "--trainer.limit_val_batches=1"]
    main(args)
    main(args)  # a second run in the same directory: Lightning's config.yaml would clash here
    offline_runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 2
    for offline_run in offline_runs:
        run = read_offline_run(offline_run)
        logged = set().union(*run["history"])
        assert {"train/d_loss", "train/g_loss", "train/d_real", "val/d_loss", "val/classifier_score"} <= logged
        config = run["config"]["config"]  # the resolved config, as `ganzoo fit --print_config` shows it
        assert config["model"]["class_path"] == "ganzoo.DCGAN" and config["max_g_steps"] == 4
        assert run["config"]["data_shape"] == [1, 16, 16]  # the model's hyperparameters, linked from the data
        images = sorted(p.name.split("_")[0] for p in (offline_run / "files" / "media" / "images" / "samples").glob("*.png"))
        assert images == ["grid", "grid", "interpolation", "interpolation"]  # at the start and at the end
        grid_steps = [h["trainer/g_step"] for h in run["history"] if "samples/grid/_type" in h]
        # on the losses' axis, in generator steps: 4, not 8 batches (the recipe's n_critic is 2) nor 12 optimizer steps
        assert grid_steps == [0, 4]
        loss_steps = [h["trainer/g_step"] for h in run["history"] if "train/d_loss" in h]
        assert loss_steps == [0, 1, 1, 2, 2, 3, 3, 4]  # a value per batch (log_every_n_steps=1), two per G step
        # val_check_interval=4 counts batches: a validation every 2 G steps
        assert [h["trainer/g_step"] for h in run["history"] if "val/d_loss" in h] == [2, 4]
        assert "trainer/global_step" not in logged
        axes = [r.metric.step_metric for r in records(next(offline_run.glob("run-*.wandb")))
                if r.WhichOneof("record_type") == "metric" and r.metric.glob_name == "*"]  # fmt: skip
        assert axes[-1] == "trainer/g_step"  # the last definition of every chart's x axis wins
        assert run["summary"]["samples/grid/_type"] == "images/separated" and run["summary"]["samples/grid/count"] == 1
        # ganzoo's own run directory: one per run, named by the W&B run id
        run_id = offline_run.name.rsplit("-", 1)[-1]
        run_dir = tmp_path / "ganzoo" / run_id
        assert yaml.safe_load((run_dir / "config.yaml").read_text())["max_g_steps"] == 4
        assert (run_dir / "checkpoints" / "last.ckpt").is_file()
        assert sorted(p.name for p in (run_dir / "samples").glob("grid_*.png")) == ["grid_g000000.png", "grid_g000004.png"]
    # the checkpoint the CLI wrote serves `ganzoo generate`, with no config
    main(["generate", str(run_dir / "checkpoints" / "last.ckpt"), "--num_samples=5", f"--output={tmp_path / 's.npz'}"])
    assert np.load(tmp_path / "s.npz")["samples"].shape == (5, 16, 16, 1)


def test_no_credentials_means_offline_with_a_notice(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    (tmp_path / "netrc").write_text("")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    logger = WandbLogger(save_dir=str(tmp_path), log_model=True)
    assert logger._offline and logger._log_model is False and logger.name == "ganzoo"
    err = capsys.readouterr().err
    assert "no W&B credentials" in err and "wandb sync" in err and "checkpoints stay on disk" in err

    (tmp_path / "netrc").write_text("machine api.wandb.ai login user password " + "0" * 40 + "\n")
    assert not WandbLogger(save_dir=str(tmp_path))._offline  # `wandb login` wrote this: online
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert WandbLogger(save_dir=str(tmp_path))._offline
    assert capsys.readouterr().err == ""  # asked for offline: nothing to announce


@pytest.mark.parametrize("offline", [True, False])
def test_an_explicit_mode_is_kept(tmp_path, monkeypatch, offline):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    assert WandbLogger(save_dir=str(tmp_path), offline=offline)._offline is offline
