"""Training throughput: GANModule against a hand-written PyTorch loop.

Both train the same networks (the 1-D recipe's MLPs) on the same in-memory data
with the same seed, batch size and number of generator steps: one D update and
one G update per batch, G run once per batch. Only the training loop is timed
(from the first batch to the last). Prints a Markdown table: generator steps per
second, median over several runs, and the ratio GANModule / plain loop.

    python benchmarks/training_throughput.py            # defaults below
    python benchmarks/training_throughput.py --steps 2000 --repeats 5 --width 64 --batch-size 256
    python benchmarks/training_throughput.py --accelerator gpu   # both loops on the first CUDA device
"""
from __future__ import annotations

import argparse
import logging
import platform
import statistics
import time
import warnings

import lightning
import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ganzoo import Gaussian1D, MaxGeneratorSteps, MLPDiscriminator, MLPGenerator, VanillaGAN


def device_of(args) -> torch.device:
    return torch.device("cuda" if args.accelerator == "gpu" else "cpu")


def data_loader(batch_size: int) -> DataLoader:
    data = Gaussian1D(batch_size=batch_size)
    data.setup()
    return data.train_dataloader()


def plain_loop(args) -> float:
    """The loop as one writes it by hand (as in PyTorch's DCGAN tutorial); returns G steps per second."""
    torch.manual_seed(args.seed)
    device = device_of(args)
    generator = MLPGenerator(args.latent_dim, (1,), (args.width, args.width)).to(device)
    discriminator = MLPDiscriminator((1,), (args.width, args.width)).to(device)
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = data_loader(args.batch_size)
    steps, start = 0, time.perf_counter()
    while steps < args.steps:
        for real in loader:
            real = real.to(device, non_blocking=True)
            fake = generator(torch.rand(real.shape[0], args.latent_dim, device=device) * 2 - 1)
            d_loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake.detach())).mean()
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            g_loss = F.softplus(-discriminator(fake)).mean()
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            g_opt.step()
            steps += 1
            if steps == args.steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return args.steps / (time.perf_counter() - start)


class _LoopTimer(pl.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if not hasattr(self, "start"):
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self.start


def ganmodule_loop(args, logger: bool) -> float:
    """The same training through GANModule and Lightning's Trainer; returns G steps per second."""
    torch.manual_seed(args.seed)
    model = VanillaGAN(
        data_shape=[1], latent_dim=args.latent_dim, prior="uniform", g_hidden_dims=(args.width,) * 2,
        d_hidden_dims=(args.width,) * 2,
    )
    timer = _LoopTimer()
    trainer = pl.Trainer(
        accelerator=args.accelerator, devices=1, max_epochs=-1, callbacks=[MaxGeneratorSteps(args.steps), timer],
        logger=pl.loggers.CSVLogger(args.log_dir) if logger else False, log_every_n_steps=50,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )
    loader = data_loader(args.batch_size)
    trainer.fit(model, train_dataloaders=loader)
    return args.steps / timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="generator steps per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per loop; the median is reported")
    parser.add_argument("--width", type=int, default=64, help="hidden width of G and D (two layers each)")
    parser.add_argument("--latent-dim", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--accelerator", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--log-dir", default="/tmp/ganzoo-benchmark-logs")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)

    loops = {
        "plain PyTorch loop": lambda: plain_loop(args),
        "GANModule, no logger": lambda: ganmodule_loop(args, logger=False),
        "GANModule, CSVLogger every 50 batches": lambda: ganmodule_loop(args, logger=True),
    }
    results = {name: [] for name in loops}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits every loop alike
        for name, loop in loops.items():
            results[name].append(loop())

    plain = statistics.median(results["plain PyTorch loop"])
    print(f"Training throughput on {args.accelerator}: MLP {args.width}-{args.width} G and D, Gaussian1D, batch {args.batch_size}, "
          f"{args.steps} G steps per run, median of {args.repeats} runs\n")
    print("| loop | G steps/s (median) | min | max | ratio to plain |")
    print("|---|---|---|---|---|")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.0f} | {min(values):.0f} | {max(values):.0f} | {median / plain:.3f} |")
    device = torch.cuda.get_device_name(0) if args.accelerator == "gpu" else f"{torch.get_num_threads()} torch threads"
    print(f"\nmachine: {platform.machine()}, {args.accelerator} ({device}); "
          f"python {platform.python_version()}, torch {torch.__version__}, lightning {lightning.__version__}")


if __name__ == "__main__":
    main()
