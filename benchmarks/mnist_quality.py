"""GANs on real MNIST: DCGAN, the self-conditioned GAN and the conditional variants, scored by ganzoo's MNIST classifier.

Trains each recipe of ``zoo_configs/`` named here through ganzoo's own CLI
(``ganzoo fit``, W&B offline), then scores its last checkpoint with ``ganzoo evaluate``
on 10,000 samples (1,000 per requested digit for a conditional GAN), read by ganzoo's
MNIST classifier (trained on the 60,000 training digits; 99.62% on the 10,000 test digits):

- ``class_accuracy`` (conditional GANs): the fraction classified as the requested digit;
- ``fd_mnist``: Fréchet distance to the training digits in the classifier's features;
- ``classifier_score``: the Inception Score's formula on the classifier (at most 10),
  with ``classes_covered``;
- ``fid`` (Inception FID against the training digits), only with ``--inception_weights``.

Prints a Markdown table with the training time. Each recipe's result is kept in
``<out>/<recipe>.json``; ``--reuse`` prints the table from those files without
training, so recipes may be trained by separate processes (one per core) and
reported together.

    python benchmarks/mnist_quality.py --data_dir ../shared/data                      # all five, one after the other
    python benchmarks/mnist_quality.py --data_dir ../shared/data --recipes dcgan_mnist --max_g_steps 3000
    python benchmarks/mnist_quality.py --data_dir ../shared/data --reuse              # the table of finished runs
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from _common import fit, machine, training_parser

from ganzoo.argparsing import dashed, respell

#: selfcond_mnist trains without labels and is scored as dcgan_mnist is (its labels are clusters, not classes).
RECIPES = ("dcgan_mnist", "selfcond_mnist", "cgan_mnist", "acgan_mnist", "projgan_mnist")
CONDITIONAL = {"cgan_mnist", "acgan_mnist", "projgan_mnist"}


def metrics_of(recipe: str, inception_weights: str | None) -> list[str]:
    """What ``ganzoo evaluate`` measures for a recipe: class accuracy only where classes are asked for."""
    names = (["class_accuracy"] if recipe in CONDITIONAL else []) + ["fd_classifier", "classifier_score"]
    return names + (["fid"] if inception_weights else [])


def train(recipe: str, out: Path, data_dir: str, max_g_steps: int | None, threads: int) -> tuple[Path, float]:
    """Runs ``ganzoo fit`` on a recipe; returns its last checkpoint and the wall-clock seconds."""
    extra = ["--data.data_dir", data_dir] + (["--max_g_steps", str(max_g_steps)] if max_g_steps else [])
    return fit(recipe, out / recipe, extra, threads)


def score(checkpoint: Path, metrics: list[str], args: argparse.Namespace, out: Path) -> dict:
    """``ganzoo evaluate`` on a checkpoint: the report with the metrics and their protocol."""
    from ganzoo.evaluate import main as evaluate

    argv = [str(checkpoint), "--metrics", *metrics, "--classifier", "mnist", "--num_fake", str(args.num_fake),
            "--data_dir", args.data_dir, "--device", "cpu", "--output", str(out)]  # fmt: skip
    if args.inception_weights:
        argv += ["--inception_weights", args.inception_weights]
    return evaluate(argv)


def run(recipe: str, args: argparse.Namespace) -> dict:
    result_file = args.out / f"{recipe}.json"
    if args.reuse:
        return json.loads(result_file.read_text())
    torch.set_num_threads(args.threads)
    checkpoint, seconds = train(recipe, args.out, args.data_dir, args.max_g_steps, args.threads)
    report = score(checkpoint, metrics_of(recipe, args.inception_weights), args, args.out / f"{recipe}_metrics.json")
    result = {"recipe": recipe, "checkpoint": str(checkpoint), "train_seconds": seconds, **report}
    result_file.write_text(json.dumps(result, indent=2))
    return result


def table(results: list[dict]) -> str:
    rows = [
        "| recipe | model | G steps | train time | class accuracy | fd_mnist | classifier score | classes covered | FID |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        values = r["metrics"]

        def first(prefix: str, fmt: str) -> str:
            found = [v for k, v in values.items() if k.startswith(prefix) and not k.endswith("_std")]
            return fmt.format(found[0]) if found else "n/a"

        rows.append(
            f"| {r['recipe']} | {r['model']} | {r['generator_steps']} | {r['train_seconds'] / 60:.1f} min | "
            f"{first('class_accuracy', '{:.2%}')} | {first('fd_', '{:.2f}')} | {first('classifier_score', '{:.2f}')} | "
            f"{first('classes_covered', '{:.0f}')} | {first('fid', '{:.2f}')} |"
        )
    return "\n".join(rows)


def main() -> None:
    p = training_parser(__doc__, RECIPES, RECIPES, "bench_mnist")
    p.add_argument("--data_dir", required=True, help="directory holding MNIST/raw (e.g. ../shared/data)")
    p.add_argument("--max_g_steps", type=int, default=None, help="override the recipes' max_g_steps")
    p.add_argument("--num_fake", type=int, default=10_000, help="samples scored per recipe, balanced over the digits")
    p.add_argument("--inception_weights", default=None, help="InceptionV3 weights file: also measure FID")
    args = p.parse_args(respell(sys.argv[1:], dashed("--data_dir", "--max_g_steps", "--num_fake", "--inception_weights")))
    args.out.mkdir(parents=True, exist_ok=True)
    results = [run(recipe, args) for recipe in args.recipes]
    print(f"\n{machine(args.threads)}")
    steps = f" --max_g_steps {args.max_g_steps}" if args.max_g_steps else ""
    print(f"Command: python benchmarks/mnist_quality.py --data_dir {args.data_dir} --recipes {' '.join(args.recipes)}{steps}\n")
    print(table(results))


if __name__ == "__main__":
    main()
