"""Benchmark runs side by side: each in a fresh process with its own log. Imports nothing heavy, so a run's
process loads only what its own function needs."""
from __future__ import annotations

import argparse
import multiprocessing.connection
import os
import sys
from pathlib import Path
from typing import Callable

Run = Callable[[str, int, argparse.Namespace], dict]

#: the log this process writes to, when it is one of :func:`run_in_parallel`'s runs
_LOG: str | None = None


def logged() -> bool:
    """Whether this process is one of :func:`run_in_parallel`'s runs, its output going to its own log."""
    return _LOG is not None


def run_in_parallel(runs: list[tuple[str, int]], out: Path, run: Run, args: argparse.Namespace) -> None:
    """``run(recipe, seed, args)`` for every ``(recipe, seed)``, ``args.jobs`` at a time, each in a fresh
    (spawned) process whose stdout and stderr go to ``<out>/<recipe>_seed<S>.log``.

    ``run`` must be a module-level function (it is pickled into each process) that writes its own
    result file. A failed run does not stop the others; once all have ended, the failures are
    named in one line (``SystemExit``), and the finished runs' files stay for ``--reuse``.
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch threads or CUDA state forked
    pending, active, failed = list(runs), {}, []
    while pending or active:
        while pending and len(active) < args.jobs:
            recipe, seed = pending.pop(0)
            log = out / f"{recipe}_seed{seed}.log"
            process = context.Process(target=_logged_run, args=(run, recipe, seed, args, str(log)))
            process.start()
            active[process.sentinel] = (process, recipe, seed, log)
            print(f"started {recipe} seed {seed} (log: {log})", flush=True)
        for sentinel in multiprocessing.connection.wait(list(active)):
            process, recipe, seed, log = active.pop(sentinel)
            process.join()
            if process.exitcode == 0:
                print(f"finished {recipe} seed {seed}", flush=True)
            else:
                failed.append(f"{recipe} seed {seed} (exit code {process.exitcode}, {log})")
                print(f"failed {recipe} seed {seed}: exit code {process.exitcode}; see {log}", flush=True)
    if failed:
        raise SystemExit(f"{len(failed)} of {len(runs)} runs failed: {'; '.join(failed)}; "
                         "rerun them, or print the finished runs' table with --reuse")


def _logged_run(run: Run, recipe: str, seed: int, args: argparse.Namespace, log: str) -> None:
    """One run of :func:`run_in_parallel` in its own process: its output, and its subprocesses', in ``log``."""
    global _LOG
    _LOG = log
    with open(log, "a") as file:
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
    torch = sys.modules.get("torch")  # loaded with run's module when it scores in this process
    if torch is not None:
        torch.set_num_threads(args.threads)
    run(recipe, seed, args)
