"""Start-up time of the commands: ``ganzoo --help``, ``generate`` and ``evaluate``, two source trees side by side.

Runs each command in a fresh process (``python -m ganzoo ...``, 1 thread), alternating
between ``--before`` (a copy of an older ganzoo, e.g. ``git archive main | tar -x -C /tmp/before``)
and ``--after`` (this checkout), ``--repeats`` times, and prints the median wall-clock
seconds, the ratio before/after, and the import time that ``python -X importtime``
reports (the sum over top-level imports, one run each). The ``generate`` and ``evaluate``
runs use a checkpoint of a 2-step DCGAN on the bundled digits, written first by ``--before``
(a newer ganzoo reads an older checkpoint; an older one may not know a newer argument).

    git archive main | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python benchmarks/startup.py --before /tmp/before --repeats 5
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(checkpoint: Path, out: Path) -> dict[str, list[str]]:
    return {
        "ganzoo --help": ["--help"],
        "ganzoo generate --help": ["generate", "--help"],
        "ganzoo evaluate --help": ["evaluate", "--help"],
        "ganzoo generate (16 samples)": ["generate", str(checkpoint), "--num_samples", "16", "--output", str(out / "s.png")],
        "ganzoo evaluate (fd_classifier, 64 images)": [
            "evaluate", str(checkpoint), "--metrics", "fd_classifier", "--classifier", "digits", "--num_fake", "64",
            "--num_real", "64", "--no_cache", "--output", str(out / "m.json"),
        ],
    }  # fmt: skip


def run(tree: Path, args: list[str], importtime: bool = False) -> tuple[float, str]:
    """Wall-clock seconds of ``python -m ganzoo <args>`` with ``tree`` first on the path, and its stderr."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "ganzoo", *args]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed in {tree}:\n{result.stderr[-3000:]}")
    return seconds, result.stderr


def import_seconds(stderr: str) -> float:
    """The sum of the cumulative times of the top-level imports in ``-X importtime`` output."""
    total = 0
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and len(match.group(2)) <= 1:
            total += int(match.group(1))
    return total / 1e6


def checkpoint_of(tree: Path, folder: Path) -> Path:
    """A 2-step DCGAN checkpoint on the bundled digits, written by ``tree``'s ganzoo fit."""
    run(tree, ["fit", "--config", str(tree / "zoo_configs" / "dcgan_digits.yaml"), "--max_g_steps=2", "--trainer.logger=false",
               "--trainer.limit_val_batches=0", f"--trainer.default_root_dir={folder}"])  # fmt: skip
    return next(folder.rglob("last.ckpt"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", type=Path, required=True, help="the older source tree")
    p.add_argument("--after", type=Path, default=ROOT, help="the newer source tree; default this checkout")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = checkpoint_of(trees["before"], Path(tmp) / "fit")
        todo = commands(checkpoint, Path(tmp))
        seconds = {(name, which): [] for name in todo for which in trees}
        imports = {(name, which): import_seconds(run(tree, argv, importtime=True)[1])
                   for name, argv in todo.items() for which, tree in trees.items()}  # fmt: skip
        for _ in range(args.repeats):
            for name, argv in todo.items():
                for which, tree in trees.items():
                    seconds[name, which].append(run(tree, argv)[0])
    print(f"median of {args.repeats} runs each, 1 thread, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("| command | before (s) | after (s) | before / after | imports before (s) | imports after (s) |")
    print("|---|---|---|---|---|---|")
    for name in todo:
        before, after = (statistics.median(seconds[name, which]) for which in trees)
        print(f"| `{name}` | {before:.2f} | {after:.2f} | {before / after:.1f}x | "
              f"{imports[name, 'before']:.2f} | {imports[name, 'after']:.2f} |")


if __name__ == "__main__":
    main()
