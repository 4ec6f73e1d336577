"""Pictures and a final report of G's distribution on synthetic targets."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_warn

from ganzoo.animation import animate_frames, frames_of_run
from ganzoo.errors import check_positive_int
from ganzoo.loggers import log_image, log_video, run_dir
from ganzoo.modules.gan import evaluating
from ganzoo.nets.packing import samples_per_score
from ganzoo.viz import plot_1d, plot_2d


class DistributionMonitor(Callback):
    """Plots generated against target distribution at each validation and reports the end state.

    At every ``every_n_validations``-th validation it writes
    ``<run dir>/figures/distribution_g<G steps>.png`` and logs it as ``val/distribution``;
    with ``every_n_steps`` it also draws such a frame every that many G steps (and of the
    untrained G), for the animation only.
    When training ends it evaluates G once more, writes ``distribution_final.png``
    and ``final_metrics.json`` in the run directory, and prints a short table, unless a
    :class:`~ganzoo.callbacks.RunReport` prints it within the run's report (one table per run);
    then it assembles the run's ``distribution_g*.png``, one frame each in G-step order, into
    ``figures/training.gif`` (and ``.mp4`` when ffmpeg exists, see :mod:`ganzoo.animation`),
    logged to W&B as ``final/animation``.
    Needs a datamodule with ``data_shape`` of ``(1,)`` (and ``density``) or ``(2,)``,
    such as :class:`~ganzoo.data.Gaussian1D`, :class:`~ganzoo.data.Ring2D`, :class:`~ganzoo.data.Grid2D`.

    Args:
        every_n_validations: plot at every n-th validation.
        num_samples: generated samples per figure; ``None`` uses the datamodule's ``num_eval_samples``.
        verbose: print the final table (when no verbose RunReport prints it).
        every_n_steps: also draw a frame every this many G steps, for a smoother animation
            (a 1-D figure costs about 0.15 s of CPU); ``None``: frames at validations only.
        animation: assemble the frames into an animation when training ends.

    Attributes:
        final_metrics: the final evaluation's metrics.
        final_figure: ``distribution_final.png``, or ``None`` when G's samples could not be drawn.
        report: the content of ``final_metrics.json``; ``None`` before training ends.
        animation_path: the GIF of the frames, once training has ended (else ``None``).
        video_path: the MP4 of the frames, when ffmpeg was found.
    """

    def __init__(
        self,
        every_n_validations: int = 1,
        num_samples: Optional[int] = None,
        verbose: bool = True,
        every_n_steps: Optional[int] = None,
        animation: bool = True,
    ):
        if every_n_steps is not None:
            check_positive_int("every_n_steps", every_n_steps, "every_n_steps=100, or leave it out")
        self.every_n_validations = every_n_validations
        self.num_samples = num_samples
        self.verbose = verbose
        self.every_n_steps = every_n_steps
        self.animation = animation
        self._validations = 0
        self._start_step = 0  # the G step this process started at: a resumed run's earlier frames lie before it
        self._frames_supported: Optional[bool] = None  # whether every_n_steps frames can be drawn; asked once
        self._frame: tuple[Optional[int], Optional[Path]] = (None, None)  # the latest frame's G step and file
        self.frames: list[Path] = []
        self.final_metrics: dict[str, float] = {}
        self.final_figure: Optional[Path] = None
        self.report: Optional[dict] = None
        self.animation_path: Optional[Path] = None
        self.video_path: Optional[Path] = None

    def _supported(self, trainer: Trainer) -> bool:
        datamodule = getattr(trainer, "datamodule", None)
        shape = tuple(getattr(datamodule, "data_shape", ()))
        ok = (shape == (1,) and hasattr(datamodule, "density")) or shape == (2,)
        if not ok:
            rank_zero_warn(f"DistributionMonitor draws 1-D and 2-D synthetic targets only; got data_shape {shape}")
        return ok

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or not self._supported(trainer):
            return
        self._validations += 1
        if self._validations % self.every_n_validations:
            return
        path = self._draw_frame(trainer, pl_module)
        if path is not None:
            log_image(trainer, "val/distribution", path)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._start_step = pl_module.g_steps
        self._frames_supported = None
        self.on_train_batch_end(trainer, pl_module)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        if self.every_n_steps is None or pl_module.g_steps % self.every_n_steps or not trainer.is_global_zero:
            return
        if self._frames_supported is None:  # asked once: it warns when the data is not drawn
            self._frames_supported = self._supported(trainer)
        if self._frames_supported:
            self._draw_frame(trainer, pl_module)

    def _draw_frame(self, trainer: Trainer, pl_module: LightningModule) -> Optional[Path]:
        """``distribution_g<G steps>.png`` of the current G, drawn once per G step."""
        step = pl_module.g_steps
        if self._frame[0] != step:
            path = self.plot(trainer, pl_module, f"distribution_g{step:06d}.png")
            self._frame = (step, path)
            if path is not None:
                self.frames.append(path)
        return self._frame[1]

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.is_global_zero or not self._supported(trainer):
            return
        datamodule = trainer.datamodule
        self.final_metrics = pl_module.evaluate_distribution()
        self.final_figure = self.plot(trainer, pl_module, "distribution_final.png")
        if self.final_figure is not None:
            log_image(trainer, "final/distribution", self.final_figure)
        report = {
            "datamodule": type(datamodule).__name__,
            "generator_steps": pl_module.g_steps,
            "num_samples": datamodule.num_eval_samples,
            "metrics": self.final_metrics,
            "target": datamodule.target_metrics(),
            "figure": str(self.final_figure) if self.final_figure is not None else None,
        }
        (run_dir(trainer) / "final_metrics.json").write_text(json.dumps(report, indent=2))
        self.report = report
        if self.verbose and not reported_elsewhere(trainer):
            print(format_report(report))
        if self.animation:
            directory = run_dir(trainer) / "figures"
            frames = frames_of_run(directory, "distribution", self._start_step, self.frames)
            self.animation_path, self.video_path = animate_frames(frames, directory)
            if self.animation_path is not None:
                log_video(trainer, "final/animation", self.animation_path)

    @torch.no_grad()
    def plot(self, trainer: Trainer, pl_module: LightningModule, name: str) -> Optional[Path]:
        """Draws the figure for the current G and D and writes it under ``<run dir>/figures``.

        Returns ``None``, with a warning, when G's samples are NaN or infinite: there is
        nothing to draw, and a picture must not stop training or the final checkpoint.
        """
        datamodule = trainer.datamodule
        datamodule.setup("fit")
        n = self.num_samples or datamodule.num_eval_samples
        generated = pl_module.generate(n, seed=pl_module.eval_seed).float().cpu().numpy()
        bad = int(generated.size - np.isfinite(generated).sum())
        if bad or not generated.size:
            rank_zero_warn(
                f"DistributionMonitor: {bad} of {generated.size} generated values are NaN or infinite after "
                f"{pl_module.g_steps} generator steps; {name} not drawn (lower the learning rates or set gradient_clip_norm)"
            )
            return None
        title = f"{type(datamodule).__name__} after {pl_module.g_steps} generator steps"
        critic, label = _critic(pl_module, datamodule.data_shape)
        if tuple(datamodule.data_shape) == (1,):
            fig = plot_1d(generated, datamodule.density, critic, label, title)
        else:
            real = datamodule.splits["val"][:n].numpy()
            fig = plot_2d(real, generated, critic, datamodule.centres.numpy(), title)
        path = run_dir(trainer) / "figures" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fig.savefig(path)
        except OSError as err:  # a full disk: no half-written picture, and an error that names it
            path.unlink(missing_ok=True)
            raise OSError(err.errno, err.strerror, str(path)) from None
        return path


def reported_elsewhere(trainer: Trainer) -> bool:
    """Whether a verbose RunReport prints this table within the run's report."""
    from ganzoo.callbacks.report import RunReport  # report.py imports this module

    return any(isinstance(callback, RunReport) and callback.verbose for callback in trainer.callbacks)


def _critic(pl_module: LightningModule, data_shape):
    """D's output as a function of numpy points, and its axis label."""
    probabilistic = pl_module.loss_fn.probabilistic
    label = "D(x) = P(real)" if probabilistic else "D(x) (raw score)"
    pack = samples_per_score(pl_module.discriminator)
    if pack > 1:  # a packing D (PacGAN) scores m samples at once: show its score for m copies of x
        label += f" of {pack} copies of x"

    def critic(points):
        x = torch.as_tensor(points, dtype=torch.float32, device=pl_module.device).reshape(-1, *data_shape)
        x = x.repeat_interleave(pack, dim=0)
        with evaluating(pl_module.discriminator):
            return pl_module.loss_fn.score(pl_module.discriminate(x)).float().cpu().numpy()

    return critic, label


def format_report(report: dict) -> str:
    """The final table that :class:`DistributionMonitor` prints."""
    lines = [
        f"ganzoo: {report['datamodule']} after {report['generator_steps']} generator steps "
        f"({report['num_samples']} generated samples)",
        f"  {'metric':<14}{'generated':>12}{'target':>12}",
    ]
    for key, value in report["metrics"].items():
        lines.append(f"  {key:<14}{value:>12.4f}{report['target'].get(key, float('nan')):>12.4f}")
    lines.append(f"  picture: {report['figure'] or 'none (G made NaN or infinite samples)'}")
    return "\n".join(lines)
