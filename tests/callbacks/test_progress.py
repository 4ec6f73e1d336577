"""GANProgressBar: generator steps of the run's total, rate and ETA, D's and G's state; a bar on a terminal, lines elsewhere."""
import os
import re
import subprocess
import sys

import pytest
import torch
from lightning.pytorch import Trainer
from helpers import ROOT
from terminal import run_in_terminal, strip_ansi

from ganzoo import ConfigError, GANProgressBar, MaxGeneratorSteps, VanillaGAN
from ganzoo.callbacks.progress import game_text, total_g_steps
from ganzoo.data import Gaussian1D

QUICK_START = ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml"
#: a plain line of the display: phase, G steps done of the total, share, rate, time, ETA, then the game
LINE = re.compile(
    r"^(training|trained) (\d+)/(\d+|\?) G steps(?: \((\d+)%\))?, ([\d.]+|-) G steps/s, \d+:\d\d:\d\d elapsed, "
    r"ETA (\d+:\d\d:\d\d|\?)(?: \| (.*))?$"
)


def tiny_gan(**kwargs):
    return VanillaGAN(data_shape=[1], latent_dim=2, g_hidden_dims=[8], d_hidden_dims=[8], **kwargs)


def fit(trainer_kwargs, bar, model=None, callbacks=(), **settings):
    trainer_kwargs.update(enable_progress_bar=True, log_every_n_steps=1, limit_val_batches=0, max_epochs=-1)
    trainer = Trainer(**{**trainer_kwargs, **settings}, callbacks=[*callbacks, bar])
    trainer.fit(model or tiny_gan(), Gaussian1D(batch_size=16, num_train=128, num_val=32))
    return trainer


def lines(out: str) -> list[re.Match]:
    return [match for match in map(LINE.match, out.splitlines()) if match]


def test_lines_count_generator_steps_of_max_g_steps_with_the_losses_and_ds_verdicts(trainer_kwargs, capsys):
    torch.manual_seed(0)
    fit(trainer_kwargs, GANProgressBar(refresh_seconds=0), callbacks=[MaxGeneratorSteps(12)])
    shown = lines(capsys.readouterr().out)  # pytest's capture is no terminal: plain lines
    assert [m[1] for m in shown] == ["training"] * 12 + ["trained"]  # a line per batch, then the last
    assert [int(m[2]) for m in shown] == [*range(1, 13), 12] and {m[3] for m in shown} == {"12"}
    assert shown[-1][4] == "100" and shown[-1][6] == "0:00:00"
    game = shown[-1][7]
    assert re.fullmatch(r"D loss [\d.]+  G loss [\d.]+  D\(x\) 0\.\d{3}  D\(G\(z\)\) 0\.\d{3}", game), game


def test_the_interval_sets_how_often_a_line_is_written(trainer_kwargs, capsys):
    fit(trainer_kwargs, GANProgressBar(refresh_seconds=3600), callbacks=[MaxGeneratorSteps(12)])
    shown = lines(capsys.readouterr().out)
    assert [(m[1], m[2]) for m in shown] == [("training", "1"), ("trained", "12")]  # the first batch, and the end


@pytest.mark.parametrize(
    "settings, rhythm, total",
    [
        ({"max_epochs": 3}, {"n_critic": 2}, "12"),  # 3 epochs of 8 batches, one G step per 2 batches
        ({"max_steps": 12}, {"n_critic": 2}, "4"),  # optimizer steps: 3 per G step
        ({"max_steps": 14}, {"n_critic": 2}, "5"),  # the 14th is G's 5th step
        ({"max_epochs": 3, "max_steps": 9}, {"n_critic": 1}, "5"),  # the tighter budget: the 5th batch's D step
        ({"max_epochs": 3}, {"g_steps_per_d_step": 2}, "24"),  # a G step per batch
        ({"max_steps": 8}, {"g_steps_per_d_step": 2}, "5"),  # D and G, G, D and G, G, D and G: 8 optimizer steps
        ({"max_steps": 7}, {"g_steps_per_d_step": 2}, "5"),  # the batch that reaches 7 makes 8
    ],
)
def test_the_total_is_the_budget_in_generator_steps(trainer_kwargs, capsys, settings, rhythm, total):
    fit(trainer_kwargs, GANProgressBar(refresh_seconds=3600), model=tiny_gan(**rhythm), **settings)
    last = lines(capsys.readouterr().out)[-1]
    assert (last[1], last[2], last[3]) == ("trained", total, total)


def test_a_run_without_a_budget_has_no_total():
    trainer = Trainer(max_epochs=-1, logger=False, enable_progress_bar=False)
    assert total_g_steps(trainer, tiny_gan()) is None


def test_a_resumed_run_counts_on_from_its_checkpoint(trainer_kwargs, capsys, tmp_path):
    trainer = fit(trainer_kwargs, GANProgressBar(refresh_seconds=3600), callbacks=[MaxGeneratorSteps(6)])
    trainer.save_checkpoint(tmp_path / "half.ckpt")
    capsys.readouterr()
    resumed = Trainer(**trainer_kwargs, callbacks=[MaxGeneratorSteps(10), GANProgressBar(refresh_seconds=3600)])
    resumed.fit(tiny_gan(), Gaussian1D(batch_size=16, num_train=128, num_val=32), ckpt_path=tmp_path / "half.ckpt")
    assert [(m[2], m[3]) for m in lines(capsys.readouterr().out)] == [("7", "10"), ("10", "10")]


@pytest.mark.parametrize(
    "probabilistic, metrics, shown",
    [
        (True, {"train/d_real": 0.75, "train/d_fake": 0.25, "train/d_acc_real": 1.0}, "D(x) 0.750  D(G(z)) 0.250"),
        (False, {"train/d_real": 2.5, "train/d_fake": -1.0, "train/d_acc_real": 0.5, "train/d_acc_fake": 0.875},
         "D acc real 0.500  D acc fake 0.875"),  # hinge, lsgan: a decision level
        (False, {"train/d_real": 2.5, "train/d_fake": -1.0}, "D score real 2.500  D score fake -1.000"),  # a critic
    ],
)  # fmt: skip
def test_ds_verdicts_are_probabilities_accuracies_or_raw_scores_by_the_loss(probabilistic, metrics, shown):
    metrics = {"train/d_loss": torch.tensor(1.25), "train/g_loss": torch.tensor(0.5), **metrics}
    assert game_text(metrics, probabilistic) == f"D loss 1.250  G loss 0.500  {shown}"
    assert game_text(metrics, probabilistic, {"lr": 2e-4}).endswith(f"{shown}  lr 0.0002")  # prog_bar=True values
    assert game_text({}, probabilistic) == ""  # nothing logged yet


def test_the_hinge_loss_shows_ds_accuracy_in_training(trainer_kwargs, capsys):
    fit(trainer_kwargs, GANProgressBar(refresh_seconds=3600), model=tiny_gan(loss="hinge"), max_steps=8)
    assert re.search(r"D acc real [\d.]+  D acc fake [\d.]+$", lines(capsys.readouterr().out)[-1][7])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"refresh_seconds": -1}, "GANProgressBar refresh_seconds must be a number >= 0, got -1"),
        ({"refresh_seconds": float("nan")}, "GANProgressBar refresh_seconds must be a finite number >= 0, got nan"),
        ({"style": "fancy"}, "unknown GANProgressBar style 'fancy'; choose one of: auto, lines, rich, tqdm"),
    ],
)
def test_bad_arguments_are_one_line(kwargs, message):
    with pytest.raises(ConfigError) as info:
        GANProgressBar(**kwargs)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_it_is_the_trainers_progress_bar_and_draws_nothing_when_disabled(trainer_kwargs, capsys):
    bar = GANProgressBar(refresh_seconds=0)
    trainer = Trainer(**{**trainer_kwargs, "enable_progress_bar": True}, callbacks=[bar])
    assert trainer.progress_bar_callback is bar  # Lightning adds no bar of its own
    bar.disable()  # what Lightning's ProgressBar.setup does on ranks other than 0 (DDP)
    fit(trainer_kwargs, bar, callbacks=[MaxGeneratorSteps(3)])  # a fresh trainer: setup enables nothing
    assert lines(capsys.readouterr().out) == []


def cli_env():
    env = {key: value for key, value in os.environ.items() if key != "WANDB_SILENT"}
    return {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]), "WANDB_MODE": "offline",
            "OMP_NUM_THREADS": "1"}  # fmt: skip


def quick_start(tmp_path, steps=200, *extra):
    return [sys.executable, "-m", "ganzoo", "fit", "--config", str(QUICK_START), f"--max_g_steps={steps}",
            f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}", *extra]  # fmt: skip


@pytest.mark.slow
def test_the_quick_start_in_a_terminal_shows_a_rich_bar_in_generator_steps_and_little_else(tmp_path):
    screen = strip_ansi(run_in_terminal(quick_start(tmp_path), cwd=tmp_path, env=cli_env()))
    assert re.search(r"trained ━+ 200/200 G steps • [\d.]+ G steps/s, \d:\d\d:\d\d elapsed, ETA 0:00:00", screen), screen
    assert re.search(r"D loss [\d.]+  G loss [\d.]+  D\(x\) [\d.]+  D\(G\(z\)\) [\d.]+", screen)
    assert "training ━" in screen and "Epoch" not in screen and "/-2" not in screen
    # quiet by default: ganzoo's lines, W&B's offline notice, and none of Lightning's or W&B's chatter
    assert len(re.findall(r"^ganzoo: writing .*runs/ganzoo/\w+/ \(config\.yaml, checkpoints/", screen, flags=re.M)) == 1
    assert "ganzoo: stopped after 200 generator steps (max_g_steps=200)" in screen
    for chatter in ("Tip", "Seed set", "GPU available", "`Trainer.fit` stopped", "Run history", "Run summary",
                    "deprecated", "Warning"):  # fmt: skip
        assert chatter not in screen, chatter


@pytest.mark.slow
def test_a_tqdm_bar_named_in_the_config_replaces_the_default_one(tmp_path):
    bar = '--trainer.callbacks+={"class_path": "ganzoo.GANProgressBar", "init_args": {"style": "tqdm"}}'
    screen = strip_ansi(run_in_terminal(quick_start(tmp_path, 100, bar), cwd=tmp_path, env=cli_env()))
    assert re.search(r"trained \|█+\| 100/100 G steps, [\d.]+ G steps/s, .*, D loss [\d.]+", screen), screen
    assert "━" not in screen  # no rich bar beside it


@pytest.mark.slow
def test_through_a_pipe_the_quick_start_writes_plain_lines(tmp_path):
    result = subprocess.run(quick_start(tmp_path), cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    shown = lines(result.stdout)
    assert shown and shown[-1][0].startswith("trained 200/200 G steps (100%)"), result.stdout
    assert re.fullmatch(r"D loss [\d.]+  G loss [\d.]+  D\(x\) [\d.]+  D\(G\(z\)\) [\d.]+", shown[-1][7])
    assert "\r" not in result.stdout and "\x1b[" not in result.stdout  # no redrawing
