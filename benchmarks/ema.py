"""G's moving average against G itself, on the same runs.

Trains recipes of ``zoo_configs/`` through ``ganzoo fit`` with ``ema_decay`` set,
for several seeds, then scores each run's last checkpoint twice, from the same
latent codes: with the moving average and with G (``ema=False``). The pairs share
everything but the sampler, so the difference is the average's alone.

- 1-D and 2-D recipes: the datamodule's own metrics against the known target
  (KS and W1 for the Gaussian; modes covered and % high quality for mixtures);
- ``dcgan_digits``: the digits datamodule's own classifier metrics (classifier score,
  classes covered) on its ``num_eval_samples`` samples;
- ``cgan_digits``: ``ganzoo evaluate`` with the shipped digits classifier
  (class accuracy, Fréchet distance in its features).

    python benchmarks/ema.py                                   # quick start and cgan_digits, seeds 0 1 2
    python benchmarks/ema.py --recipes vanilla_ring8 --seeds 0 1 2 3 4 --decay 0.999
"""
from __future__ import annotations

from pathlib import Path

import torch

from _common import fit, last_checkpoint, machine, mean_se, training_parser

#: what each recipe is scored on: the datamodule's metrics, or the digits classifier through ``ganzoo evaluate``
SCORES = {
    "vanilla_gaussian1d": ("ks", "w1"),
    "vanilla_ring8": ("modes", "high_quality"),
    "vanilla_grid25": ("modes", "high_quality"),
    "cgan_digits": ("class_accuracy", "fd_classifier"),
    "dcgan_digits": ("classifier_score", "classes_covered"),
}


def train(recipe: str, seed: int, decay: float, out: Path, threads: int) -> Path:
    """``ganzoo fit`` with ``ema_decay``; a run already in ``out`` is reused."""
    save_dir = out / f"{recipe}_seed{seed}_decay{decay}"
    finished = last_checkpoint(save_dir)
    if finished:
        return finished
    extra = ["--seed_everything", str(seed), "--model.init_args.ema_decay", str(decay)]
    return fit(recipe, save_dir, extra, threads, quiet=True)[0]


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
    mean, error = mean_se(values)
    return f"{mean:.4g} ± {error:.2g}"


def main() -> None:
    p = training_parser(__doc__, sorted(SCORES), ["vanilla_gaussian1d", "cgan_digits"], "bench_ema", seeds=[0, 1, 2], reuse=False)
    p.add_argument("--decay", type=float, default=0.999)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    rows = ["| recipe | metric | moving average | G | runs where the average is better |", "|---|---|---|---|---|"]
    for recipe in args.recipes:
        runs = [score(recipe, train(recipe, seed, args.decay, args.out, args.threads), args.out) for seed in args.seeds]
        for key in SCORES[recipe]:
            average, live = [r["average"][key] for r in runs], [r["G"][key] for r in runs]
            higher_is_better = key in ("modes", "high_quality", "class_accuracy", "classifier_score", "classes_covered")
            wins = sum((a > g) if higher_is_better else (a < g) for a, g in zip(average, live))
            rows.append(f"| {recipe} | {key} | {summary(average)} | {summary(live)} | {wins} of {len(runs)} |")
            seeds = " / ".join(map(str, args.seeds))
            print(f"{recipe} {key}, seeds {seeds}: average {' / '.join(f'{v:.4g}' for v in average)}; "
                  f"G {' / '.join(f'{v:.4g}' for v in live)}")
    print(f"\n{machine(args.threads)}")
    print(f"Command: python benchmarks/ema.py --recipes {' '.join(args.recipes)} --seeds {' '.join(map(str, args.seeds))} "
          f"--decay {args.decay}\n(mean ± standard error over seeds; both columns from the same runs and latent codes)\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
