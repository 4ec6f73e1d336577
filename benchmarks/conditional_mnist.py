"""Conditional GANs on real MNIST: how often a sample shows the digit it was asked for.

Trains each conditional recipe of ``zoo_configs/`` through ganzoo's own CLI
(``ganzoo fit``, W&B offline), then scores its last checkpoint with ``ganzoo evaluate``:
10,000 samples, 1,000 per requested digit, read by ganzoo's MNIST classifier
(trained on the 60,000 training digits; 99.62% on the 10,000 test digits):

- ``class_accuracy``: the fraction classified as the requested digit;
- ``fd_mnist``: Fréchet distance to the training digits in the classifier's features;
- ``classifier_score``: the Inception Score's formula on the classifier (at most 10).

Prints a Markdown table with the training time. Each recipe's result is kept in
``<out>/<recipe>.json``; ``--reuse`` prints the table from those files without
training, so recipes may be trained by separate processes (one per core) and
reported together.

    python benchmarks/conditional_mnist.py --data-dir ../shared/data                    # all three, one after the other
    python benchmarks/conditional_mnist.py --data-dir ../shared/data --recipes acgan_mnist --threads 1
    python benchmarks/conditional_mnist.py --data-dir ../shared/data --reuse            # the table of finished runs
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from _common import fit, machine, training_parser

RECIPES = ("cgan_mnist", "acgan_mnist", "projgan_mnist")
METRICS = ("class_accuracy", "fd_classifier", "classifier_score")


def train(recipe: str, out: Path, data_dir: str, max_g_steps: int | None, threads: int) -> tuple[Path, float]:
    """Runs ``ganzoo fit`` on a recipe; returns its last checkpoint and the wall-clock seconds."""
    extra = ["--data.data_dir", data_dir] + (["--max_g_steps", str(max_g_steps)] if max_g_steps else [])
    return fit(recipe, out / recipe, extra, threads)


def score(checkpoint: Path, data_dir: str, num_fake: int, out: Path) -> dict:
    """``ganzoo evaluate`` on a checkpoint: the report with the metrics and their protocol."""
    from ganzoo.evaluate import main as evaluate

    argv = [str(checkpoint), "--metrics", *METRICS, "--classifier", "mnist", "--num_fake", str(num_fake),
            "--data_dir", data_dir, "--device", "cpu", "--output", str(out)]  # fmt: skip
    return evaluate(argv)


def run(recipe: str, args: argparse.Namespace) -> dict:
    result_file = args.out / f"{recipe}.json"
    if args.reuse:
        return json.loads(result_file.read_text())
    torch.set_num_threads(args.threads)
    checkpoint, seconds = train(recipe, args.out, args.data_dir, args.max_g_steps, args.threads)
    report = score(checkpoint, args.data_dir, args.num_fake, args.out / f"{recipe}_metrics.json")
    result = {"recipe": recipe, "checkpoint": str(checkpoint), "train_seconds": seconds, **report}
    result_file.write_text(json.dumps(result, indent=2))
    return result


def table(results: list[dict]) -> str:
    rows = [
        "| recipe | model | G steps | train time | class accuracy | fd_mnist | classifier score |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        values = r["metrics"]
        accuracy = next(v for k, v in values.items() if k.startswith("class_accuracy"))
        fd = next(v for k, v in values.items() if k.startswith("fd_"))
        score_ = next(v for k, v in values.items() if k.startswith("classifier_score") and not k.endswith("_std"))
        rows.append(
            f"| {r['recipe']} | {r['model']} | {r['generator_steps']} | {r['train_seconds'] / 60:.1f} min | "
            f"{100 * accuracy:.2f}% | {fd:.2f} | {score_:.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    p = training_parser(__doc__, RECIPES, RECIPES, "bench_conditional")
    p.add_argument("--data-dir", required=True, help="directory holding MNIST/raw (e.g. ../shared/data)")
    p.add_argument("--max-g-steps", type=int, default=None, help="override the recipes' max_g_steps")
    p.add_argument("--num-fake", type=int, default=10_000, help="samples scored per recipe, balanced over the digits")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = [run(recipe, args) for recipe in args.recipes]
    print(f"\n{machine(args.threads)}")
    print(f"Command: python benchmarks/conditional_mnist.py --data-dir {args.data_dir} --recipes {' '.join(args.recipes)}\n")
    print(table(results))


if __name__ == "__main__":
    main()
