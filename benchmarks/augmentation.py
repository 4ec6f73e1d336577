"""Per-step cost of the augmentation, consistency and D options, against none, on DCGAN at 28 px.

Trains ``ganzoo.DCGAN`` (28 px, one channel, the recipe's widths) on random images in
[-1, 1] held in memory (no data loading in the timings) through Lightning's Trainer,
once per option and repeat, interleaved, and times each training batch (one D and one G
update) in CPU time of the process after a few warm-up batches (with one torch thread, the
time of the step's work; on a shared machine wall-clock times mostly measure the other
jobs). Prints a Markdown table: the median time per step
of each option (median over the batches of a run, then over the runs) and its ratio to
no option.

    python benchmarks/augmentation.py                         # batch 64, 20 timed steps, 3 repeats
    python benchmarks/augmentation.py --steps 40 --repeats 5 --batch_size 128
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from lightning.pytorch import Callback, Trainer
from torch.utils.data import DataLoader, TensorDataset

from _common import machine

#: option name -> (DCGAN keyword arguments, what it is)
OPTIONS = {
    "none": ({}, "no option"),
    "diffaugment": ({"augmentation": "DiffAugment"}, "DiffAugment color,translation,cutout, p=1"),
    "ada": ({"augmentation": "AdaptiveAugment"}, "AdaptiveAugment (the same ops) at p=0.5"),
    "bcr": ({"regularisers": "BalancedConsistency"}, "bCR, flip + translation, 2 more D forwards"),
    "pack2": ({"d_pack": 2}, "d_pack=2 (D scores N/2 packs)"),
    "mbstd4": ({"d_minibatch_std": 4}, "d_minibatch_std=4"),
}


class StepTimer(Callback):
    """CPU seconds of this process for each training batch after the first ``warmup`` ones.

    Process time, not wall-clock time: other jobs on a shared machine barely move it.
    """

    def __init__(self, warmup: int):
        self.warmup, self.times, self._start = warmup, [], None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._start = time.process_time()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx >= self.warmup:
            self.times.append(time.process_time() - self._start)


def build(option: str, width: int):
    from ganzoo import DCGAN, AdaptiveAugment, BalancedConsistency, DiffAugment

    kwargs = dict(OPTIONS[option][0])
    if kwargs.get("augmentation") == "DiffAugment":
        kwargs["augmentation"] = DiffAugment("color,translation,cutout")
    elif kwargs.get("augmentation") == "AdaptiveAugment":
        kwargs["augmentation"] = AdaptiveAugment(initial_p=0.5, speed_img=10**9)  # p stays at 0.5
    if kwargs.get("regularisers") == "BalancedConsistency":
        kwargs["regularisers"] = [BalancedConsistency()]
    return DCGAN(data_shape=(1, 28, 28), g_width=width, d_width=width, **kwargs)


def time_run(option: str, args) -> float:
    """The median seconds per training batch of one run of ``option``."""
    torch.manual_seed(0)
    images = torch.rand(args.batch_size * (args.steps + args.warmup), 1, 28, 28) * 2 - 1
    loader = DataLoader(TensorDataset(images), batch_size=args.batch_size, drop_last=True)
    timer = StepTimer(args.warmup)
    trainer = Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, limit_val_batches=0, callbacks=[timer])
    trainer.fit(build(option, args.width), loader)
    return statistics.median(timer.times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="timed training batches per run")
    p.add_argument("--warmup", type=int, default=3, help="untimed batches at the start of each run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--width", type=int, default=64, help="g_width and d_width")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    options = ["none", *[o for o in args.options if o != "none"]]
    runs = {option: [] for option in options}
    for _ in range(args.repeats):  # interleaved, so a slower moment of the machine hits every option alike
        for option in options:
            runs[option].append(time_run(option, args))
    print(machine(args.threads))
    print(f"DCGAN 28 px, widths {args.width}, batch {args.batch_size}: CPU ms per training batch (one D and one G update), "
          f"median of {args.steps} batches, median of {args.repeats} runs\n")
    print("| option | what | CPU ms per step | vs none |")
    print("|---|---|---|---|")
    base = statistics.median(runs["none"])
    for option in options:
        ms = statistics.median(runs[option])
        print(f"| `{option}` | {OPTIONS[option][1]} | {1000 * ms:.1f} | {ms / base:.2f} |")


if __name__ == "__main__":
    main()
