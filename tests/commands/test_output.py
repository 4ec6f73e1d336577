"""What ``ganzoo fit`` prints: a progress bar by default, no upstream chatter unless --verbose, where the run
is written, and why it stopped, in generator steps."""
import logging
import os
import re
import subprocess
import sys
import warnings

import pytest
from helpers import ROOT
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar

from ganzoo import GANProgressBar, MaxGeneratorSteps, VanillaGAN, WandbLogger
from ganzoo.cli import GANZooCLI, main
from ganzoo.commands.quiet import HIDDEN_INFO, quiet_upstream, quiet_wandb
from ganzoo.compat import wandb_init_kwargs
from ganzoo.data import Gaussian1D

QUICK_START = ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml"


@pytest.fixture
def lightning_info():
    """Info records of Lightning's rank-zero logger, which tests/conftest.py otherwise keeps at ERROR."""
    logger, records = logging.getLogger("lightning.pytorch.utilities.rank_zero"), []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_quiet_upstream_hides_the_named_lines_and_warnings_only_while_it_lasts(lightning_info):
    logger, records = lightning_info
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with quiet_upstream():
            for message in ("💡 Tip: try litlogger", "GPU available: False, used: False", "a real notice"):
                logger.info(message)
            warnings.warn_explicit("`isinstance(treespec, LeafSpec)` is deprecated", FutureWarning, "_pytree.py", 21,
                                   module="lightning.pytorch.utilities._pytree")  # fmt: skip
            warnings.warn_explicit("`isinstance(treespec, LeafSpec)` is deprecated", FutureWarning, "mine.py", 1,
                                   module="mypackage")  # the same words from elsewhere: shown  # fmt: skip
            warnings.warn("a real warning", UserWarning)
        logger.info("💡 Tip: after the command")
    assert records == ["a real notice", "💡 Tip: after the command"]
    assert [(w.category, w.filename) for w in shown] == [(FutureWarning, "mine.py"), (UserWarning, __file__)]


def test_quiet_wandb_asks_an_unstarted_run_for_quiet_output(tmp_path):
    plain, tuned = WandbLogger(save_dir=str(tmp_path), offline=True), WandbLogger(save_dir=str(tmp_path), offline=True,
                                                                                  settings={"quiet": False, "x_a": 1})
    quiet_wandb([plain, tuned])
    assert wandb_init_kwargs(plain)["settings"] == {"quiet": True}
    assert wandb_init_kwargs(tuned)["settings"] == {"quiet": False, "x_a": 1}  # the user's choice stays


def cli(tmp_path, *extra):
    args = ["--config", str(QUICK_START), "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}", *extra]
    return GANZooCLI(args=args, run=False)


@pytest.mark.parametrize(
    "extra, bar",
    [
        ((), GANProgressBar),
        (("--trainer.enable_progress_bar=false",), None),
        (("--trainer.callbacks+=lightning.pytorch.callbacks.TQDMProgressBar",), TQDMProgressBar),  # the config's own
    ],
)
def test_the_cli_adds_a_gan_progress_bar_unless_the_config_says_otherwise(tmp_path, extra, bar):
    trainer = cli(tmp_path, *extra).trainer
    bars = [type(callback) for callback in trainer.callbacks if isinstance(callback, ProgressBar)]
    assert bars == ([bar] if bar else [])


def test_an_epoch_budget_ends_with_ganzoos_line_and_a_silenced_bar_prints_no_progress(tmp_path, capsys):
    assert not any(logging.getLogger(name).filters for name in HIDDEN_INFO)  # import ganzoo installs nothing
    warning_filters = list(warnings.filters)
    main(["fit", "--config", str(QUICK_START), "--max_g_steps=null", "--trainer.max_epochs=2",
          "--trainer.limit_train_batches=3", "--trainer.logger=false", "--trainer.enable_progress_bar=false",
          f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    out = capsys.readouterr().out
    assert out.count("ganzoo: writing") == 1 and f"ganzoo: writing {tmp_path}/ (config.yaml, checkpoints/" in out
    assert "ganzoo: stopped after 6 generator steps (max_epochs=2)" in out.splitlines()
    assert "G steps" not in out  # enable_progress_bar: false
    for name in HIDDEN_INFO:  # the command's filters are gone with it
        assert not logging.getLogger(name).filters
    assert warnings.filters == warning_filters


def test_python_users_of_max_generator_steps_get_the_stop_line_in_generator_steps(trainer_kwargs, capsys):
    model = VanillaGAN(data_shape=[1], latent_dim=2, g_hidden_dims=[8], d_hidden_dims=[8], n_critic=2)
    trainer = Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(3)])
    trainer.fit(model, Gaussian1D(batch_size=16, num_train=64, num_val=16))
    assert capsys.readouterr().out == "ganzoo: stopped after 3 generator steps (max_g_steps=3)\n"


@pytest.mark.slow
def test_verbose_shows_lightnings_and_wandbs_own_lines_again(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "WANDB_SILENT"}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]), WANDB_MODE="offline")
    args = [sys.executable, "-m", "ganzoo", "fit", "--config", str(QUICK_START), "--max_g_steps=50", "--verbose",
            f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}"]  # fmt: skip
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for line in ("Seed set to 0", "GPU available", "💡 Tip", "`isinstance(treespec, LeafSpec)` is deprecated",
                 "`Trainer.fit` stopped: `max_steps=100` reached.", "wandb: Run history:"):  # fmt: skip
        assert line in result.stderr, line
    assert re.search(r"^ganzoo: stopped after 50 generator steps \(max_g_steps=50\)$", result.stdout, flags=re.M)
