"""``ganzoo train-classifier``: trains the domain evaluator's classifier on labelled real images.

    ganzoo train-classifier --data mnist --data_dir ../shared/data --out mnist.pt --epochs 10
    ganzoo train-classifier --data digits --image_size 16 --out digits.pt --epochs 60

Measures the accuracy on the test split (MNIST: the official 10,000; digits: the
held-out split of :class:`~ganzoo.data.DigitsDataModule`), records it in the file and
prints it. Load the file with :func:`ganzoo.metrics.domain.load_domain_classifier`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional

import torch
from lightning.pytorch import Callback, Trainer, seed_everything

from ganzoo.argparsing import CommandParser, check_output_path, dashed, positive_float, positive_int
from ganzoo.data.images import DigitsDataModule, ImageDataModule, MNISTDataModule
from ganzoo.errors import ConfigError, choose_from
from ganzoo.metrics.domain import DomainClassifier
from ganzoo.modules.classifier import ClassifierModule
from ganzoo.nets.classifier import DigitClassifier

PROG = "ganzoo train-classifier"
DATASETS = ("digits", "mnist")


class _EpochLines(Callback):
    """One line per epoch on stdout, where no progress bar can show (logs, pipes)."""

    def on_train_epoch_end(self, trainer: Trainer, pl_module) -> None:
        m = trainer.callback_metrics
        print(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: train/loss "
              f"{m.get('train/loss_epoch', float('nan')):.4f} val/acc {m.get('val/acc', float('nan')):.4f}", flush=True)


def parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog=PROG,
        description="Train a digit classifier for the domain evaluator (FID in its features, classifier score, "
        "conditional accuracy, Stacked MNIST modes).",
        old_spellings=dashed("--data_dir", "--image_size", "--batch_size"),  # before ganzoo spelled options as fit does
    )
    p.add_argument("--data", required=True, help=f"labelled real images: {' or '.join(DATASETS)}")
    p.add_argument("--data_dir", default="data", help="folder holding MNIST/raw/ (mnist only); default data")
    p.add_argument("--out", required=True, help="file to write, e.g. mnist.pt")
    p.add_argument("--epochs", type=positive_int, default=10, help="passes over the training split; default 10")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and augmentation; default 0")
    p.add_argument("--image_size", type=positive_int, default=None, help="train at this square size; default: the data's own")
    p.add_argument("--batch_size", type=positive_int, default=128, help="images per step; default 128")
    p.add_argument("--lr", type=positive_float, default=3e-3, help="peak Adam learning rate (one-cycle schedule); default 3e-3")
    p.add_argument("--width", type=positive_int, default=16, help="channels of the first conv stage; default 16")
    return p


def datamodule(args: argparse.Namespace) -> ImageDataModule:
    """The labelled images ``args`` name; one line when they cannot be had."""
    if args.data not in DATASETS:
        raise choose_from("--data", args.data, DATASETS)
    if args.data == "digits":
        return DigitsDataModule(batch_size=args.batch_size, image_size=args.image_size, seed=0)
    expected = Path(args.data_dir) / MNISTDataModule.expected_file
    if not expected.is_file():
        raise ConfigError(f"--data_dir '{args.data_dir}' holds no MNIST (expected {expected}); "
                          "pass the folder that holds MNIST/raw/ in torchvision's layout")
    return MNISTDataModule(data_dir=args.data_dir, batch_size=args.batch_size, image_size=args.image_size)


def train(args: argparse.Namespace, dm: ImageDataModule, argv: list[str]) -> DomainClassifier:
    """Trains a :class:`DigitClassifier` on ``dm``'s train split; returns it with its test accuracy."""
    seed_everything(args.seed, workers=True, verbose=False)
    net = DigitClassifier(image_shape=dm.image_shape, num_classes=dm.num_classes, width=args.width)
    module = ClassifierModule(net, lr=args.lr, max_shift=2, resample_prob=0.5, resample_scales=(0.5, 1.25))
    bar = sys.stderr.isatty()
    trainer = Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=bar,
        callbacks=[] if bar else [_EpochLines()],
        deterministic=True,
        num_sanity_val_steps=0,
    )
    trainer.fit(module, dm)
    recipe = {
        "command": " ".join([PROG, *argv]),
        "train_split": f"{type(dm).__name__} train ({len(dm.splits['train'])} images)",
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"Adam, one-cycle lr peak {args.lr}",
        "augmentation": "random shifts of up to 2 px; half the images resized to 0.5-1.25x their side and back",
        "seed": args.seed,
    }
    classifier = DomainClassifier(net.cpu(), args.data, recipe=recipe)
    test = dm.splits["test"]
    predicted = classifier(test.images.float() / 127.5 - 1 if test.images.dtype == torch.uint8 else test.images)
    classifier.test_accuracy = (predicted.argmax(dim=1) == test.labels).float().mean().item()
    return classifier


def main(argv: Optional[list[str]] = None) -> int:
    """Runs the command; bad input raises :class:`ConfigError`, which ``ganzoo`` prints as one line (exit code 2)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    check_output_path("--out", args.out)  # before the minutes of training, not after
    dm = datamodule(args)
    dm.setup("fit")
    start = time.perf_counter()
    classifier = train(args, dm, argv)
    path = classifier.save(args.out)
    print(f"{PROG}: {args.data} classifier at {classifier.image_shape[-1]} px, test accuracy "
          f"{classifier.test_accuracy:.4f} on {len(dm.splits['test'])} images, trained in "
          f"{time.perf_counter() - start:.0f} s; {path} ({path.stat().st_size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    from ganzoo.cli import main as ganzoo_main  # ganzoo's one-line errors, as for `ganzoo train-classifier`

    ganzoo_main(["train-classifier", *sys.argv[1:]])
