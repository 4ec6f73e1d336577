"""Sample grids of an image GAN, drawn from fixed latent codes as training goes."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_warn

from ganzoo.animation import animate_frames, frames_of_run
from ganzoo.callbacks.monitor import reported_elsewhere
from ganzoo.errors import ConfigError, check_nonnegative_int, check_positive_int
from ganzoo.loggers import log_image, log_video, run_dir
from ganzoo.viz import image_grid, save_png


class SampleGrid(Callback):
    """Writes grids of generated images every ``every_n_steps`` generator steps and logs them.

    The images come from the module's fixed latent codes (:meth:`GANModule.fixed_latents`,
    a buffer saved in checkpoints), so successive grids show the same codes as G
    learns. Each time it writes, under ``<run dir>/samples/``:

    - ``grid_g<G steps>.png``: ``num_samples`` images, ``nrow`` per row; for a
      conditional GAN, one row per class instead (``classes``), with the same ``nrow``
      codes in every row, so a column shows one code across the classes;
    - ``interpolation_g<G steps>.png``: ``interpolation_rows`` rows, each walking in
      ``interpolation_steps`` codes from one fixed code to another
      (:meth:`GANModule.interpolate_latents`: spherical for a normal prior); for a
      conditional GAN, row i keeps the class of the grid's row i (cycling).

    and hands both to W&B and TensorBoard (keys ``samples/grid`` and ``samples/interpolation``,
    at the G step); with CSV or no logger the files are the record. It also
    writes the untrained G's grid when training starts and the final one when it ends.
    Then it assembles the run's grids, one frame each in G-step order (a resumed run's
    earlier grids first), into ``samples/training.gif`` (and ``training.mp4`` when ffmpeg
    exists, see :mod:`ganzoo.animation`), logged to W&B as ``samples/animation``.
    Image data only, ``(N, C, H, W)`` with 1 or 3 channels; other data is skipped with a warning.

    Args:
        every_n_steps: generator steps between grids.
        num_samples: images per grid (at most ``GANModule.num_fixed_latents``, 64).
        nrow: images per row.
        interpolation_rows: rows of the interpolation grid; 0 turns it off.
        interpolation_steps: images per interpolation row, both ends included.
        upscale: nearest-neighbour magnification; ``None`` makes small images at least 32 px.
        verbose: print the final grid's path when training ends (a verbose RunReport prints it instead).
        classes: conditional GANs: the class of each row of the grid; ``None``: every
            class, at most the first 16.
        animation: assemble the grids into an animation when training ends.

    Attributes:
        written: every PNG written, in order.
        last_grid: the latest ``grid_g*.png``.
        animation_path: the GIF of the grids, once training has ended (else ``None``).
        video_path: the MP4 of the grids, when ffmpeg was found.
    """

    def __init__(
        self,
        every_n_steps: int = 500,
        num_samples: int = 64,
        nrow: int = 8,
        interpolation_rows: int = 8,
        interpolation_steps: int = 10,
        upscale: Optional[int] = None,
        verbose: bool = True,
        classes: Optional[list[int]] = None,
        animation: bool = True,
    ):
        check_positive_int("every_n_steps", every_n_steps, "every_n_steps=500")
        check_positive_int("num_samples", num_samples, "num_samples=64")
        check_positive_int("nrow", nrow, "nrow=8")
        check_positive_int("interpolation_steps", interpolation_steps, "interpolation_steps=10")
        check_nonnegative_int("interpolation_rows", interpolation_rows, "interpolation_rows=8")
        self.every_n_steps = every_n_steps
        self.num_samples = num_samples
        self.nrow = nrow
        self.interpolation_rows = interpolation_rows
        self.interpolation_steps = interpolation_steps
        self.upscale = upscale
        self.verbose = verbose
        self.classes = classes
        self.animation = animation
        self._start_step = 0  # the G step this process started at: a resumed run's earlier grids lie before it
        self._last_written: Optional[int] = None
        self._images: Optional[bool] = None  # whether G makes images; known at the first grid
        self.written: list[Path] = []
        self.last_grid: Optional[Path] = None
        self.animation_path: Optional[Path] = None
        self.video_path: Optional[Path] = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        limit = pl_module.num_fixed_latents
        if self.num_samples > limit or 2 * self.interpolation_rows > limit:
            raise ConfigError(
                f"SampleGrid needs num_samples <= {limit} and interpolation_rows <= {limit // 2} "
                f"(the module's fixed codes), got {self.num_samples} and {self.interpolation_rows}"
            )
        if self.classes is not None:
            pl_module.check_labels(self.classes, len(self.classes))  # one line for a class the model lacks

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._start_step = pl_module.g_steps
        self._write(trainer, pl_module)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        if pl_module.g_steps % self.every_n_steps == 0:
            self._write(trainer, pl_module)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, pl_module)
        if self.verbose and self.last_grid is not None and trainer.is_global_zero and not reported_elsewhere(trainer):
            print(f"ganzoo: samples after {pl_module.g_steps} generator steps: {self.last_grid}")
        if self.animation and self.last_grid is not None and trainer.is_global_zero:
            directory = self.last_grid.parent
            frames = frames_of_run(directory, "grid", self._start_step, self.written)
            self.animation_path, self.video_path = animate_frames(frames, directory)
            log_video(trainer, "samples/animation", self.animation_path)

    def _write(self, trainer: Trainer, pl_module: LightningModule) -> None:
        step = pl_module.g_steps
        if not trainer.is_global_zero or step == self._last_written or not self._supported(pl_module):
            return
        self._last_written = step
        directory = run_dir(trainer) / "samples"
        z = pl_module.fixed_latents()
        classes = self._row_classes(pl_module)
        if classes is None:
            codes, labels = z[: self.num_samples], None
        else:
            codes, labels = pl_module.class_rows(z[: self.nrow], classes)
        pictures = {"grid": image_grid(pl_module.decode(codes, labels), self.nrow, self.upscale)}
        if self.interpolation_rows:
            rows = self.interpolation_rows
            path_z = pl_module.interpolate_latents(z[:rows], z[rows : 2 * rows], self.interpolation_steps)
            path_labels = pl_module.walk_labels(rows, self.interpolation_steps, classes)
            pictures["interpolation"] = image_grid(
                pl_module.decode(path_z, path_labels), self.interpolation_steps, self.upscale
            )
        for name, picture in pictures.items():
            path = save_png(picture, directory / f"{name}_g{step:06d}.png")
            self.written.append(path)
            log_image(trainer, f"samples/{name}", path)
        self.last_grid = self.written[-len(pictures)]

    def _row_classes(self, pl_module: LightningModule) -> Optional[list[int]]:
        """The classes of the grid's rows for a conditional GAN; ``None`` for an unconditional one."""
        if not pl_module.num_classes:
            return None
        return list(self.classes) if self.classes is not None else list(range(min(pl_module.num_classes, 16)))

    def _supported(self, pl_module: LightningModule) -> bool:
        if self._images is None:
            labels = [0] if pl_module.num_classes else None
            shape = tuple(pl_module.decode(pl_module.fixed_latents()[:1], labels).shape)
            self._images = len(shape) == 4 and shape[1] in (1, 3)
            if not self._images:
                rank_zero_warn(f"SampleGrid draws images (N, 1 or 3, H, W); this generator makes {shape}: no grids")
        return self._images
