"""RunReport: the end-of-run table and report.json, for image GANs, toys, stops and the CLI."""
import json
import math

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ganzoo import (
    DCGAN, DigitsDataModule, DistributionMonitor, GANCheckpoint, Gaussian1D, ImageMetrics, MaxGeneratorSteps, RunReport,
    SampleGrid, VanillaGAN,
)
from ganzoo.callbacks.report import plain
from ganzoo.cli import GANZooCLI, main
from helpers import ROOT, g_steps_in
from metric_helpers import TinyFeatures

QUICK_START = ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml"


def strict_json(text):
    """Parses JSON that must hold no NaN or Infinity (Python's json would accept them)."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"report.json holds {name}"))


def image_run(tmp_path, *extra):
    """A tiny DCGAN on 8x8 digits for 2 epochs of 2 batches, with image metrics, grids and checkpoints."""
    metrics = ImageMetrics(metrics=["fid", "kid"], num_fake=8, num_real=8, batch_size=4, kid_subsets=2,
                           kid_subset_size=4, every_n_epochs=1, verbose=False)
    metrics.evaluator.inception = TinyFeatures()
    report = RunReport()
    callbacks = [report, metrics, SampleGrid(every_n_steps=2, num_samples=4, nrow=2, interpolation_rows=0),
                 GANCheckpoint(dirpath=tmp_path / "ckpt"), *extra]
    trainer = pl.Trainer(accelerator="cpu", logger=CSVLogger(tmp_path), max_epochs=2, limit_train_batches=2,
                         limit_val_batches=1, num_sanity_val_steps=0, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=callbacks)
    trainer.fit(DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=8, d_width=8), DigitsDataModule(batch_size=16))
    return report, trainer


class LogsNaN(pl.Callback):
    """Logs a metric that is NaN at every validation, as a diverged statistic would be."""

    def on_validation_epoch_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            pl_module.log("val/broken", float("nan"))


def test_an_image_run_reports_every_logged_value_and_its_files(tmp_path, capsys):
    report, trainer = image_run(tmp_path, LogsNaN())
    path = tmp_path / "lightning_logs" / "version_0" / "report.json"
    assert report.path == path
    saved = strict_json(path.read_text())
    assert saved == report.report  # the JSON round-trips to what the callback holds
    logged = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    assert set(saved["metrics"]) == set(logged) >= {"val/fid_8_train8", "val/kid_8_train8", "val/d_loss", "val/broken"}
    for key, value in logged.items():
        assert saved["metrics"][key] == (None if math.isnan(value) else pytest.approx(value)), key
    assert saved["metrics"]["val/broken"] is None  # NaN is null, not an invalid JSON token
    assert (saved["generator_steps"], saved["epochs"], saved["status"]) == (4, 2, "finished")
    assert saved["stop_reason"] == "max_epochs=2 reached" and saved["last_validation_g_steps"] == 4
    assert saved["image_metrics"] == {"generator_steps": 4, "keys": ["val/fid_8_train8", "val/kid_8_train8",
                                                                     "val/kid_8_train8_std"]}
    paths = saved["paths"]
    assert paths["checkpoint"] == str(tmp_path / "ckpt" / "last.ckpt") and paths["sample_grid"].endswith("grid_g000004.png")
    for name in ("checkpoint", "sample_grid", "metrics_jsonl", "run_dir"):
        assert (tmp_path / paths[name]).exists(), name
    printed = capsys.readouterr().out
    assert printed.count("ganzoo: DCGAN on DigitsDataModule: 4 generator steps, 2 epochs") == 1
    for key in logged:
        assert key in printed
    assert f"checkpoint:      {paths['checkpoint']}" in printed and paths["sample_grid"] in printed
    assert "ganzoo: samples after" not in printed  # SampleGrid leaves its line to the report: one table


def test_the_best_checkpoint_is_reported_when_a_monitor_is_set(tmp_path):
    best = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "best", monitor="val/fid_8_train8", save_top_k=1)
    report, _ = image_run(tmp_path, best)
    paths = report.report["paths"]
    assert paths["best_checkpoint"] == best.best_model_path and (tmp_path / paths["best_checkpoint"]).is_file()
    assert paths["best_monitor"] == "val/fid_8_train8" and paths["best_score"] == pytest.approx(float(best.best_model_score))


def toy_trainer(tmp_path, callbacks, g_steps=20, checkpoints=False):
    pl.seed_everything(0)
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16])
    trainer = pl.Trainer(accelerator="cpu", logger=False, default_root_dir=tmp_path, max_epochs=-1,
                         val_check_interval=10, check_val_every_n_epoch=None, limit_val_batches=1,
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=checkpoints,
                         callbacks=[*callbacks, MaxGeneratorSteps(g_steps)])
    return model, trainer


def test_a_toy_run_holds_the_final_metrics_with_their_targets_in_one_table(tmp_path, capsys):
    monitor, report = DistributionMonitor(), RunReport()
    model, trainer = toy_trainer(tmp_path, [monitor, report])
    trainer.fit(model, Gaussian1D(batch_size=32))
    final = json.loads((tmp_path / "final_metrics.json").read_text())  # still written, as CI and tests read it
    saved = strict_json((tmp_path / "report.json").read_text())
    assert saved["final"] == final and final["metrics"] == monitor.final_metrics
    assert saved["final"]["target"] == Gaussian1D().target_metrics()
    assert {"val/ks", "val/w1", "val/mean", "val/std", "val/d_loss"} <= set(saved["metrics"])
    assert saved["stop_reason"] == "max_g_steps=20 reached" and saved["generator_steps"] == 20
    assert saved["paths"]["picture"] == str(monitor.final_figure) and monitor.final_figure.is_file()
    printed = capsys.readouterr().out
    assert printed.count("Gaussian1D after 20 generator steps (") == 1  # the monitor did not print its own
    ks_row = next(line.split() for line in printed.splitlines() if line.split()[:1] == ["ks"])
    assert float(ks_row[1]) == pytest.approx(final["metrics"]["ks"], abs=1e-4) and float(ks_row[2]) == 0.0
    assert f"picture:         {monitor.final_figure}" in printed


class Animates(pl.Callback):
    """Writes an "animation" when training ends, as a GIF-making callback would."""

    animation_path = None

    def on_train_end(self, trainer, pl_module):
        self.animation_path = [trainer.default_root_dir + "/training.gif", None]
        open(self.animation_path[0], "wb").write(b"GIF89a")


def test_animations_and_the_stop_reason_of_other_limits_are_reported(tmp_path, capsys):
    model, trainer = toy_trainer(tmp_path, [Animates(), RunReport()], g_steps=4)
    trainer.fit(model, Gaussian1D(batch_size=32))
    saved = strict_json((tmp_path / "report.json").read_text())
    assert saved["paths"]["animations"] == [str(tmp_path / "training.gif")]
    assert f"animations:      {tmp_path / 'training.gif'}" in capsys.readouterr().out

    model, trainer = toy_trainer(tmp_path / "timed", [RunReport(), pl.callbacks.Timer(duration="00:00:00:00")])
    trainer.fit(model, Gaussian1D(batch_size=32))
    saved = strict_json((tmp_path / "timed" / "report.json").read_text())
    assert (saved["stop_reason"], saved["generator_steps"]) == ("max_time reached", 0)


def test_a_silent_report_leaves_the_monitor_its_own_table(tmp_path, capsys):
    model, trainer = toy_trainer(tmp_path, [DistributionMonitor(), RunReport(verbose=False)], g_steps=10)
    trainer.fit(model, Gaussian1D(batch_size=32))
    printed = capsys.readouterr().out
    assert printed.count("Gaussian1D after 10 generator steps") == 1 and "ganzoo: VanillaGAN on" not in printed
    assert (tmp_path / "report.json").is_file()


class StopsAt(pl.Callback):
    """Raises ``exception`` after the given number of generator steps, between two batches."""

    def __init__(self, g_steps, exception):
        self.g_steps, self.exception = g_steps, exception

    def on_train_batch_end(self, trainer, pl_module, *args):
        if pl_module.g_steps >= self.g_steps:
            raise self.exception


@pytest.mark.parametrize("exception, status, reason, saved_at", [
    (SIGTERMException(), "stopped", "SIGTERM", 3),
    # inside a batch the weights may be half-updated: GANCheckpoint saves nothing, and the report claims no file
    (RuntimeError("disk on fire\nsecond line"), "failed", "RuntimeError: disk on fire", None),
], ids=["sigterm", "error"])
def test_a_run_stopped_after_its_first_update_gets_a_partial_report(tmp_path, exception, status, reason, saved_at):
    report = RunReport(verbose=False)
    model, trainer = toy_trainer(tmp_path, [GANCheckpoint(dirpath=tmp_path / "ckpt"), report, StopsAt(3, exception)],
                                 checkpoints=True)
    with pytest.raises(type(exception)):
        trainer.fit(model, Gaussian1D(batch_size=32))
    saved = strict_json((tmp_path / "report.json").read_text())
    assert (saved["status"], saved["stop_reason"], saved["generator_steps"]) == (status, reason, 3)
    assert trainer.callbacks[-1] is report  # behind GANCheckpoint: it sees the last.ckpt written for this very step
    checkpoint = saved["paths"].get("checkpoint")
    if saved_at is None:
        assert checkpoint is None and not (tmp_path / "ckpt" / "last.ckpt").exists()
    else:
        assert checkpoint == str(tmp_path / "ckpt" / "last.ckpt")
        assert g_steps_in(checkpoint) == saved_at


class FailsAtStart(pl.Callback):
    def on_train_start(self, trainer, pl_module):
        raise RuntimeError("at once")


def test_a_run_stopped_before_its_first_update_writes_no_report(tmp_path):
    model, trainer = toy_trainer(tmp_path, [RunReport(), FailsAtStart()])
    with pytest.raises(RuntimeError, match="at once"):
        trainer.fit(model, Gaussian1D(batch_size=32))
    assert not (tmp_path / "report.json").exists()


def test_plain_values_are_json_numbers_and_nan_is_null():
    values = plain({"a": torch.tensor(2.5), "b": float("nan"), "c": torch.tensor(float("inf")), "d": [1, -math.inf]})
    assert values == {"a": 2.5, "b": None, "c": None, "d": [1, None]}
    assert json.loads(json.dumps(values, allow_nan=False)) == values


def test_the_cli_reports_once_and_a_config_may_bring_its_own(tmp_path, capsys):
    args = ["--config", str(QUICK_START), "--max_g_steps=20", "--trainer.val_check_interval=10",
            "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path / 'run'}"]
    main(["fit", *args])
    printed = capsys.readouterr().out
    assert printed.count("ganzoo: VanillaGAN on Gaussian1D: 20 generator steps") == 1
    assert printed.count("Gaussian1D after 20 generator steps (") == 1
    saved = strict_json((tmp_path / "run" / "report.json").read_text())
    assert saved["paths"]["config"] == str(tmp_path / "run" / "config.yaml") and "val/ks" in saved["metrics"]
    assert saved["paths"]["checkpoint"] == str(tmp_path / "run" / "checkpoints" / "last.ckpt")

    own = tmp_path / "own.yaml"
    own.write_text("trainer:\n  callbacks:\n    - class_path: ganzoo.RunReport\n      init_args: {verbose: false}\n")
    cli = GANZooCLI(args=[*args[:-1], f"--trainer.default_root_dir={tmp_path / 'other'}", "--config", str(own)], run=False)
    reports = [callback for callback in cli.trainer.callbacks if isinstance(callback, RunReport)]
    assert len(reports) == 1 and reports[0].verbose is False
