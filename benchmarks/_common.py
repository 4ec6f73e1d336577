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

import _parallel
from _parallel import run_in_parallel

ROOT = Path(__file__).resolve().parents[1]


def training_parser(doc: str, recipes, default, out: str, seeds: Optional[list[int]] = None, reuse: bool = True,
                    choice: str = "recipes", data_dir: bool = False, steps: bool = False):
    """An argument parser with the options of the scripts that train recipes: ``--recipes`` (or ``--<choice>``,
    from ``recipes``), ``--seeds`` (when ``seeds`` gives the default), ``--threads``, ``--out`` (``runs/<out>``),
    ``--reuse``, with ``data_dir`` MNIST's ``--data_dir`` (needed unless ``--reuse``: see
    :func:`parse_training_args`), and with ``steps`` ``--max_g_steps`` and ``--extend``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument(f"--{choice}", nargs="+", default=list(default), choices=list(recipes))
    if seeds is not None:
        p.add_argument("--seeds", nargs="+", type=int, default=seeds)
    p.add_argument("--threads", type=int, default=1, help="torch threads of each training process")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs trained and scored at once, each in its own process writing <out>/<run>.log "
                        "(say the machine's cores / --threads; on a GPU machine they share the device)")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / out)
    if reuse:
        p.add_argument("--reuse", action="store_true", help="print the table of finished runs in --out, train nothing")
    if data_dir:
        p.add_argument("--data_dir", default=None,
                       help="directory holding MNIST/raw (e.g. ../shared/data); needed unless --reuse")
    if steps:
        p.add_argument("--max_g_steps", type=int, default=None, help="override the recipes' max_g_steps")
        p.add_argument("--extend", action="store_true",
                       help="resume each run already in --out from its last.ckpt to --max_g_steps and score it again; "
                            "runs at --max_g_steps are kept, runs not there yet train from the start")
    return p


def parse_training_args(p: argparse.ArgumentParser) -> argparse.Namespace:
    """Parses a :func:`training_parser`'s arguments (with ``data_dir``): refuses training without ``--data_dir``
    in one line, creates ``--out`` and sets this process's torch threads."""
    args = p.parse_args()
    if not args.reuse and args.data_dir is None:
        p.error("--data_dir is needed to train and score: give the directory holding MNIST/raw, or pass --reuse")
    check_jobs(p, args)
    if getattr(args, "extend", False) and (args.reuse or not args.max_g_steps):
        p.error("--extend resumes the runs in --out to a longer training: give it --max_g_steps N (the new length), "
                "without --reuse")
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    return args


def last_checkpoint(save_dir: Path) -> Optional[Path]:
    """The newest ``<run dir>/checkpoints/last.ckpt`` under ``save_dir``, or ``None``."""
    found = sorted(save_dir.glob("**/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def config_path(recipe: str) -> Path:
    """A recipe's YAML: ``zoo_configs/<recipe>.yaml``, or ``recipe`` itself when it names a ``.yaml`` file."""
    return Path(recipe) if recipe.endswith((".yaml", ".yml")) else ROOT / "zoo_configs" / f"{recipe}.yaml"


def fit(
    recipe: str, save_dir: Path, extra: list[str], threads: int, quiet: bool = False, extend_to: Optional[int] = None,
) -> tuple[Path, float]:
    """Runs ``ganzoo fit --config zoo_configs/<recipe>.yaml <extra>`` (W&B offline, ``threads`` torch threads)
    with its run directory under ``save_dir``; returns the last checkpoint and the wall-clock seconds.

    With ``extend_to``, a run already under ``save_dir`` is resumed in place from its ``last.ckpt`` to
    ``extend_to`` G steps, through its own ``config.yaml`` (so ``recipe`` and ``extra``, which made it, are
    not given again, but for the options of :data:`LOCAL_OPTIONS`: an ``--out`` moved to a machine whose MNIST
    lies elsewhere resumes with this call's ``--data.data_dir``); the seconds returned are then its training time
    over every call, which each call adds to ``<save_dir>/fit_seconds.json``.

    ``quiet`` drops fit's standard output (its progress) unless the run writes a log of its own
    (``--jobs``, :func:`_parallel.logged`), where the progress belongs."""
    resumed = last_checkpoint(save_dir) if extend_to else None
    if resumed is None:
        arguments = ["--config", str(config_path(recipe)), "--trainer.logger.init_args.save_dir", str(save_dir), *extra]
    else:
        arguments = [
            "--config", str(resumed.parent.parent / "config.yaml"), "--trainer.logger.init_args.save_dir", str(save_dir),
            "--ckpt_path", str(resumed), "--max_g_steps", str(extend_to), *local_options(extra),
        ]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ganzoo", "fit", *arguments], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL if quiet and not _parallel.logged() else None)
    seconds = time.perf_counter() - start
    checkpoint = last_checkpoint(save_dir)
    if checkpoint is None:
        raise RuntimeError(f"ganzoo fit on {recipe} wrote no last.ckpt under {save_dir}")
    return checkpoint, spent(save_dir, seconds, resumed is not None)


#: the ``ganzoo fit`` options that say where things lie on this machine, not how a run trains: the only ones of
#: ``extra`` that :func:`fit` passes again to a resumed run
LOCAL_OPTIONS = ("--data.data_dir", "--data.init_args.data_dir")


def local_options(extra: list[str]) -> list[str]:
    """The options of ``extra`` in :data:`LOCAL_OPTIONS`, with their values (``--option value`` or
    ``--option=value``), in their order."""
    kept = []
    for i, argument in enumerate(extra):
        name = argument.split("=", 1)[0]
        if name in LOCAL_OPTIONS:
            kept += [argument] if "=" in argument else extra[i : i + 2]
    return kept


def spent(save_dir: Path, seconds: float, resumed: bool) -> float:
    """Adds a ``ganzoo fit``'s ``seconds`` to ``<save_dir>/fit_seconds.json`` (started again unless ``resumed``)
    and returns the run's training time over its calls. A run trained before that file was kept counts the
    ``train_seconds`` of its result file, ``<save_dir>.json``."""
    ledger, result = save_dir / "fit_seconds.json", save_dir.parent / f"{save_dir.name}.json"
    calls = []
    if resumed and ledger.exists():
        calls = json.loads(ledger.read_text())
    elif resumed and result.exists():
        calls = [json.loads(result.read_text())["train_seconds"]]
    calls.append(seconds)
    ledger.write_text(json.dumps(calls))
    return sum(calls)


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


def check_jobs(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuses a ``--jobs`` below 1 in one line."""
    if args.jobs < 1:
        p.error(f"--jobs must be a number of runs at once, 1 or more, got {args.jobs}; e.g. --jobs 2 on 2 cores")


def collect(
    recipes: list[str], seeds: list[int], out: Path, reuse: bool, run: Callable[[str, int, argparse.Namespace], dict],
    args: argparse.Namespace,
) -> tuple[dict[str, list[dict]], list[str]]:
    """Each recipe's results over the seeds: ``run(recipe, seed, args)``, or with ``reuse`` the finished
    ``<out>/<recipe>_seed<S>.json`` files; returns them and the names of the files not there yet.

    With ``args.extend`` only the runs whose file is missing or records fewer than ``args.max_g_steps`` G
    steps are run (``run`` resumes them: :func:`fit`'s ``extend_to``); a file beyond it stops everything
    before anything trains. ``run`` must write ``<out>/<recipe>_seed<S>.json`` and return what it wrote.
    With ``args.jobs`` above 1 the runs go ``args.jobs`` at a time (:func:`run_in_parallel`), and ``run``
    must be a module-level function (it is pickled into each run's process).
    """
    pairs = [(recipe, seed) for recipe in recipes for seed in seeds]
    todo = [] if reuse else [pair for pair in pairs if pending(out / f"{pair[0]}_seed{pair[1]}.json", args)]
    if todo and getattr(args, "jobs", 1) > 1:
        run_in_parallel(todo, out, run, args)
        todo = []  # every run wrote its file
    results: dict[str, list[dict]] = {recipe: [] for recipe in recipes}
    missing = []
    for recipe, seed in pairs:
        result_file = out / f"{recipe}_seed{seed}.json"
        if (recipe, seed) in todo:
            results[recipe].append(run(recipe, seed, args))
        elif result_file.exists():
            results[recipe].append(json.loads(result_file.read_text()))
        else:
            missing.append(result_file.name)
    return results, missing


def pending(result_file: Path, args: argparse.Namespace) -> bool:
    """Whether a run is to train: always, except with ``args.extend``, where only a run without a result
    file or one short of ``args.max_g_steps`` G steps is; a result beyond them stops the script in one line."""
    if not getattr(args, "extend", False) or not result_file.exists():
        return True
    steps = json.loads(result_file.read_text())["generator_steps"]
    if steps > args.max_g_steps:
        raise SystemExit(f"{result_file} records {steps} G steps, more than --max_g_steps {args.max_g_steps}: "
                         f"--extend only lengthens runs; give --max_g_steps {steps} or more, or another --out")
    return steps < args.max_g_steps


def now() -> tuple[float, float]:
    """Wall-clock seconds and this process's CPU seconds. On a machine shared with other jobs the CPU
    time of a one-thread run barely depends on their load, where the wall-clock time doubles."""
    return time.perf_counter(), time.process_time()


class Clock(pl.Callback):
    """Times a Trainer's batches: ``first`` at the start of the batch after the first ``skip`` ones (say
    while torch.compile compiles), ``last`` at the latest batch's end, each as :func:`now`."""

    def __init__(self, skip: int = 0):
        self.skip = skip
        self.seen = 0
        self.first: Optional[tuple[float, float]] = None
        self.last: Optional[tuple[float, float]] = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.first is None and self.seen == self.skip:
            self.first = now()
        self.seen += 1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.last = now()

    def seconds(self) -> tuple[float, float]:
        """Wall-clock and CPU seconds from ``first`` to ``last``."""
        return self.last[0] - self.first[0], self.last[1] - self.first[1]


def timed_fit(model: pl.LightningModule, data, g_steps: int, skip: int = 0) -> tuple[float, float, float]:
    """Fits a GANModule for ``skip + g_steps`` G steps on the CPU, no logger; returns the wall-clock and the CPU
    seconds of the last ``g_steps`` batches and the wall-clock seconds from the call of ``fit`` to the first
    of them (set-up, compilation). ``data`` is a datamodule or a training loader."""
    clock = Clock(skip)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=-1, max_steps=model.optimizer_steps_after(skip + g_steps),
        logger=False, callbacks=[clock],
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )  # fmt: skip
    start = time.perf_counter()
    if isinstance(data, pl.LightningDataModule):
        trainer.fit(model, datamodule=data)
    else:
        trainer.fit(model, train_dataloaders=data)
    return (*clock.seconds(), clock.first[0] - start)


def quiet() -> None:
    """Silences Lightning's info lines and warnings (a benchmark prints its table only)."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)


def median_table(results: dict[str, list[tuple[float, float]]], reference: str, scale: float, unit: str) -> None:
    """A Markdown table of each row's median ``scale / seconds`` (``unit``) by the wall clock and per CPU second,
    each with its ratio to ``reference``; ``results`` holds ``(wall, cpu)`` seconds per run."""
    def rates(name: str, clock: int) -> list[float]:
        return [scale / run[clock] for run in results[name]]

    refs = [statistics.median(rates(reference, clock)) for clock in (0, 1)]
    print(f"| variant | {unit}/s, wall clock (median; min-max) | ratio | {unit} per CPU second (median; min-max) | ratio |")
    print("|---|---|---|---|---|")
    for name in results:
        cells = []
        for clock in (0, 1):
            values = rates(name, clock)
            median = statistics.median(values)
            cells.append(f"{median:.0f} ({min(values):.0f}-{max(values):.0f}) | {median / refs[clock]:.3f}")
        print(f"| {name} | {' | '.join(cells)} |")


def speed_parser(doc: str, batch_size: int) -> argparse.ArgumentParser:
    """An argument parser with the options the speed benchmarks share: ``--data_dir`` (MNIST),
    ``--repeats``, ``--batch_size``, ``--width`` (the DCGAN's) and ``--threads``."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default=str(ROOT.parent / "shared" / "data"), help="where MNIST lies")
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs per variant; medians are reported")
    p.add_argument("--batch_size", type=int, default=batch_size)
    p.add_argument("--width", type=int, default=32, help="DCGAN: g_width = d_width")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    return p


def parse_speed_args(parser: argparse.ArgumentParser, *underscored: str) -> argparse.Namespace:
    """Parses the command line (``--batch-size`` and ``--batch_size`` alike, for ``--data_dir``, ``--batch_size``
    and the ``underscored`` options), sets the torch threads and silences Lightning."""
    from ganzoo.argparsing import dashed, respell

    args = parser.parse_args(respell(sys.argv[1:], dashed("--data_dir", "--batch_size", *underscored)))
    torch.set_num_threads(args.threads)
    quiet()
    return args
