"""Regularisers from a YAML through the real CLI: parsed, trained, checkpointed with their state, resumed."""
from pathlib import Path

import pytest
import torch
import yaml

from ganzoo import R1, GANModule, LeCam
from ganzoo.cli import main

ROOT = Path(__file__).resolve().parents[2]
QUICK_START = ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml"
REGULARISERS = {
    "model": {
        "init_args": {
            "regularisers": [
                {"class_path": "ganzoo.R1", "init_args": {"gamma": 10}},
                {"class_path": "ganzoo.LeCam", "init_args": {"weight": 0.1}},
            ]
        }
    }
}


def fit(tmp_path, name, steps, *extra):
    config = tmp_path / "regularisers.yaml"
    config.write_text(yaml.safe_dump(REGULARISERS))
    main(["fit", "--config", str(QUICK_START), "--config", str(config), f"--max_g_steps={steps}",
          f"--trainer.logger.init_args.save_dir={tmp_path / name}", f"--trainer.default_root_dir={tmp_path / name}",
          "--trainer.limit_val_batches=0", "--trainer.log_every_n_steps=1", *extra])  # fmt: skip
    return next((tmp_path / name).rglob("last.ckpt"))


@pytest.mark.slow  # two trainings through the CLI: 18 s
def test_a_yaml_list_of_regularisers_trains_checkpoints_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    first = fit(tmp_path, "first", 3)
    model = GANModule.load_from_checkpoint(first)  # the checkpoint's arguments rebuild them
    r1, lecam = model.regularisers
    assert isinstance(r1, R1) and r1.gamma == 10 and isinstance(lecam, LeCam) and lecam.weight == 0.1
    assert int(lecam.updates) == 3 and float(lecam.anchor_real) != 0
    stored = torch.load(first, weights_only=True)["state_dict"]
    assert float(stored["regularisers.1.anchor_fake"]) == float(lecam.anchor_fake)

    resumed = GANModule.load_from_checkpoint(fit(tmp_path, "resumed", 6, f"--ckpt_path={first}"))
    assert resumed.g_steps == 6 and int(resumed.regularisers[1].updates) == 6  # the anchors went on from the checkpoint
    assert resumed.regularisers[0].gamma == 10


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"class_path": "ganzoo.R1", "init_args": {"gamma": -1}}, "r1 gamma must be a number >= 0, got -1"),
        ({"class_path": "ganzoo.R1", "init_args": {"every": 0}}, "r1 every must be a positive integer, got 0"),
    ],
)
def test_bad_regulariser_settings_fail_with_one_line(entry, message, tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"model": {"init_args": {"regularisers": [entry]}}}))
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(QUICK_START), "--config", str(config), f"--trainer.default_root_dir={tmp_path}",
              f"--trainer.logger.init_args.save_dir={tmp_path}"])  # fmt: skip
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganzoo: error:")]
    assert info.value.code == 2 and len(err) == 1 and message in err[0], err
