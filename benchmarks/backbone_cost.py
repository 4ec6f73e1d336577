"""CPU cost of a generator step: SNGAN's ResNets against DCGAN's networks at the same widths.

Each model trains on random images of the given size through ``Trainer.fit`` with
``n_critic`` D steps per G step. The cost is the process's CPU time (so other jobs on
the machine do not count) of ``--steps`` G steps less that of 5, divided by the
difference: setup is left out. One torch thread unless ``--threads`` says otherwise.
Prints a Markdown table, the median over ``--repeats`` interleaved runs.

    python benchmarks/backbone_cost.py                       # 28 px, widths 32, batch 64, n_critic 1
    python benchmarks/backbone_cost.py --size 32 --channels 3 --width 64 --n_critic 5
"""
from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganzoo import DCGAN, SNGAN, MaxGeneratorSteps


def models(args) -> dict:
    shape, width = (args.channels, args.size, args.size), args.width
    common = {"data_shape": shape, "g_width": width, "d_width": width, "n_critic": args.n_critic, "loss": "hinge"}
    return {
        "SNGAN (ResNet G, spectral-norm ResNet D)": lambda: SNGAN(**common),
        "DCGAN (spectral-norm D)": lambda: DCGAN(**common, d_norm="spectral"),
    }


def cpu_seconds(build, loader: DataLoader, steps: int) -> float:
    model = build()
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0, max_epochs=-1,
                         callbacks=[MaxGeneratorSteps(steps)])  # fmt: skip
    start = time.process_time()
    trainer.fit(model, loader)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=28, help="image side; default 28")
    parser.add_argument("--channels", type=int, default=1, help="image channels; default 1")
    parser.add_argument("--width", type=int, default=32, help="g_width and d_width of both; default 32")
    parser.add_argument("--batch_size", type=int, default=64, help="default 64")
    parser.add_argument("--n_critic", type=int, default=1, help="D steps per G step; default 1")
    parser.add_argument("--steps", type=int, default=25, help="G steps timed (less 5 for setup); default 25")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs per model; default 2")
    parser.add_argument("--threads", type=int, default=1, help="torch threads; default 1")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    images = torch.rand(args.batch_size * args.n_critic * (args.steps + 1), args.channels, args.size, args.size) * 2 - 1
    loader = DataLoader(TensorDataset(images), batch_size=args.batch_size, shuffle=True)
    costs = {name: [] for name in models(args)}
    for _ in range(args.repeats):
        for name, build in models(args).items():
            costs[name].append((cpu_seconds(build, loader, args.steps) - cpu_seconds(build, loader, 5)) / (args.steps - 5))
    print(f"{args.size} px, {args.channels} channel(s), widths {args.width}, batch {args.batch_size}, "
          f"n_critic {args.n_critic}, {args.threads} thread(s)\n")  # fmt: skip
    print("| model | G / D parameters | CPU s per G step |\n|---|---|---|")
    for name, build in models(args).items():
        model = build()
        sizes = [sum(p.numel() for p in net.parameters()) for net in (model.generator, model.discriminator)]
        print(f"| {name} | {sizes[0]:,} / {sizes[1]:,} | {statistics.median(costs[name]):.3f} |")


if __name__ == "__main__":
    main()
