"""Pieces shared by the benchmark scripts: training a recipe through ``ganzoo fit``, the machine line, mean ± s.e.,
results over seeds kept one file per run."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import lightning
import lightning.pytorch as pl
import torch

ROOT = Path(__file__).resolve().parents[1]


def training_parser(doc: str, recipes, default, out: str, seeds: Optional[list[int]] = None, reuse: bool = True):
    """An argument parser with the options of the scripts that train recipes: ``--recipes``, ``--seeds``
    (when ``seeds`` gives the default), ``--threads``, ``--out`` (``runs/<out>``) and ``--reuse``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--recipes", nargs="+", default=list(default), choices=list(recipes))
    if seeds is not None:
        p.add_argument("--seeds", nargs="+", type=int, default=seeds)
    p.add_argument("--threads", type=int, default=1, help="torch threads of each training process")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / out)
    if reuse:
        p.add_argument("--reuse", action="store_true", help="print the table of finished runs in --out, train nothing")
    return p


def last_checkpoint(save_dir: Path) -> Optional[Path]:
    """The newest ``<run dir>/checkpoints/last.ckpt`` under ``save_dir``, or ``None``."""
    found = sorted(save_dir.glob("**/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def fit(recipe: str, save_dir: Path, extra: list[str], threads: int, quiet: bool = False) -> tuple[Path, float]:
    """Runs ``ganzoo fit --config zoo_configs/<recipe>.yaml <extra>`` (W&B offline, ``threads`` torch threads)
    with its run directory under ``save_dir``; returns the last checkpoint and the wall-clock seconds."""
    command = [
        sys.executable, "-m", "ganzoo", "fit", "--config", str(ROOT / "zoo_configs" / f"{recipe}.yaml"),
        "--trainer.logger.init_args.save_dir", str(save_dir), *extra,
    ]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL if quiet else None)
    seconds = time.perf_counter() - start
    checkpoint = last_checkpoint(save_dir)
    if checkpoint is None:
        raise RuntimeError(f"ganzoo fit on {recipe} wrote no last.ckpt under {save_dir}")
    return checkpoint, seconds


def machine(threads: int) -> str:
    """One line: the CPU, its cores, the torch threads and the versions."""
    return (
        f"Machine: {' '.join(filter(None, (platform.machine(), platform.processor())))}, {os.cpu_count()} cores, {threads} torch "
        f"thread(s); Python {platform.python_version()}, torch {torch.__version__}, lightning {lightning.__version__}"
    )


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for a single value)."""
    error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return statistics.mean(values), error


def cell(values: list[float], digits: int, suffix: str = "") -> str:
    """``mean ± s.e.`` of the values, both with ``digits`` decimals."""
    mean, error = mean_se(values)
    return f"{mean:.{digits}f} ± {error:.{digits}f}{suffix}"


def collect(
    recipes: list[str], seeds: list[int], out: Path, reuse: bool, run: Callable[[str, int], dict]
) -> tuple[dict[str, list[dict]], list[str]]:
    """Each recipe's results over the seeds: ``run(recipe, seed)``, or with ``reuse`` the finished
    ``<out>/<recipe>_seed<S>.json`` files; returns them and the names of the files not there yet."""
    results: dict[str, list[dict]] = {}
    missing = []
    for recipe in recipes:
        results[recipe] = []
        for seed in seeds:
            result_file = out / f"{recipe}_seed{seed}.json"
            if not reuse:
                results[recipe].append(run(recipe, seed))
            elif result_file.exists():
                results[recipe].append(json.loads(result_file.read_text()))
            else:
                missing.append(result_file.name)
    return results, missing


class Clock(pl.Callback):
    """Times a Trainer's batches: ``first`` at the first batch's start, ``last`` at the latest batch's end."""

    def __init__(self):
        self.first: Optional[float] = None
        self.last: Optional[float] = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.first is None:
            self.first = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.last = time.perf_counter()
