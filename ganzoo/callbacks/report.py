"""The end-of-run report: the last validation's metrics and the run's files, printed and written to ``report.json``."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import EarlyStopping, Timer
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ganzoo.callbacks.monitor import DistributionMonitor, format_report
from ganzoo.callbacks.quality import ImageMetrics
from ganzoo.callbacks.samples import SampleGrid
from ganzoo.callbacks.steps import MaxGeneratorSteps
from ganzoo.checkpoint_io import write_atomically
from ganzoo.loggers import run_dir

#: the keys of an ImageMetrics record that are not metric values
_RECORD_KEYS = ("generator_steps", "epoch", "seconds", "generator")


class RunReport(Callback):
    """Prints a table of the run when training ends and writes the same as ``<run dir>/report.json``.

    The report holds, for any GAN and any data:

    - the generator steps, epochs, wall time and why training stopped (``max_g_steps``
      reached, ``max_epochs`` reached, early stopping, a SIGTERM, an error ...);
    - every ``val/*`` value of the last validation (D's and G's losses and statistics, the
      toys' ``val/ks``, ``val/w1``, modes, high-quality share), and the image metrics of
      :class:`~ganzoo.callbacks.ImageMetrics` (``val/fd_mnist_10k_train``, ``val/class_accuracy_*``...)
      from its last evaluation, in a section of their own that says at which G step;
    - for 1-D and 2-D targets, the final metrics of :class:`~ganzoo.callbacks.DistributionMonitor`
      beside the target's own values (which the monitor then does not print again);
    - the paths of ``last.ckpt`` (and the best checkpoint when a ``monitor`` is set), the last
      sample grid of :class:`~ganzoo.callbacks.SampleGrid`, the final distribution picture,
      any animation a callback made (its ``animation_path``), ``config.yaml`` and ``metrics.jsonl``.

    Values are plain numbers; a NaN or infinite value is ``null`` in the JSON.

    ``ganzoo fit`` adds one unless the config lists its own. From Python:
    ``Trainer(callbacks=[ganzoo.RunReport()])``. It moves itself behind every other callback
    when the run starts, so it reports the ``last.ckpt``, grid and picture they write at the end.

    A run stopped after its first update by a SIGTERM, Ctrl+C or an error also gets a report
    (``"status": "stopped"`` or ``"failed"``, with the reason): the checkpoint to resume from and
    the last metrics are in it. A run stopped before its first update writes none. Under DDP
    only rank 0 writes and prints, and no collective call is made.

    Args:
        verbose: print the table (``report.json`` is written either way).
        filename: the report's file name in the run directory.

    Attributes:
        report: the last report written, as in the JSON file; ``None`` before.
        path: where it was written.
    """

    def __init__(self, verbose: bool = True, filename: str = "report.json"):
        self.verbose = verbose
        self.filename = filename
        self.report: Optional[dict] = None
        self.path: Optional[Path] = None
        self._start = time.monotonic()
        self._validated_at: Optional[int] = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        # Lightning runs the checkpoint callbacks last; behind them, this one sees the last.ckpt they
        # write when training ends or stops. A new list: Lightning is iterating the old one right now.
        trainer.callbacks = [callback for callback in trainer.callbacks if callback is not self] + [self]

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._start, self._validated_at, self.report = time.monotonic(), None, None

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.sanity_checking:
            self._validated_at = _g_steps(pl_module)

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._finish(trainer, pl_module, None)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if trainer.state.fn != "fit" or trainer.sanity_checking or not _g_steps(pl_module):
            return  # before the first update there is nothing to report or resume
        try:
            self._finish(trainer, pl_module, exception)
        except Exception as err:  # the original error is the one to report
            rank_zero_warn(f"RunReport: no report after {type(exception).__name__}: {err}")

    def _finish(self, trainer: Trainer, pl_module: LightningModule, exception: Optional[BaseException]) -> None:
        if not trainer.is_global_zero:
            return
        directory = run_dir(trainer)
        self.report = self.build(trainer, pl_module, exception, directory)
        self.path = directory / self.filename
        write_json(self.path, self.report)
        if self.verbose:
            print(format_run_report(self.report, _final_of(trainer)))

    def build(self, trainer: Trainer, pl_module: LightningModule, exception: Optional[BaseException] = None,
              directory: Optional[Path] = None) -> dict:
        """The report as a JSON-ready dict (plain numbers, ``None`` for NaN); see the class docstring."""
        directory = run_dir(trainer) if directory is None else directory
        metrics, image = last_metrics(trainer)
        datamodule = getattr(trainer, "datamodule", None)
        status = "finished" if exception is None else "stopped" if _is_stop(exception) else "failed"
        return {
            "model": type(pl_module).__name__,
            "datamodule": type(datamodule).__name__ if datamodule is not None else None,
            "status": status,
            "stop_reason": stop_reason(trainer, pl_module, exception),
            "generator_steps": _g_steps(pl_module),
            "epochs": trainer.fit_loop.epoch_progress.current.completed,
            "wall_time_s": round(time.monotonic() - self._start, 1),
            "last_validation_g_steps": self._validated_at,
            "image_metrics": image,
            "metrics": metrics,
            "final": plain(_final_of(trainer)),
            "paths": run_paths(trainer, directory / self.filename),
        }


def _g_steps(pl_module: LightningModule) -> int:
    return int(getattr(pl_module, "g_steps", 0))


def _is_stop(exception: BaseException) -> bool:
    """A stop the user or the cluster asked for, as opposed to an error."""
    return isinstance(exception, (SIGTERMException, KeyboardInterrupt))


def _final_of(trainer: Trainer) -> Optional[dict]:
    """DistributionMonitor's final report (the content of ``final_metrics.json``), if one was made."""
    return next((cb.report for cb in trainer.callbacks if isinstance(cb, DistributionMonitor) and cb.report), None)


def plain(value: Any) -> Any:
    """``value`` with tensors and numpy numbers as Python numbers, NaN or infinity as ``None``, for strict JSON."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, torch.Tensor):
        return plain(value.item() if value.numel() == 1 else value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)  # a Path, say


def last_metrics(trainer: Trainer) -> tuple[dict, Optional[dict]]:
    """Every ``val/*`` value the trainer holds, by key, and which of them ImageMetrics evaluated last, when.

    Lightning keeps each key's latest value, so a metric evaluated less often than validation
    runs (ImageMetrics' ``every_n_steps``) shows its last evaluation. ImageMetrics' ``history``
    fills in values that were not logged.

    Returns:
        The values, and ``{"generator_steps": ..., "keys": [...]}`` of the last image-metric
        evaluation (``None`` without one).
    """
    metrics = {key: plain(value) for key, value in trainer.callback_metrics.items() if key.startswith("val/")}
    image = None
    for callback in trainer.callbacks:
        if isinstance(callback, ImageMetrics) and callback.history:
            record = callback.history[-1]
            keys = [f"val/{key}" for key in record if key not in _RECORD_KEYS]
            for key in keys:
                metrics.setdefault(key, plain(record[key.removeprefix("val/")]))
            image = {"generator_steps": record["generator_steps"], "keys": sorted(keys)}
    return dict(sorted(metrics.items())), image


def stop_reason(trainer: Trainer, pl_module: LightningModule, exception: Optional[BaseException] = None) -> Optional[str]:
    """Why training ended, in a user's words; ``None`` when no known limit or callback explains it."""
    if exception is not None:
        if isinstance(exception, SIGTERMException):
            return "SIGTERM"
        if isinstance(exception, KeyboardInterrupt):
            return "interrupted (Ctrl+C)"
        first_line = (str(exception).strip().splitlines() or [""])[0]
        return f"{type(exception).__name__}: {first_line}" if first_line else type(exception).__name__
    callbacks = trainer.callbacks
    limit = next((cb.max_steps for cb in callbacks if isinstance(cb, MaxGeneratorSteps)), None)
    if limit is not None and _g_steps(pl_module) >= limit:
        return f"max_g_steps={limit} reached"
    for callback in callbacks:
        if isinstance(callback, EarlyStopping) and callback.stopped_epoch:
            return f"early stopping on {callback.monitor}"
        remaining = callback.time_remaining() if isinstance(callback, Timer) else None
        if remaining is not None and remaining <= 0:
            return "max_time reached"
    if trainer.max_steps not in (-1, None) and trainer.global_step >= trainer.max_steps:
        return f"trainer.max_steps={trainer.max_steps} reached (optimizer steps of G and D together)"
    epochs = trainer.fit_loop.epoch_progress.current.completed
    if trainer.max_epochs not in (-1, None) and epochs >= trainer.max_epochs:
        return f"max_epochs={trainer.max_epochs} reached"
    if trainer.should_stop:
        return "a callback or the module set trainer.should_stop"
    return None


def run_paths(trainer: Trainer, report_path: Path) -> dict:
    """The run's files that exist now: checkpoints, last grid, picture, animations, config, metrics, the report."""
    directory = report_path.parent
    paths: dict[str, Any] = {"run_dir": str(directory)}
    for callback in trainer.checkpoint_callbacks:
        last = getattr(callback, "last_model_path", "") or getattr(callback, "best_model_path", "")
        if last and os.path.exists(last):
            paths.setdefault("checkpoint", str(last))
        if getattr(callback, "monitor", None) and callback.best_model_path and os.path.exists(callback.best_model_path):
            paths.setdefault("best_checkpoint", str(callback.best_model_path))
            paths.setdefault("best_score", plain(callback.best_model_score))
            paths.setdefault("best_monitor", callback.monitor)
    grid = next((cb.last_grid for cb in trainer.callbacks if isinstance(cb, SampleGrid) and cb.last_grid), None)
    picture = next((cb.final_figure for cb in trainer.callbacks if isinstance(cb, DistributionMonitor)), None)
    for name, path in (("sample_grid", grid), ("picture", picture)):
        if path is not None:
            paths[name] = str(path)
    animations = [str(p) for cb in trainer.callbacks for p in _as_list(getattr(cb, "animation_path", None))]
    if animations:
        paths["animations"] = animations
    for name, file in (("config", "config.yaml"), ("metrics_jsonl", "metrics.jsonl"), ("final_metrics", "final_metrics.json")):
        if (directory / file).is_file():
            paths[name] = str(directory / file)
    paths["report"] = str(report_path)
    return paths


def _as_list(value: Any) -> list:
    """An ``animation_path`` as a list: one path, several (a GIF and an MP4), or none."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [v for v in value.values() if v is not None]
    return [v for v in value if v is not None] if isinstance(value, (list, tuple)) else [value]


def write_json(path: Path, report: dict) -> None:
    """Writes ``report`` as strict JSON (no NaN) with :func:`~ganzoo.checkpoint_io.write_atomically`:
    a reader never sees half of it, and a failed write (a full disk) leaves no temporary file."""
    text = json.dumps(report, indent=2, allow_nan=False) + "\n"
    write_atomically(path, lambda file: file.write(text.encode()))


def format_run_report(report: dict, final: Optional[dict] = None) -> str:
    """The table :class:`RunReport` prints: the run, the final distribution metrics, the last validation, the files.

    Args:
        report: :meth:`RunReport.build`'s dict.
        final: DistributionMonitor's own report with its numbers as they are (NaN printed as ``nan``);
            ``None`` uses ``report["final"]``.
    """
    reason = report["stop_reason"] or "training ended"
    run = f"{report['model']} on {report['datamodule']}" if report["datamodule"] else report["model"]
    lines = [
        f"ganzoo: {run}: {report['generator_steps']} generator steps, {report['epochs']} epochs, "
        f"{report['wall_time_s']:.0f} s; {report['status']}: {reason}"
    ]
    final = final if final is not None else report["final"]
    if final:
        section = format_report({**final, "metrics": _nan(final["metrics"]), "target": _nan(final["target"])})
        lines += ["  " + line for line in section.removeprefix("ganzoo: ").splitlines()[:-1]]  # its picture: below
    lines += _metric_lines(report)
    paths = report["paths"]
    for name in ("checkpoint", "best_checkpoint", "sample_grid", "picture", "animations", "config", "report"):
        for path in _as_list(paths.get(name)):
            lines.append(f"  {name.replace('_', ' ') + ':':<17}{path}")
    return "\n".join(lines)


def _metric_lines(report: dict) -> list[str]:
    """The last validation's values, then the image metrics under the G step they were evaluated at."""
    metrics, image = report["metrics"], report["image_metrics"] or {"keys": []}
    if not metrics:
        return ["  no validation ran: no metrics"]
    step = report["last_validation_g_steps"]
    sections = [
        (f"last validation{f' (after {step} generator steps)' if step is not None else ''}",
         [key for key in metrics if key not in image["keys"]]),
        (f"image metrics (after {image.get('generator_steps')} generator steps)", image["keys"]),
    ]
    width = max(map(len, metrics)) + 2
    lines = []
    for title, keys in sections:
        lines += [f"  {title}:"] if keys else []
        lines += [f"    {key:<{width}}{'nan' if metrics[key] is None else f'{metrics[key]:.4g}':>10}" for key in keys]
    return lines


def _nan(values: dict) -> dict:
    """``None`` back to NaN, for the monitor's formatter."""
    return {key: float("nan") if value is None else value for key, value in values.items()}
