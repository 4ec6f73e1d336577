"""Memorisation on MNIST: copies of the training digits score a near-perfect FD, and the memorisation metric flags them.

Each row is scored as if it were a generator's ``--num`` samples, through
:class:`ganzoo.ImageEvaluator` with ``fd_classifier``, ``memorisation`` (the MNIST
classifier's features) and ``memorisation_pixels`` (the image bytes):

- ``train copies``: the first ``--num`` training digits, unchanged;
- ``train + noise s``: the same digits plus Gaussian noise of std s (images in [-1, 1]), clamped;
- ``held-out digits``: the first ``--num`` test digits, which no generator saw;
- ``--checkpoints``: each checkpoint's own samples (``ganzoo fit`` writes them).

The held-out yardstick is the rest of the test split (test digits ``--num`` onwards), so
the held-out row is not compared with itself. FD is against the whole training split.
Then it times the chunked nearest-neighbour search alone: ``--queries`` rows against the
60,000 training rows, in the classifier's 128 features and in the 784 bytes, on
``--threads`` threads. Prints Markdown tables.

    python benchmarks/memorisation.py --data_dir ../shared/data                  # ~10 min on one CPU thread
    python benchmarks/memorisation.py --data_dir ../shared/data --checkpoints runs/ganzoo/<id>/checkpoints/last.ckpt
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from ganzoo import MNISTDataModule  # noqa: E402
from ganzoo.metrics.evaluator import ImageEvaluator, module_sampler  # noqa: E402
from ganzoo.metrics.memorisation import COPY_QUANTILE, nearest_distances  # noqa: E402

METRICS = ["fd_classifier", "memorisation", "memorisation_pixels"]


class HeldOutHalf:
    """MNIST with its test split cut after ``num`` images: the digits before the cut are scored, those after are held out."""

    def __init__(self, data: MNISTDataModule, num: int):
        test = data.splits["test"]
        self.image_shape, self.num_classes = data.image_shape, data.num_classes
        self.splits = {"train": data.splits["train"], "test": test.select(torch.arange(num, len(test)))}


def rows(data: MNISTDataModule, num: int, sigmas: list[float]) -> dict[str, torch.Tensor]:
    """The image sets scored, in [-1, 1], ``(num, 1, 28, 28)`` each."""
    train = data.splits["train"].images[:num].float() / 127.5 - 1
    noise = torch.randn(train.shape, generator=torch.Generator().manual_seed(0))
    out = {"train copies": train}
    out.update({f"train + noise {s}": (train + s * noise).clamp(-1, 1) for s in sigmas})
    out["held-out digits"] = data.splits["test"].images[:num].float() / 127.5 - 1
    return out


def score(evaluator: ImageEvaluator, sample_fn, data) -> tuple[dict[str, float], float]:
    start = time.perf_counter()
    values = evaluator.evaluate(sample_fn, data)
    return values, time.perf_counter() - start


def quality_table(args, mnist: MNISTDataModule, cache_dir: str) -> list[str]:
    data = HeldOutHalf(mnist, args.num)
    evaluator = lambda: ImageEvaluator(METRICS, classifier="mnist", num_fake=args.num, batch_size=500,  # noqa: E731
                                       cache_dir=cache_dir)
    lines = []
    for name, images in rows(mnist, args.num, args.sigmas).items():
        chunks = iter(images.split(500))
        values, seconds = score(evaluator(), lambda n, seed, labels: next(chunks), data)
        lines.append(_row(name, values, seconds))
    for checkpoint in args.checkpoints:
        from ganzoo.commands.generate import load_generator

        values, seconds = score(evaluator(), module_sampler(load_generator(str(checkpoint), "cpu")), data)
        lines.append(_row(f"samples of {checkpoint}", values, seconds))
    n = f"{args.num // 1000}k" if args.num % 1000 == 0 else str(args.num)
    header = [f"| {args.num} images | fd_mnist_{n}_train | copy_rate (features) | nn_ratio (features) | "
              "copy_rate (pixels) | nn_ratio (pixels) | seconds |", "|---|---|---|---|---|---|---|"]
    return header + lines


def _row(name: str, values: dict[str, float], seconds: float) -> str:
    fd = next(v for k, v in values.items() if k.startswith("fd_"))
    pick = lambda kind, space: next(v for k, v in values.items() if k.startswith(f"{kind}_{space}_"))  # noqa: E731
    cells = [f"{fd:.2f}"] + [f"{pick(kind, space):.3f}" for space in ("mnist", "pixels") for kind in ("copy_rate", "nn_ratio")]
    return f"| {name} | {' | '.join(cells)} | {seconds:.0f} |"


def cost_table(args, data) -> list[str]:
    """Seconds of the nearest-neighbour search alone, --queries x the whole training split."""
    from ganzoo.metrics.domain import load_domain_classifier

    train = data.splits["train"].images.float() / 127.5 - 1
    queries = data.splits["test"].images[: args.queries].float() / 127.5 - 1
    classifier = load_domain_classifier("mnist")
    spaces = {"classifier features (128)": (classifier.features(queries), classifier.features(train)),
              "pixels (784)": (queries.flatten(1) * 127.5 + 127.5, train.flatten(1) * 127.5 + 127.5)}
    lines = [f"| space | {args.queries} x {len(train)} search, seconds | largest block held |", "|---|---|---|"]
    for name, (q, ref) in spaces.items():
        start = time.perf_counter()
        nearest_distances(q, ref)
        lines.append(f"| {name} | {time.perf_counter() - start:.1f} | 1,024 x 8,192 distances (32 MB) |")
    return lines


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data_dir", required=True, help="the folder holding MNIST/raw")
    p.add_argument("--num", type=int, default=5000, help="images per row (and the cut of the test split)")
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.05, 0.1, 0.2], help="noise stds of the noisy rows")
    p.add_argument("--checkpoints", type=Path, nargs="*", default=[], help="checkpoints whose samples get a row")
    p.add_argument("--queries", type=int, default=10_000, help="rows of the timed search against the 60,000")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache_dir", default=None, help="real-statistics cache (default: a temporary folder)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = MNISTDataModule(data_dir=args.data_dir)
    data.setup("fit")
    with tempfile.TemporaryDirectory() as scratch:
        print(machine(args.threads))
        print(f"copy threshold: the {COPY_QUANTILE:.0%} quantile of the held-out digits' nearest-training distances\n")
        print("\n".join(quality_table(args, data, args.cache_dir or scratch)) + "\n")
        print("\n".join(cost_table(args, data)))


if __name__ == "__main__":
    main()
