"""The NaN check's host reads: ``on_nonfinite_loss`` raise (read at checks) against a read at every update.

Trains the same GAN with the same seed under three policies, interleaved, and prints
generator steps per second (median of ``--repeats``) with the ratio to the per-update read:

- ``per-update read``: ``skip``, which must decide before each backward pass, so it reads
  D's and G's loss and, after each update, the weights' max-norm to the host, as ``raise``
  did before it recorded them on the device (4 reads per batch; under DDP 2 all-reduces);
- ``raise``: the values stay on the device and are read every ``nonfinite_check_every``
  generator steps (1 read per check; under DDP 1 all-reduce);
- ``ignore``: no check at all, the floor.

It also counts the host reads that ganzoo's own code makes inside the training steps
(``Tensor.item``, ``bool(tensor)``, ... patched). On a CPU a read costs little (there is no
queue of kernels to drain); on a GPU each one stalls the host until the device catches up,
and under DDP each all-reduce waits for the slowest process.

    python benchmarks/nonfinite_syncs.py                   # the quick start's MLPs, 1 thread
    python benchmarks/nonfinite_syncs.py --workload dcgan --steps 100 --batch_size 64
    python benchmarks/nonfinite_syncs.py --accelerator gpu
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

import lightning.pytorch as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from ganzoo import DCGAN, DigitsDataModule, Gaussian1D, MaxGeneratorSteps, VanillaGAN  # noqa: E402

GANZOO = str(Path(__import__("ganzoo.modules.gan").__file__).parents[1])
POLICIES = {"per-update read": "skip", "raise": "raise", "ignore": "ignore"}
HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")


def workload(name: str, batch_size: int):
    if name == "mlp":  # the quick start's networks and data
        return (lambda policy: VanillaGAN(data_shape=[1], latent_dim=8, prior="uniform", g_hidden_dims=[64, 64],
                                          d_hidden_dims=[64, 64], on_nonfinite_loss=policy),
                lambda: Gaussian1D(mean=4.0, std=1.25, batch_size=batch_size))  # fmt: skip
    return (lambda policy: DCGAN(data_shape=(1, 16, 16), latent_dim=32, g_width=16, d_width=16, on_nonfinite_loss=policy),
            lambda: DigitsDataModule(batch_size=batch_size, image_size=16))  # fmt: skip


class CountReads:
    """Counts the host reads made by ganzoo's code inside ``training_step`` (per call)."""

    def __init__(self):
        self.counts: list[int] = []
        self._inside = False
        self._originals = {name: getattr(torch.Tensor, name) for name in HOST_READS}

    def __enter__(self):
        for name, original in self._originals.items():
            setattr(torch.Tensor, name, self._counting(original))
        return self

    def __exit__(self, *exc):
        for name, original in self._originals.items():
            setattr(torch.Tensor, name, original)

    def _counting(self, original):
        def read(tensor, *args, **kwargs):
            if self._inside and sys._getframe(1).f_code.co_filename.startswith(GANZOO):
                self.counts[-1] += 1
            return original(tensor, *args, **kwargs)

        return read

    def wrap(self, model):
        step = model.training_step

        def training_step(*args, **kwargs):
            self.counts.append(0)
            self._inside = True
            try:
                return step(*args, **kwargs)
            finally:
                self._inside = False

        model.training_step = training_step


def train(make_model, make_data, policy: str, steps: int, accelerator: str, counter=None) -> float:
    """Seconds of ``steps`` G steps (the whole fit): CPU time of this process on the CPU, where a shared
    machine makes wall time noisy; wall time on a GPU, where the host waiting for the device is the point."""
    pl.seed_everything(0, verbose=False)
    model = make_model(policy)
    if counter is not None:
        counter.wrap(model)
    trainer = pl.Trainer(accelerator=accelerator, devices=1, max_epochs=-1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                         callbacks=[MaxGeneratorSteps(steps)])  # fmt: skip
    clock = time.perf_counter if accelerator == "gpu" else time.process_time
    start = clock()
    trainer.fit(model, make_data())
    if accelerator == "gpu":
        torch.cuda.synchronize()
    return clock() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", choices=["mlp", "dcgan"], default="mlp")
    p.add_argument("--steps", type=int, default=500, help="generator steps per fit")
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--accelerator", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    make_model, make_data = workload(args.workload, args.batch_size)
    reads = {}
    for label, policy in POLICIES.items():
        with CountReads() as counter:
            train(make_model, make_data, policy, 100, args.accelerator, counter)  # also the warm-up
        reads[label] = statistics.mean(counter.counts)
    times = {label: [] for label in POLICIES}
    for _ in range(args.repeats):
        for label, policy in POLICIES.items():
            times[label].append(train(make_model, make_data, policy, args.steps, args.accelerator))
    base = statistics.median(times["per-update read"])
    print(f"{args.workload}, {args.steps} G steps of batch {args.batch_size}, {args.accelerator}; {machine(args.threads)}")
    print(f"| policy | ganzoo's host reads per training step | G steps/s of {'wall' if args.accelerator == 'gpu' else 'CPU'} "
          "time (median) | ratio to per-update read |")
    print("|---|---|---|---|")
    for label in POLICIES:
        median = statistics.median(times[label])
        print(f"| {label} | {reads[label]:.2f} | {args.steps / median:.1f} | {base / median:.3f} |")


if __name__ == "__main__":
    main()
