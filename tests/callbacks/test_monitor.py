import json

import lightning.pytorch as pl
import numpy as np
import pytest
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from matplotlib.image import imread

from ganzoo import DistributionMonitor, Gaussian1D, Grid2D, MaxGeneratorSteps, Ring2D, VanillaGAN
from ganzoo.viz import plot_1d, plot_2d


def train_with_monitor(data, logger, tmp_path, g_steps=20):
    model = VanillaGAN(data_shape=list(data.data_shape), latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16])
    monitor = DistributionMonitor()
    trainer = pl.Trainer(
        accelerator="cpu", logger=logger, default_root_dir=tmp_path, max_epochs=-1, val_check_interval=10,
        check_val_every_n_epoch=None, limit_val_batches=1, enable_progress_bar=False, enable_checkpointing=False,
        enable_model_summary=False, callbacks=[monitor, MaxGeneratorSteps(g_steps)],
    )
    trainer.fit(model, data)
    return monitor, trainer


@pytest.mark.parametrize("data", [Gaussian1D(batch_size=32), Ring2D(batch_size=32)], ids=["1d", "2d"])
def test_figures_and_final_report_land_in_the_run_directory(data, tmp_path, capsys):
    monitor, trainer = train_with_monitor(data, CSVLogger(tmp_path), tmp_path)
    run_dir = tmp_path / "lightning_logs" / "version_0"
    figures = sorted(p.name for p in (run_dir / "figures").iterdir() if not p.name.startswith("training."))
    assert figures == ["distribution_final.png", "distribution_g000010.png", "distribution_g000020.png"]
    assert monitor.animation_path == run_dir / "figures" / "training.gif"  # the two frames, as an animation
    image = imread(monitor.final_figure)
    assert image.shape[0] > 300 and image.shape[1] > 300 and image[..., :3].std() > 0.05  # a drawn picture
    report = json.loads((run_dir / "final_metrics.json").read_text())
    assert report["generator_steps"] == 20 and report["metrics"] == monitor.final_metrics
    assert report["target"] == data.target_metrics()
    printed = capsys.readouterr().out
    assert f"{type(data).__name__} after 20 generator steps" in printed and str(monitor.final_figure) in printed


def test_images_reach_weights_and_biases_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    logger = WandbLogger(project="ganzoo", save_dir=str(tmp_path), offline=True)
    train_with_monitor(Gaussian1D(batch_size=32), logger, tmp_path)
    logger.experiment.finish()
    run_dirs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 1
    images = {p.parent.name + "/" + p.name.split("_")[0] for p in (run_dirs[0] / "files" / "media" / "images").rglob("*.png")}
    assert images == {"val/distribution", "final/distribution"}


def test_unsupported_data_is_reported_not_drawn():
    monitor = DistributionMonitor()

    class Trainer:  # the monitor only looks at the datamodule's shape
        datamodule = type("Images", (), {"data_shape": (1, 8, 8)})()

    with pytest.warns(UserWarning, match=r"1-D and 2-D synthetic targets only; got data_shape \(1, 8, 8\)"):
        assert not monitor._supported(Trainer())


def test_plot_functions_draw_on_their_own():
    grid = Grid2D()
    points = grid.sample(500, __import__("torch").Generator().manual_seed(0)).numpy()
    fig = plot_2d(points, points + 0.1, critic=lambda p: np.ones(len(p)) * 0.5, centres=grid.centres.numpy())
    assert len(fig.axes) == 2  # the scatter and D's colour bar
    fig = plot_1d(np.random.default_rng(0).normal(4, 1.25, 1000), Gaussian1D().density, critic=lambda x: 0 * x + 0.5,
                  critic_label="D(x) = P(real)")
    assert len(fig.axes) == 2  # density axis and D's axis
