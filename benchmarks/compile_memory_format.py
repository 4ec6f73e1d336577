"""GANModule's ``compile`` and ``channels_last`` options against the default, interleaved.

Each variant trains the same network for ``--skip`` warm-up G steps (torch.compile compiles
G and D during them) and then ``--steps`` timed G steps; printed: images per second of the
timed steps (median of ``--repeats`` interleaved runs, ratio to the default) and the
seconds before them, where compilation shows (inductor caches its kernels on disk, so
the first run of a variant pays most of it).

Workloads: ``dcgan`` (DCGAN 28 px, widths ``--width``, MNIST from ``--data_dir``, batch
``--batch_size``, the batches gathered by index so the data costs the same everywhere)
and ``mlp`` (the quick start's MLPs 64-64 on Gaussian1D, batch 256; channels-last does
not apply to its 2-D weights, so it has the default and compile only).

    python benchmarks/compile_memory_format.py
    python benchmarks/compile_memory_format.py --workloads dcgan --repeats 3 --steps 20 --width 64
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, median_table, parse_speed_args, speed_parser, timed_fit  # noqa: E402

from ganzoo import DCGAN, Gaussian1D, MNISTDataModule, VanillaGAN  # noqa: E402

VARIANTS = {
    "default": {},
    "channels_last": {"channels_last": True},
    "compile": {"compile": True},
    "compile + channels_last": {"compile": True, "channels_last": True},
}


def run(workload: str, options: dict, args) -> tuple[float, float, float]:
    torch.manual_seed(0)
    if workload == "mlp":
        model = VanillaGAN(data_shape=[1], latent_dim=8, prior="uniform", g_hidden_dims=[64, 64],
                           d_hidden_dims=[64, 64], **options)  # fmt: skip
        return timed_fit(model, Gaussian1D(batch_size=256, on_device=True), args.steps * 10, args.skip)
    model = DCGAN(data_shape=(1, 28, 28), latent_dim=100, g_width=args.width, d_width=args.width, **options)
    data = MNISTDataModule(data_dir=args.data_dir, batch_size=args.batch_size, on_device=True)
    return timed_fit(model, data, args.steps, args.skip)


def main() -> None:
    parser = speed_parser(__doc__, batch_size=128)
    parser.add_argument("--workloads", nargs="+", choices=("dcgan", "mlp"), default=["dcgan", "mlp"])
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=30, help="timed G steps per run (mlp: 10x as many)")
    parser.add_argument("--skip", type=int, default=3, help="warm-up G steps before the clock starts")
    args = parse_speed_args(parser)
    for workload in args.workloads:
        names = [v for v in args.variants if workload == "dcgan" or "channels_last" not in v]
        timed = {name: [] for name in names}
        before = {name: [] for name in names}
        for _ in range(args.repeats):
            for name in names:
                wall, cpu, start = run(workload, VARIANTS[name], args)
                timed[name].append((wall, cpu))
                before[name].append(start)
        steps = args.steps * (10 if workload == "mlp" else 1)
        batch = 256 if workload == "mlp" else args.batch_size
        what = f"DCGAN 28 px, widths {args.width}, MNIST" if workload == "dcgan" else "MLPs 64-64, Gaussian1D"
        print(f"\n### {what}: batch {batch}, {steps} timed G steps after {args.skip}, median of {args.repeats} runs\n")
        median_table(timed, "default", steps * batch, "images")
        print("\nseconds from fit's call to the timed steps, run by run (compilation shows here): " + "; ".join(
            f"{name} {', '.join(f'{s:.1f}' for s in before[name])}" for name in names))
        print("median: " + "; ".join(f"{name} {statistics.median(before[name]):.1f} s" for name in names))
    print(f"\n{machine(args.threads)}")


if __name__ == "__main__":
    main()
