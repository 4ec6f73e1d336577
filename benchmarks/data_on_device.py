"""Data on the device: training batches gathered by index (``on_device: true``) against the DataLoader path.

Both give the same batches in the same order (``tests/test_resume.py`` checks it bit for
bit); ``on_device`` holds the training set on the trainer's device and gathers each batch
with one indexing, where the DataLoader calls ``__getitem__`` once per sample and collates.
Two measurements per workload, interleaved (loader, on_device, loader, ...), medians and ratios:

- ``data only``: iterating ``--batches`` training batches, nothing else;
- ``training``: GANModule trained for ``--steps`` G steps (after ``--skip`` warm-up steps).

Workloads: ``mlp`` (the quick start: MLPs 64-64 on Gaussian1D, batch 256) and ``dcgan``
(DCGAN 28 px, widths ``--width``, on MNIST from ``--data_dir``, batch ``--batch_size``).

    python benchmarks/data_on_device.py
    python benchmarks/data_on_device.py --workloads mlp dcgan --repeats 5 --steps 300
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, median_table, now, parse_speed_args, speed_parser, timed_fit  # noqa: E402

from ganzoo import DCGAN, Gaussian1D, MNISTDataModule, VanillaGAN  # noqa: E402


def datamodule(workload: str, on_device: bool, args):
    if workload == "mlp":
        return Gaussian1D(batch_size=256, on_device=on_device)
    return MNISTDataModule(data_dir=args.data_dir, batch_size=args.batch_size, on_device=on_device)


def model(workload: str, args):
    if workload == "mlp":
        return VanillaGAN(data_shape=[1], latent_dim=8, prior="uniform", g_hidden_dims=[64, 64], d_hidden_dims=[64, 64])
    return DCGAN(data_shape=(1, 28, 28), latent_dim=100, g_width=args.width, d_width=args.width)


def data_only(workload: str, on_device: bool, args) -> tuple[float, float]:
    """Wall-clock and CPU seconds to draw ``args.batches`` training batches."""
    data = datamodule(workload, on_device, args)
    data.setup("fit")
    start, drawn = now(), 0
    loader = data.train_dataloader()  # one loader across epochs, as a Trainer keeps it
    while drawn < args.batches:
        for _ in loader:
            drawn += 1
            if drawn == args.batches:
                break
    end = now()
    return end[0] - start[0], end[1] - start[1]


def training(workload: str, on_device: bool, args) -> tuple[float, float]:
    torch.manual_seed(0)
    return timed_fit(model(workload, args), datamodule(workload, on_device, args), args.steps, args.skip)[:2]


def main() -> None:
    parser = speed_parser(__doc__, batch_size=128)
    parser.add_argument("--workloads", nargs="+", choices=("mlp", "dcgan"), default=["mlp", "dcgan"])
    parser.add_argument("--batches", type=int, default=400, help="batches drawn per data-only run")
    parser.add_argument("--steps", type=int, default=300, help="G steps per training run (timed; dcgan: a quarter)")
    parser.add_argument("--skip", type=int, default=5, help="G steps before the clock starts")
    args = parse_speed_args(parser)
    for workload in args.workloads:
        batch = 256 if workload == "mlp" else args.batch_size
        for name, measure, count in (("data only", data_only, args.batches), ("training", training, args.steps)):
            if workload == "dcgan" and name == "training":
                count = args.steps // 4  # a DCGAN step is ~50x an MLP step on the CPU
            run_args = argparse.Namespace(**{**vars(args), "batches": count, "steps": count})
            results = {"DataLoader": [], "on_device": []}
            for _ in range(args.repeats):
                for variant in results:
                    results[variant].append(measure(workload, variant == "on_device", run_args))
            print(f"\n### {workload}, {name}: {count} batches of {batch}, median of {args.repeats} interleaved runs\n")
            median_table(results, "DataLoader", count * batch, "samples")
    print(f"\n{machine(args.threads)}")


if __name__ == "__main__":
    main()
