"""A fit resumed with ``--ckpt_path`` from a run's directory continues that run: one W&B run, one directory."""
import json
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, g_steps_in
from jsonargparse import Namespace
from metric_helpers import TinyFeatures
from wandb_offline import read_offline_run

from ganzoo import ImageMetrics, WandbLogger
from ganzoo.cli import main
from ganzoo.commands.resumed_run import continue_run

ZOO = ROOT / "zoo_configs"


class TinyImageMetrics(ImageMetrics):
    """ImageMetrics with cheap features in place of InceptionV3, so a CLI run writes ``metrics.jsonl`` in a second."""

    def __init__(self, every_n_steps: int = 2):
        super().__init__(every_n_steps=every_n_steps, verbose=False, metrics=["fid"], num_fake=8, num_real=8,
                         batch_size=4)  # fmt: skip
        self.evaluator.inception = TinyFeatures()


def digits_fit(save_dir, g_steps, *extra):
    """``ganzoo fit`` of the digits recipe, shrunk: a validation (and a metrics.jsonl line) every 2 G steps."""
    main(["fit", "--config", str(ZOO / "dcgan_digits.yaml"), f"--max_g_steps={g_steps}",
          f"--trainer.logger.init_args.save_dir={save_dir}", "--trainer.log_every_n_steps=1",
          "--trainer.val_check_interval=4", "--trainer.limit_val_batches=1", "--model.init_args.g_width=8",
          "--model.init_args.d_width=8", f"--trainer.callbacks+={__name__}.TinyImageMetrics", *extra])  # fmt: skip


@pytest.mark.slow
def test_a_fit_resumed_from_last_ckpt_continues_its_wandb_run_in_its_directory(tmp_path, monkeypatch, capsys, recwarn):
    monkeypatch.setenv("WANDB_MODE", "offline")
    digits_fit(tmp_path, 4)
    (run_id,) = [path.name for path in (tmp_path / "ganzoo").iterdir()]
    run_dir = tmp_path / "ganzoo" / run_id
    recwarn.clear()
    digits_fit(tmp_path, 8, f"--ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}")

    assert f"ganzoo: continuing the run of {run_dir}/" in capsys.readouterr().out
    assert not [w for w in recwarn if "exists and is not empty" in str(w.message)]  # its checkpoints are its own
    assert [path.name for path in (tmp_path / "ganzoo").iterdir()] == [run_id]  # no second run directory
    # offline, W&B writes each part into its own folder, both of the one run id (`wandb sync` uploads them as one run)
    parts = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert [part.name.rsplit("-", 1)[-1] for part in parts] == [run_id, run_id]
    first, resumed = (read_offline_run(part)["history"] for part in parts)
    # the resumed part's values, pictures and animation go on along trainer/g_step, from 4 to 8
    steps = lambda history, key: [h["trainer/g_step"] for h in history if key in h]  # noqa: E731
    assert set(steps(first, "trainer/g_step")) == {0, 1, 2, 3, 4} and set(steps(resumed, "trainer/g_step")) == {4, 5, 6, 7, 8}
    # a value per batch, two batches per G step (n_critic 2), as the run in one go logs them
    assert steps(first, "train/d_loss") == [0, 1, 1, 2, 2, 3, 3, 4] and steps(resumed, "train/d_loss") == [4, 5, 5, 6, 6, 7, 7, 8]
    assert steps(resumed, "samples/animation/_type") == [8]  # at the run's last G step, not its 16th batch
    # the run directory holds both parts: metrics, pictures, the config and checkpoints go on
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [line["generator_steps"] for line in lines] == [2, 4, 6, 8]
    grids = sorted(path.name for path in (run_dir / "samples").glob("grid_*.png"))
    assert grids == ["grid_g000000.png", "grid_g000004.png", "grid_g000008.png"]
    assert g_steps_in(run_dir / "checkpoints" / "last.ckpt") == 8
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["max_g_steps"] == 8 and config["trainer"]["logger"]["init_args"]["id"] == run_id
    assert json.loads((run_dir / "report.json").read_text())["generator_steps"] == 8



@pytest.mark.slow
def test_a_run_directory_copied_elsewhere_resumes_as_if_it_had_stayed(tmp_path, monkeypatch, recwarn):
    # a run copied off a cluster (or moved) and resumed from its own last.ckpt: last.ckpt is brought up to date,
    # as in place, not a last-v1.ckpt beside it; the top-k file of the first part is replaced; the original is untouched
    monkeypatch.setenv("WANDB_MODE", "offline")
    digits_fit(tmp_path / "cluster", 4)
    shutil.copytree(tmp_path / "cluster", tmp_path / "laptop")
    (run_dir,) = (tmp_path / "laptop" / "ganzoo").iterdir()
    recwarn.clear()
    digits_fit(tmp_path / "laptop", 8, f"--ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}")

    names = lambda directory: sorted(path.name.split("-")[-1] for path in directory.glob("*.ckpt"))  # noqa: E731
    assert names(run_dir / "checkpoints") == ["g_step=8.ckpt", "last.ckpt"]
    assert g_steps_in(run_dir / "checkpoints" / "last.ckpt") == 8
    assert not [w for w in recwarn if "dirpath has changed" in str(w.message)]
    original = tmp_path / "cluster" / "ganzoo" / run_dir.name / "checkpoints"
    assert names(original) == ["g_step=4.ckpt", "last.ckpt"]
    assert g_steps_in(original / "last.ckpt") == 4

@pytest.mark.slow
def test_a_resumed_tensorboard_run_writes_into_its_version_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    logger = '--trainer.logger={"class_path": "ganzoo.TensorBoardLogger", "init_args": {"save_dir": "tb", "name": "quick"}}'
    fit = ["fit", "--config", str(ZOO / "vanilla_gaussian1d.yaml"), logger, "--trainer.callbacks=[ganzoo.GANCheckpoint]",
           "--data.init_args.num_train=1024", "--data.init_args.num_val=64"]  # fmt: skip
    main([*fit, "--max_g_steps=3"])
    main([*fit, "--max_g_steps=6", "--ckpt_path=tb/quick/version_0/checkpoints/last.ckpt"])
    assert [path.name for path in (tmp_path / "tb" / "quick").iterdir()] == ["version_0"]
    version = tmp_path / "tb" / "quick" / "version_0"
    assert len(list(version.glob("events.out.tfevents.*"))) == 2  # TensorBoard shows both files as one run
    assert g_steps_in(version / "checkpoints" / "last.ckpt") == 6


def logger_config(class_path="ganzoo.WandbLogger", **init_args):
    """The ``trainer`` section of a parsed config with one logger, as ``continue_run`` gets it."""
    defaults = {"save_dir": "runs", "project": "ganzoo", "name": "recipe", "id": None, "version": None, "resume": None}
    if "TensorBoard" in class_path or "CSV" in class_path:
        defaults = {"save_dir": "runs", "name": "ganzoo", "version": None}
    return Namespace(logger=Namespace(class_path=class_path, init_args=Namespace(**{**defaults, **init_args})))


def earlier_run(directory, class_path="ganzoo.WandbLogger", name="recipe"):
    """A run directory as ``ganzoo fit`` leaves it: its config.yaml and last.ckpt."""
    (directory / "checkpoints").mkdir(parents=True)
    (directory / "checkpoints" / "last.ckpt").write_bytes(b"")
    logger = {"class_path": class_path, "init_args": {"name": name}}
    (directory / "config.yaml").write_text(yaml.safe_dump({"trainer": {"logger": logger}}))
    return directory / "checkpoints" / "last.ckpt"


def test_the_wandb_logger_gets_the_id_of_the_run_whose_directory_holds_the_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ckpt = earlier_run(tmp_path / "runs" / "ganzoo" / "ab12cd")
    trainer = logger_config()
    assert continue_run(trainer, str(ckpt)) == Path("runs/ganzoo/ab12cd")
    assert trainer.logger.init_args.id == "ab12cd" and trainer.logger.init_args.resume == "allow"
    as_list = Namespace(logger=[logger_config().logger, logger_config("ganzoo.TensorBoardLogger").logger])
    assert continue_run(as_list, str(ckpt.resolve())) is not None and as_list.logger[0].init_args.id == "ab12cd"


@pytest.mark.parametrize(
    "trainer, why",
    [
        (logger_config(id="mine"), "the user names the W&B run"),
        (logger_config(version="mine"), "the user names the W&B run by Lightning's other spelling"),
        (logger_config(name="another"), "another display name asks for another run"),
        (logger_config(project="other"), "the checkpoint lies outside this project's runs"),
        (logger_config(save_dir="elsewhere"), "the checkpoint lies outside this save_dir"),
        (logger_config("ganzoo.TensorBoardLogger"), "the directory's run had a W&B logger"),
        (logger_config("lightning.pytorch.loggers.CSVLogger"), "CSVLogger would empty the version's metrics.csv"),
    ],
)
def test_a_resumed_fit_starts_a_new_run_when(trainer, why, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ckpt = earlier_run(tmp_path / "runs" / "ganzoo" / "ab12cd")
    before = trainer.clone()
    assert continue_run(trainer, str(ckpt)) is None, why
    assert trainer == before  # the config is left as the user gave it


def test_no_run_is_continued_from_a_checkpoint_outside_a_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    earlier_run(tmp_path / "runs" / "ganzoo" / "ab12cd")
    (tmp_path / "runs" / "ganzoo" / "loose.ckpt").write_bytes(b"")
    (tmp_path / "runs" / "ganzoo" / "noconfig" / "checkpoints").mkdir(parents=True)
    for ckpt in ("runs/ganzoo/loose.ckpt", "runs/ganzoo/noconfig/checkpoints/last.ckpt", "last", "s3://b/x.ckpt", None):
        assert continue_run(logger_config(), ckpt) is None, ckpt
    trainer = logger_config("ganzoo.TensorBoardLogger")
    ckpt = earlier_run(tmp_path / "runs" / "ganzoo" / "version_3", "ganzoo.TensorBoardLogger", name="ganzoo")
    assert continue_run(trainer, str(ckpt)) is not None and trainer.logger.init_args.version == "version_3"


def test_the_cli_s_resume_none_leaves_lightning_s_resume_allow(tmp_path):
    """jsonargparse passes every option of the logger, ``resume: null`` too; a run named by ``id`` then still resumes."""
    assert WandbLogger(save_dir=str(tmp_path), id="ab12cd", resume=None)._wandb_init["resume"] == "allow"
    assert WandbLogger(save_dir=str(tmp_path), resume="must")._wandb_init["resume"] == "must"
