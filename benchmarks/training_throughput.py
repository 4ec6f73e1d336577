"""Training throughput: GANModule against a hand-written PyTorch loop.

Both train the same networks on the same data with the same seed, batch size and
number of generator steps: one D update and one G update per batch, G run once per
batch. Two workloads:

- ``mlp-gaussian1d``: the 1-D recipe's MLPs on the in-memory Gaussian (tiny steps,
  where the loop's own overhead shows most);
- ``dcgan-mnist``: a DCGAN at 28 px (widths ``--width``) on the real MNIST training
  images read from ``--data_dir`` through ``MNISTDataModule``.

Only the training loop is timed (from the first batch to the last). Prints a Markdown
table: generator steps and samples per second, median over several interleaved runs,
and the ratio to the plain loop that, like GANModule, does not compute D's weight
gradients during G's step (PyTorch's DCGAN tutorial does, and is shown too).

    python benchmarks/training_throughput.py            # mlp-gaussian1d, defaults below
    python benchmarks/training_throughput.py --steps 2000 --repeats 5 --width 64 --batch_size 256
    python benchmarks/training_throughput.py --workload dcgan-mnist --steps 100 --width 32 --batch_size 64
    python benchmarks/training_throughput.py --accelerator gpu   # both loops on the first CUDA device
"""
from __future__ import annotations

import argparse
import logging
import platform
import statistics
import sys
import time
import warnings

import lightning
import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ganzoo import (
    DCGAN,
    DCGANDiscriminator,
    DCGANGenerator,
    Gaussian1D,
    MaxGeneratorSteps,
    MLPDiscriminator,
    MLPGenerator,
    MNISTDataModule,
    VanillaGAN,
)
from ganzoo.argparsing import dashed, respell


def device_of(args) -> torch.device:
    return torch.device("cuda" if args.accelerator == "gpu" else "cpu")


def data_loader(args) -> DataLoader:
    if args.workload == "dcgan-mnist":
        data = MNISTDataModule(data_dir=args.data_dir, batch_size=args.batch_size)
    else:
        data = Gaussian1D(batch_size=args.batch_size)
    data.setup("fit")
    return data.train_dataloader()


def networks(args) -> tuple[torch.nn.Module, torch.nn.Module]:
    if args.workload == "dcgan-mnist":
        return DCGANGenerator(args.latent_dim, (1, 28, 28), args.width), DCGANDiscriminator((1, 28, 28), args.width)
    return MLPGenerator(args.latent_dim, (1,), (args.width, args.width)), MLPDiscriminator((1,), (args.width, args.width))


def module(args) -> pl.LightningModule:
    if args.workload == "dcgan-mnist":
        return DCGAN(data_shape=(1, 28, 28), latent_dim=args.latent_dim, prior="uniform", g_width=args.width,
                     d_width=args.width)
    return VanillaGAN(data_shape=[1], latent_dim=args.latent_dim, prior="uniform", g_hidden_dims=(args.width,) * 2,
                      d_hidden_dims=(args.width,) * 2)


def plain_loop(args, freeze_d: bool = True) -> float:
    """The loop written by hand; returns G steps per second.

    ``freeze_d=False`` is PyTorch's DCGAN tutorial: G's backward pass also computes
    D's weight gradients, which are thrown away. ``freeze_d=True`` turns them off
    during G's step, as GANModule does (Lightning's ``toggled_optimizer``): the fair
    reference for GANModule's overhead.
    """
    torch.manual_seed(args.seed)
    device = device_of(args)
    generator, discriminator = (net.to(device) for net in networks(args))
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = data_loader(args)
    steps, start = 0, time.perf_counter()
    while steps < args.steps:
        for batch in loader:
            real = (batch[0] if isinstance(batch, (list, tuple)) else batch).to(device, non_blocking=True)
            fake = generator(torch.rand(real.shape[0], args.latent_dim, device=device) * 2 - 1)
            d_loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake.detach())).mean()
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            discriminator.requires_grad_(not freeze_d)
            g_loss = F.softplus(-discriminator(fake)).mean()
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            g_opt.step()
            discriminator.requires_grad_(True)
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
    model = module(args)
    timer = _LoopTimer()
    trainer = pl.Trainer(
        accelerator=args.accelerator, devices=1, max_epochs=-1, callbacks=[MaxGeneratorSteps(args.steps), timer],
        logger=pl.loggers.CSVLogger(args.log_dir) if logger else False, log_every_n_steps=50,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )
    loader = data_loader(args)
    trainer.fit(model, train_dataloaders=loader)
    return args.steps / timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", choices=("mlp-gaussian1d", "dcgan-mnist"), default="mlp-gaussian1d")
    parser.add_argument("--data_dir", default="../shared/data", help="where MNIST lies (dcgan-mnist)")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per loop; the median is reported")
    parser.add_argument("--width", type=int, default=64, help="MLP: hidden width (two layers); DCGAN: g_width = d_width")
    parser.add_argument("--latent_dim", type=int, default=8)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--accelerator", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--log_dir", default="/tmp/ganzoo-benchmark-logs")
    args = parser.parse_args(respell(sys.argv[1:], dashed("--data_dir", "--latent_dim", "--batch_size", "--log_dir")))
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)

    loops = {
        "plain loop, PyTorch tutorial": lambda: plain_loop(args, freeze_d=False),
        "plain loop, D frozen in G's step": lambda: plain_loop(args, freeze_d=True),
        "GANModule, no logger": lambda: ganmodule_loop(args, logger=False),
        "GANModule, CSVLogger every 50 batches": lambda: ganmodule_loop(args, logger=True),
    }
    results = {name: [] for name in loops}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits every loop alike
        for name, loop in loops.items():
            results[name].append(loop())

    plain = statistics.median(results["plain loop, D frozen in G's step"])
    nets = f"DCGAN 28 px, widths {args.width}, real MNIST" if args.workload == "dcgan-mnist" else (
        f"MLP {args.width}-{args.width} G and D, Gaussian1D")
    print(f"Training throughput on {args.accelerator}: {nets}, batch {args.batch_size}, "
          f"{args.steps} G steps per run, median of {args.repeats} runs\n")
    print("| loop | G steps/s (median) | min | max | samples/s (median) | ratio to plain, D frozen |")
    print("|---|---|---|---|---|---|")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {min(values):.1f} | {max(values):.1f} | {median * args.batch_size:.0f} "
              f"| {median / plain:.3f} |")
    device = torch.cuda.get_device_name(0) if args.accelerator == "gpu" else f"{torch.get_num_threads()} torch threads"
    print(f"\nmachine: {platform.machine()}, {args.accelerator} ({device}); "
          f"python {platform.python_version()}, torch {torch.__version__}, lightning {lightning.__version__}")


if __name__ == "__main__":
    main()
