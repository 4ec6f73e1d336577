"""The quick start's wall time (``ganzoo fit --config zoo_configs/vanilla_gaussian1d.yaml``), two trees side by side.

Runs the README's quick start (3,000 G steps, W&B offline, 1 thread) from ``--before``
(an older source tree) and ``--after`` (this checkout), alternating, ``--repeats`` times;
prints the median wall time of each, the ratio, and each run's final metrics, which must
be equal (the random stream is the same). With ``--breakdown``, one more run of
``--after`` under py-spy (``pip install py-spy``) says where the main thread's time goes:
G's and D's arithmetic, the figures, validation, W&B, imports, ...

    git archive main | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python benchmarks/quickstart_time.py --before /tmp/before --repeats 3 --breakdown
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: where the main thread's samples go: the first part with a frame in a stack takes it (so an import
#: inside a figure counts as the figure's)
PARTS = {
    "animation (the GIF at the end)": ("animate_frames",),
    "figures (DistributionMonitor)": ("DistributionMonitor",),
    "W&B (init, logging)": ("WandbLogger", "wandb"),
    "validation": ("_EvaluationLoop.run",),
    "checkpoints": ("save_checkpoint",),
    "logging (log_dict)": ("log_dict",),
    "data (DataLoader)": ("_fetch_next_batch", "__next__"),
    "G and D forward": ("GANModule.forward", "discriminator_objective", "_generator_objective", "sample_prior"),
    "backward": ("manual_backward",),
    "optimizer step": ("LightningOptimizer.step",),
    "imports at start-up": ("_find_and_load",),
}


def quick_start(tree: Path, folder: Path, prefix: list[str] = ()) -> tuple[float, float, dict]:
    """Wall-clock and CPU seconds (user + system, the process and its children) of the quick start run
    from ``tree`` in ``folder``, and its final metrics. On a shared machine the CPU time varies less."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    folder.mkdir(parents=True)
    command = [*prefix, sys.executable, "-m", "ganzoo", "fit", "--config", str(tree / "zoo_configs" / "vanilla_gaussian1d.yaml")]
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, env=env, cwd=folder, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    [report] = folder.glob("runs/ganzoo/*/final_metrics.json")
    return seconds, cpu, json.loads(report.read_text())["metrics"]


def breakdown(tree: Path, folder: Path, keep: Path | None = None) -> dict[str, float]:
    """Seconds of the main thread in each of PARTS (py-spy samples at 100 Hz), plus ``total``."""
    samples = folder / "profile.txt"
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    quick_start(tree, folder / "run", [py_spy, "record", "-r", "100", "-f", "raw", "-o", str(samples), "--"])
    if keep is not None:
        shutil.copy(samples, keep)
    return parts_of(samples, 100)


def parts_of(samples: Path, rate: float) -> dict[str, float]:
    """Seconds of the main thread in each of PARTS, from py-spy's raw samples taken at ``rate`` Hz."""
    seconds = {part: 0.0 for part in PARTS}
    seconds["total"] = 0.0
    for line in samples.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack.startswith("_run_module_as_main"):
            continue  # W&B's and other threads
        seconds["total"] += int(count) / rate
        part = next((p for p, keys in PARTS.items() if any(k in stack for k in keys)), None)
        if part is not None:
            seconds[part] += int(count) / rate
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", type=Path, required=True)
    p.add_argument("--after", type=Path, default=ROOT)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--breakdown", action="store_true", help="one more run of --after under py-spy")
    p.add_argument("--profile", type=Path, default=None, help="keep py-spy's raw samples of --breakdown in this file")
    args = p.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    runs = {which: [] for which in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for which, tree in trees.items():
                runs[which].append(quick_start(tree, Path(tmp) / f"{which}{i}"))
        parts = breakdown(trees["after"], Path(tmp) / "profiled", args.profile) if args.breakdown else None
    if args.repeats:
        table(runs)
    if parts:
        print(f"\nwhere --after's main thread spends its {parts['total']:.1f} s (under py-spy):\n| part | s | % |\n|---|---|---|")
        parts["the rest: Lightning's loop, callbacks, CLI"] = parts["total"] - sum(parts[part] for part in PARTS)
        for part, seconds in parts.items():
            if part != "total":
                print(f"| {part} | {seconds:.1f} | {100 * seconds / parts['total']:.0f} |")


def table(runs: dict[str, list[tuple[float, float, dict]]]) -> None:
    print(f"the quick start, median of {len(runs['before'])} runs each, 1 thread, {os.cpu_count()} cores")
    wall = {which: statistics.median(w for w, _, _ in results) for which, results in runs.items()}
    cpu = {which: statistics.median(c for _, c, _ in results) for which, results in runs.items()}
    print("| tree | wall time (s) | CPU time (s) | final metrics of each run |\n|---|---|---|---|")
    for which, results in runs.items():
        print(f"| {which} | {wall[which]:.1f} | {cpu[which]:.1f} | {'; '.join(json.dumps(m) for _, _, m in results)} |")
    print(f"before / after: wall {wall['before'] / wall['after']:.3f}, CPU {cpu['before'] / cpu['after']:.3f}")


if __name__ == "__main__":
    main()
