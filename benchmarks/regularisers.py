"""Cost of each regulariser per D step: a DCGAN's D step on 28-px MNIST batches, with each against none.

Each row times the D step of GANModule's training step (D on the real and the generated
batch, the penalty, the backward pass, Adam's update), G's forward excluded, on one fixed
batch of real MNIST digits (``--data_dir``, torchvision layout) and one generated batch.
Every variant uses D with ``d_norm: layer`` (a per-sample norm, which the gradient penalties
need). Runs are interleaved over ``--repeats`` rounds; the table shows the median
milliseconds per D step and the ratio to the row without a regulariser. A lazy R1
(``every=16``) is timed over whole multiples of its interval.

    python benchmarks/regularisers.py --data_dir ../shared/data            # one thread, the defaults below
    python benchmarks/regularisers.py --data_dir ../shared/data --width 64 --batch_size 128 --repeats 7
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

from ganzoo import DCGAN, R1, R2, LeCam, MNISTDataModule

try:
    from _common import machine
except ImportError:  # run as a module from the repository root
    from benchmarks._common import machine

VARIANTS = {
    "none": {},
    "R1(gamma=10)": {"regularisers": lambda: [R1(gamma=10.0)]},
    "R1(gamma=10, every=16)": {"regularisers": lambda: [R1(gamma=10.0, every=16)]},
    "R2(gamma=10)": {"regularisers": lambda: [R2(gamma=10.0)]},
    "LeCam(weight=0.3)": {"regularisers": lambda: [LeCam(weight=0.3)]},
    "R1 + LeCam": {"regularisers": lambda: [R1(gamma=10.0), LeCam(weight=0.3)]},
    "loss: wgan_gp (its penalty, weight 10)": {"loss": "wgan_gp"},
}


def build(variant: dict, width: int) -> DCGAN:
    kwargs = {k: v() if callable(v) else v for k, v in variant.items()}
    return DCGAN(data_shape=(1, 28, 28), g_width=width, d_width=width, d_norm="layer", **kwargs)


def d_step(model: DCGAN, optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor) -> None:
    """One D update as GANModule's training step makes it (without the logging and NaN checks)."""
    step = model.discriminator_objective(real, fake)
    penalty = model.discriminator_penalty(real, fake, None, step)
    loss = step.loss if penalty is None else step.loss + penalty
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    model.d_steps += 1


def time_variant(model, optimizer, real, fake, steps: int) -> float:
    """Milliseconds per D step over ``steps`` steps."""
    start = time.perf_counter()
    for _ in range(steps):
        d_step(model, optimizer, real, fake)
    return (time.perf_counter() - start) / steps * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data_dir", default="data")
    p.add_argument("--width", type=int, default=32, help="D's d_width (G's g_width too)")
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--steps", type=int, default=32, help="D steps per timing (a multiple of 16)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    data = MNISTDataModule(data_dir=args.data_dir, batch_size=args.batch_size)
    data.setup("fit")
    real = torch.stack([data.splits["train"][i][0] for i in range(args.batch_size)])  # (N, 1, 28, 28) in [-1, 1]
    torch.manual_seed(0)
    runs = {}
    for name, variant in VARIANTS.items():
        model = build(variant, args.width)
        with torch.no_grad():
            fake = model(model.sample_prior(args.batch_size))
        optimizer = torch.optim.Adam(model.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        d_step(model, optimizer, real, fake)  # warm-up: allocations, first-call costs
        model.d_steps = 0
        runs[name] = (model, optimizer, fake, [])
    for _ in range(args.repeats):  # interleaved, so a slow spell of the machine touches every row
        for model, optimizer, fake, times in runs.values():
            times.append(time_variant(model, optimizer, real, fake, args.steps))
    base = statistics.median(runs["none"][3])
    print(f"D steps of a DCGAN (d_width {args.width}, d_norm layer) on 28-px MNIST batches of {args.batch_size}; "
          f"median of {args.repeats} x {args.steps} steps")
    print(machine(args.threads))
    print()
    print("| regulariser | ms per D step | ratio to none |")
    print("|---|---:|---:|")
    for name, (*_, times) in runs.items():
        median = statistics.median(times)
        print(f"| {name} | {median:.1f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
