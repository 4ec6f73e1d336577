"""G's moving average against G itself, on the same runs.

Trains recipes of ``zoo_configs/`` through ``ganzoo fit`` with ``ema_decay`` set,
for several seeds, then scores each run's last checkpoint twice, from the same
latent codes: with the moving average and with G (``ema=False``). The pairs share
everything but the sampler, so the difference is the average's alone.

- 1-D and 2-D recipes: the datamodule's own metrics against the known target
  (KS and W1 for the Gaussian; modes covered and % high quality for mixtures);
- ``cgan_digits``: ``ganzoo evaluate`` with the shipped digits classifier
  (class accuracy, Fréchet distance in its features).

    python benchmarks/ema.py                                   # quick start and cgan_digits, seeds 0 1 2
    python benchmarks/ema.py --recipes vanilla_ring8 --seeds 0 1 2 3 4 --decay 0.999
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import lightning
import torch

ROOT = Path(__file__).resolve().parents[1]
#: what each recipe is scored on: the datamodule's metrics, or the digits classifier through ``ganzoo evaluate``
SCORES = {
    "vanilla_gaussian1d": ("ks", "w1"),
    "vanilla_ring8": ("modes", "high_quality"),
    "vanilla_grid25": ("modes", "high_quality"),
    "cgan_digits": ("class_accuracy", "fd_classifier"),
}


def train(recipe: str, seed: int, decay: float, out: Path, threads: int) -> Path:
    """``ganzoo fit`` with ``ema_decay``; a run already in ``out`` is reused."""
    save_dir = out / f"{recipe}_seed{seed}_decay{decay}"
    finished = sorted(save_dir.glob("**/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if finished:
        return finished[-1]
    command = [
        sys.executable, "-m", "ganzoo", "fit", "--config", str(ROOT / "zoo_configs" / f"{recipe}.yaml"),
        "--seed_everything", str(seed), "--model.init_args.ema_decay", str(decay),
        "--trainer.logger.init_args.save_dir", str(save_dir),
    ]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": str(threads)}
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return sorted(save_dir.glob("**/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)[-1]


def score(recipe: str, checkpoint: Path, out: Path) -> dict[str, dict[str, float]]:
    """The recipe's metrics of the moving average and of G, from the same codes (seed 0)."""
    from ganzoo import GANModule
    from ganzoo.evaluate import load_datamodule
    from ganzoo.evaluate import main as evaluate

    results = {}
    if recipe == "cgan_digits":
        for name, extra in (("average", []), ("G", ["--no_ema"])):
            argv = [str(checkpoint), "--metrics", "class_accuracy", "fd_classifier", "--classifier", "digits",
                    "--num_fake", "10000", "--device", "cpu", "--output", str(out / f"{checkpoint.parent.parent.name}_{name}.json")]  # fmt: skip
            metrics = evaluate(argv + extra)["metrics"]
            # the keys name their protocol: class_accuracy_10k, fd_digits_10k_train
            results[name] = {key: next(v for k, v in metrics.items() if k.startswith(key.replace("classifier", "")))
                             for key in SCORES[recipe]}
        return results
    module = GANModule.load_from_checkpoint(checkpoint, map_location="cpu")
    datamodule = load_datamodule(str(checkpoint))
    datamodule.setup("fit")
    for name, ema in (("average", True), ("G", False)):
        values = datamodule.evaluate(module.generate(datamodule.num_eval_samples, seed=0, ema=ema))
        results[name] = {key: float(values[key]) for key in SCORES[recipe]}
    return results


def summary(values: list[float]) -> str:
    mean = statistics.mean(values)
    error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return f"{mean:.4g} ± {error:.2g}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", nargs="+", default=["vanilla_gaussian1d", "cgan_digits"], choices=sorted(SCORES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--decay", type=float, default=0.999)
    p.add_argument("--threads", type=int, default=1, help="torch threads of each training process")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "bench_ema")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    rows = ["| recipe | metric | moving average | G | runs where the average is better |", "|---|---|---|---|---|"]
    for recipe in args.recipes:
        runs = [score(recipe, train(recipe, seed, args.decay, args.out, args.threads), args.out) for seed in args.seeds]
        for key in SCORES[recipe]:
            average, live = [r["average"][key] for r in runs], [r["G"][key] for r in runs]
            higher_is_better = key in ("modes", "high_quality", "class_accuracy")
            wins = sum((a > g) if higher_is_better else (a < g) for a, g in zip(average, live))
            rows.append(f"| {recipe} | {key} | {summary(average)} | {summary(live)} | {wins} of {len(runs)} |")
            seeds = " / ".join(map(str, args.seeds))
            print(f"{recipe} {key}, seeds {seeds}: average {' / '.join(f'{v:.4g}' for v in average)}; "
                  f"G {' / '.join(f'{v:.4g}' for v in live)}")
    print(f"\nMachine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"{args.threads} torch thread(s); torch {torch.__version__}, lightning {lightning.__version__}")
    print(f"Command: python benchmarks/ema.py --recipes {' '.join(args.recipes)} --seeds {' '.join(map(str, args.seeds))} "
          f"--decay {args.decay}\n(mean ± standard error over seeds; both columns from the same runs and latent codes)\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
