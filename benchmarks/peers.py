"""Peer benchmark: ganzoo against the GAN loops users would pick instead.

Three workloads, each a set of loops on the same networks and the same data (one
MNIST training loader, or the quick start's Gaussian), interleaved in one run
(A B C A B C ...), so drift in the machine's load hits every loop alike:

- ``lightning-gan``: Lightning's own GAN example,
  ``examples/pytorch/domain_templates/generative_adversarial_net.py`` of
  Lightning-AI/pytorch-lightning, loaded at run time from ``--lightning_example PATH``
  (nothing of it is copied here). Its ``GAN`` LightningModule runs as published (its
  MLPs, latent 100, Adam 2e-4 (0.5, 0.999), its ``training_step``: G first, then D,
  G run twice per batch); beside it :class:`ganzoo.GANModule` gets the example's own
  ``Generator`` and ``Discriminator`` and the same optimizer and loss.
- ``dcgan``: a DCGAN at 28 px (ganzoo's DCGAN networks) against the training loop of
  PyTorch's DCGAN tutorial (pytorch/tutorials ``beginner_source/dcgan_faces_tutorial.py``).
  The tutorial is a script whose loop sits at module level, not importable, so
  :func:`tutorial_loop` is that loop written here in our words: per batch D's loss on the
  real batch (label 1) and on the detached fakes (label 0), two backward passes, D's step;
  then G's BCE loss against label 1 through D, with D's gradients computed and thrown
  away, G's step; and the tutorial's per-batch statistics read back with ``.item()``.
- ``mlp``: the quick start's MLPs (64-64, latent 8) on the in-memory Gaussian, against
  the same tutorial loop.

Each ganzoo and Lightning row runs once with ``logger=False`` and once per logger in
``--loggers`` (CSV: Lightning's ``CSVLogger``; TensorBoard: ``TensorBoardLogger``); in
``dcgan`` and ``mlp`` one more ganzoo row takes the same batches gathered by index
(the datamodules' ``on_device``) instead of through the DataLoader the others share.
Three clocks: ``loop`` times the first batch to the last (the training itself) by the wall
clock, ``CPU`` the same in this process's CPU time (on a machine shared with other jobs it
barely moves with their load, where wall-clock times do), ``whole fit`` from the call of
``trainer.fit`` (or the loop function) to the last batch, so it also holds the start-up
(the loggers' hyperparameters, the Trainer's setup). Images per
second = G steps x batch / seconds; the median over ``--repeats`` runs, and the ratio
of each row to the workload's reference (the Lightning example with the same logger;
the tutorial loop).

The example's ``on_train_epoch_end`` logs a grid through ``logger.experiment.add_image``,
which only TensorBoard has: with a CSV logger it raises once the steps are done, after
the clocks stopped; the script says so under the table and goes on.

    python benchmarks/peers.py --lightning_example PATH/generative_adversarial_net.py
    python benchmarks/peers.py --lightning_example PATH --workloads lightning-gan dcgan mlp --repeats 5
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Clock, machine, now, parse_speed_args, speed_parser  # noqa: E402

from ganzoo import DCGANDiscriminator, DCGANGenerator, Gaussian1D, GANModule, MLPDiscriminator, MLPGenerator, MNISTDataModule  # noqa: E402

LOGGERS = ("none", "csv", "tensorboard")


def load_example(path: Path):
    """The example file as a module (its ``GAN``, ``Generator`` and ``Discriminator``), imported from ``path``."""
    spec = importlib.util.spec_from_file_location("lightning_gan_example", path)
    if spec is None or not path.is_file():
        raise SystemExit(f"--lightning_example {path}: no such file; give the path of generative_adversarial_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mnist_loader(args, on_device: bool = False) -> DataLoader:
    """Shuffled MNIST training batches ``(images (N, 1, 28, 28) in [-1, 1], labels (N,))``, the same for every loop
    (``on_device``: the same batches gathered by index, without a DataLoader)."""
    data = MNISTDataModule(data_dir=args.data_dir, batch_size=args.batch_size, on_device=on_device)
    data.setup("fit")
    return data.train_dataloader()


def gaussian_loader(args, on_device: bool = False) -> DataLoader:
    data = Gaussian1D(batch_size=args.batch_size, on_device=on_device)
    data.setup("fit")
    return data.train_dataloader()


def make_logger(kind: str, save_dir: str):
    if kind == "csv":
        return pl.loggers.CSVLogger(save_dir)
    if kind == "tensorboard":
        return pl.loggers.TensorBoardLogger(save_dir)
    return False


def trainer_run(model: pl.LightningModule, loader, args, logger: str, notes: set[str]) -> tuple[float, float, float]:
    """Fits ``model`` for ``args.steps`` G steps (two optimizer steps each, in both modules); returns the
    seconds of the loop by the wall clock and in CPU time, and the wall-clock seconds of the whole fit."""
    clock = Clock()
    with tempfile.TemporaryDirectory() as save_dir:
        trainer = pl.Trainer(
            accelerator="cpu", devices=1, max_steps=2 * args.steps, max_epochs=-1, logger=make_logger(logger, save_dir),
            callbacks=[clock], enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            limit_val_batches=0, log_every_n_steps=50,
        )  # fmt: skip
        start = now()
        try:
            trainer.fit(model, train_dataloaders=loader)
        except AttributeError as err:  # the example's epoch-end image grid, which needs TensorBoard
            if "add_image" not in str(err) or clock.last is None:
                raise
            notes.add(f"the example's on_train_epoch_end failed after the timed steps with a {logger} logger: {err}")
    return (*clock.seconds(), clock.last[0] - start[0])


def tutorial_loop(
    generator: torch.nn.Module, discriminator: torch.nn.Module, loader, latent: int, steps: int, freeze_d: bool = False
) -> tuple[float, float, float]:
    """PyTorch's DCGAN tutorial loop (its algorithm, our words; see the module's docstring), on D's raw
    scores with ``binary_cross_entropy_with_logits`` instead of a sigmoid and ``BCELoss``. ``freeze_d``
    turns off D's weight gradients in G's step, as GANModule does (``benchmarks/training_throughput.py``'s
    reference loop); the tutorial computes them and throws them away."""
    start = now()
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    first = None
    done = 0
    while done < steps:
        for batch in loader:
            first = first or now()
            real = batch[0] if isinstance(batch, (list, tuple)) else batch
            ones, zeros = torch.ones(real.shape[0]), torch.zeros(real.shape[0])
            discriminator.zero_grad()
            real_scores = discriminator(real).view(-1)
            d_real = F.binary_cross_entropy_with_logits(real_scores, ones)
            d_real.backward()
            fake = generator(torch.randn(real.shape[0], latent))
            fake_scores = discriminator(fake.detach()).view(-1)
            d_fake = F.binary_cross_entropy_with_logits(fake_scores, zeros)
            d_fake.backward()
            d_opt.step()
            generator.zero_grad()
            discriminator.requires_grad_(not freeze_d)
            scores = discriminator(fake).view(-1)
            g_loss = F.binary_cross_entropy_with_logits(scores, ones)
            g_loss.backward()
            g_opt.step()
            discriminator.requires_grad_(True)
            # the tutorial's statistics of every batch: D(x), D(G(z)) before and after D's step, the losses
            _ = (real_scores.sigmoid().mean().item(), fake_scores.sigmoid().mean().item(),
                 scores.sigmoid().mean().item(), (d_real + d_fake).item(), g_loss.item())  # fmt: skip
            done += 1
            if done == steps:
                break
    end = now()
    return end[0] - first[0], end[1] - first[1], end[0] - start[0]


def lightning_gan_rows(args, notes: set[str]) -> dict[tuple[str, str], Callable[[], tuple[float, float, float]]]:
    example = load_example(args.lightning_example)
    loader = mnist_loader(args)
    shape = (1, 28, 28)

    def published():
        return example.GAN(img_shape=shape, latent_dim=args.latent_dim)

    def ganzoo(on_nonfinite_loss="raise"):
        g, d = example.Generator(latent_dim=args.latent_dim, img_shape=shape), example.Discriminator(img_shape=shape)
        return GANModule(g, d, latent_dim=args.latent_dim, prior="normal", loss="non_saturating",
                         on_nonfinite_loss=on_nonfinite_loss)  # fmt: skip

    rows = {}
    for logger in args.loggers:
        rows["Lightning's example, as published", logger] = lambda lg=logger: trainer_run(published(), loader, args, lg, notes)
        rows["ganzoo GANModule, the example's networks", logger] = lambda lg=logger: trainer_run(ganzoo(), loader, args, lg, notes)
    # what the checks of on_nonfinite_loss (the loss and the updated weights, after every update) cost
    rows["ganzoo, on_nonfinite_loss: ignore", "none"] = lambda: trainer_run(ganzoo("ignore"), loader, args, "none", notes)
    return rows


def loop_rows(args, notes: set[str], networks, loaders, latent: int) -> dict[tuple[str, str], Callable[[], tuple[float, float, float]]]:
    """The tutorial loop and GANModule (per logger, and with its data ``on_device``) on ``networks()``: a fresh
    (G, D) each run. ``loaders(on_device)`` gives the training batches."""
    loader, gathered = loaders(False), loaders(True)

    def ganzoo(logger, batches=loader):
        g, d = networks()
        return trainer_run(GANModule(g, d, latent_dim=latent, prior="normal"), batches, args, logger, notes)

    rows = {
        ("PyTorch DCGAN tutorial loop (by hand)", "none"): lambda: tutorial_loop(*networks(), loader, latent, args.steps),
        ("the same loop, D frozen in G's step", "none"): lambda: tutorial_loop(*networks(), loader, latent, args.steps, True),
    }
    for logger in args.loggers:
        rows["ganzoo GANModule", logger] = lambda lg=logger: ganzoo(lg)
    rows["ganzoo GANModule, data on_device", "none"] = lambda: ganzoo("none", gathered)
    return rows


def workload(name: str, args, notes: set[str]) -> tuple[str, dict]:
    """The title and the rows of one workload."""
    if name == "lightning-gan":
        return (f"Lightning's GAN example (MLPs 100-128-256-512-1024-784 and 784-512-256-1), MNIST 28 px, "
                f"latent {args.latent_dim}"), lightning_gan_rows(args, notes)  # fmt: skip
    if name == "dcgan":
        def networks():
            return DCGANGenerator(args.latent_dim, (1, 28, 28), args.width), DCGANDiscriminator((1, 28, 28), args.width)
        return (f"DCGAN 28 px, widths {args.width}, MNIST, latent {args.latent_dim}"), loop_rows(
            args, notes, networks, lambda on_device: mnist_loader(args, on_device), args.latent_dim)
    mlp = (args.mlp_width, args.mlp_width)

    def networks():
        return MLPGenerator(8, (1,), mlp), MLPDiscriminator((1,), mlp)
    return f"the quick start's MLPs {mlp} on Gaussian1D, latent 8", loop_rows(
        args, notes, networks, lambda on_device: gaussian_loader(args, on_device), 8)


def print_table(title: str, results: dict, reference: Callable[[str], tuple[str, str]], args) -> None:
    """One Markdown table: each row's median images per second on the three clocks, and its ratio to ``reference(logger)``."""
    print(f"\n### {title}\nbatch {args.batch_size}, {args.steps} G steps per run, median of {args.repeats} interleaved runs\n")
    print("| loop | logger | images/s, loop | ratio | images per CPU second, loop | ratio | images/s, whole fit | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for (row, logger), runs in results.items():
        cells = []
        for clock in (0, 1, 2):
            rate = statistics.median(args.steps * args.batch_size / run[clock] for run in runs)
            ref_rate = statistics.median(args.steps * args.batch_size / run[clock] for run in results[reference(logger)])
            cells.append(f"{rate:.0f} | {rate / ref_rate:.3f}")
        print(f"| {row} | {logger} | {' | '.join(cells)} |")


def main() -> None:
    parser = speed_parser(__doc__, batch_size=256)
    parser.add_argument("--lightning_example", type=Path, help="path of the example's generative_adversarial_net.py")
    parser.add_argument("--workloads", nargs="+", choices=("lightning-gan", "dcgan", "mlp"), default=["lightning-gan", "dcgan", "mlp"])
    parser.add_argument("--loggers", nargs="+", choices=LOGGERS, default=["none", "csv"])
    parser.add_argument("--steps", type=int, default=40, help="generator steps per run (lightning-gan, dcgan)")
    parser.add_argument("--mlp_steps", type=int, default=1000, help="generator steps per run of the mlp workload")
    parser.add_argument("--latent_dim", type=int, default=100, help="100, the example's and the tutorial's")
    parser.add_argument("--mlp_width", type=int, default=64, help="mlp: hidden width of both layers")
    options = parse_speed_args(parser, "--lightning_example", "--latent_dim", "--mlp_width", "--mlp_steps")
    if "lightning-gan" in options.workloads and options.lightning_example is None:
        parser.error("the lightning-gan workload needs --lightning_example PATH (generative_adversarial_net.py)")
    notes: set[str] = set()
    for name in options.workloads:
        args = argparse.Namespace(**{**vars(options), "steps": options.mlp_steps if name == "mlp" else options.steps})
        title, rows = workload(name, args, notes)
        results = {key: [] for key in rows}
        for _ in range(args.repeats):
            for key, run in rows.items():
                torch.manual_seed(0)
                results[key].append(run())
                print(f"{key[0]}, logger {key[1]}: {results[key][-1][0]:.2f} s in the loop, {results[key][-1][1]:.2f} s of CPU",
                      file=sys.stderr, flush=True)
        first = next(iter(rows))[0]  # the reference: the example with the same logger, or the tutorial loop
        print_table(title, results, lambda logger: (first, logger if name == "lightning-gan" else "none"), args)
    for note in sorted(notes):
        print(f"\nNote: {note}")
    print(f"\n{machine(options.threads)}")


if __name__ == "__main__":
    main()
