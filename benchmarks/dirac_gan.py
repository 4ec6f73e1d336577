"""The Dirac-GAN of Mescheder, Geiger & Nowozin (2018): which regularisers make GANModule's loop converge.

The data is a point mass at 0. G has one parameter and makes ``theta`` whatever its code; D is
linear, ``D(x) = psi * x`` (a logit). The game's only equilibrium is ``theta = psi = 0``, where D
says 1/2 to everything. Near it, the alternating gradient steps of GANModule (D's update, then G's
through the updated D; plain SGD with learning rate ``h``) are the linear map

    psi' = (1 - h gamma) psi - (h / 2) theta        theta' = theta + (h / 2) psi'

(``1/2`` is the sigmoid's value at 0 in the non-saturating loss's gradients; ``gamma`` is R1's or
R2's weight: on this data ``||grad_x D||^2 = psi^2`` at real and generated points alike). Its
determinant is ``1 - h gamma``. Without a penalty it is 1 and the eigenvalues lie on the unit
circle: the iterates circle the equilibrium, and only the loss's higher-order terms draw them in,
ever more slowly. With one, every step shrinks areas by ``1 - h gamma`` and the distance falls
geometrically, at the map's spectral radius per step: ``sqrt(1 - h gamma)`` while the eigenvalues
are complex (``gamma < 1 - h / 4``; 0.975 at ``h = 0.1``, ``gamma = 0.5``), more than that once they
are real (0.960 at ``h = 0.1``, ``gamma = 1``, where ``sqrt(0.9)`` is 0.949). A lazy penalty (every
k-th D step, weighted by k) shrinks areas by ``1 - k h gamma`` every k steps.

Each run starts at distance 1 from the equilibrium, at an angle drawn from its seed, and trains
``--steps`` G steps through a Lightning Trainer. The table gives, per treatment, medians over the
seeds: the distance ``sqrt(theta^2 + psi^2)`` at half time and at the end, and the contraction per
step over the run's second half, of the distance and of the area two iterates span (consecutive
ones, or a lazy penalty's interval apart: :func:`measured_rate`),
beside the linear theory's (:func:`theory_rate`). tests/test_dirac_gan.py follows GANModule's
iterates step by step against the formulas of the game, and the area's rate against ``1 - h gamma``.

    python benchmarks/dirac_gan.py                      # seeds 0-4, 500 G steps, h = 0.1
    python benchmarks/dirac_gan.py --steps 2000 --treatments none r1 r1-lazy
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import io
import math
import statistics
from typing import Callable, Union

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from ganzoo import R1, R2, GANModule, LeCam
from ganzoo.callbacks import MaxGeneratorSteps

try:
    from _common import machine, quiet
except ImportError:  # run as a module from the repository root
    from benchmarks._common import machine, quiet


class PointGenerator(nn.Module):
    """G of the Dirac-GAN: the sample ``theta``, whatever the code."""

    def __init__(self, theta: float):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([theta]))

    def forward(self, z: Tensor) -> Tensor:
        return self.theta.expand(z.shape[0], 1)


class DiracGAN(GANModule):
    """GANModule on the Dirac-GAN: :class:`PointGenerator` as G, ``D(x) = psi * x`` as D, SGD for both."""

    def __init__(self, theta: float = 1.0, psi: float = 0.0, lr: float = 0.1, **kwargs):
        self.theta0, self.psi0 = theta, psi
        sgd = functools.partial(torch.optim.SGD, lr=lr)
        super().__init__(latent_dim=1, g_optimizer=sgd, d_optimizer=sgd, **kwargs)

    def build_generator(self) -> nn.Module:
        return PointGenerator(self.theta0)

    def build_discriminator(self) -> nn.Module:
        d = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            d.weight.fill_(self.psi0)
        return d

    def point(self) -> tuple[float, float]:
        """``(theta, psi)`` now."""
        return self.generator.theta.item(), self.discriminator.weight.item()


class Trajectory(pl.Callback):
    """``(theta, psi)`` after each G step of a :class:`DiracGAN`, the start first."""

    def __init__(self):
        self.points: list[tuple[float, float]] = []

    def on_train_start(self, trainer, module) -> None:
        self.points = [module.point()]

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.points.append(module.point())


def train(steps: int, theta: float, psi: float, lr: float, batch_size: int = 4, **kwargs) -> list[tuple[float, float]]:
    """Trains a :class:`DiracGAN` from ``(theta, psi)`` for ``steps`` G steps; the trajectory, ``steps + 1`` points."""
    model = DiracGAN(theta=theta, psi=psi, lr=lr, **kwargs)
    trajectory = Trajectory()
    data = DataLoader(TensorDataset(torch.zeros(batch_size * steps, 1)), batch_size=batch_size)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=-1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0, callbacks=[MaxGeneratorSteps(steps), trajectory],
    )
    with contextlib.redirect_stdout(io.StringIO()):  # MaxGeneratorSteps's closing line, once per run
        trainer.fit(model, train_dataloaders=data)
    return trajectory.points


def linear_map(lr: float, gamma: float) -> np.ndarray:
    """One G step of the loop on ``(psi, theta)`` near the equilibrium, a penalty of weight ``gamma`` in D's step."""
    a = lr / 2
    return np.array([[1 - lr * gamma, -a], [a * (1 - lr * gamma), 1 - a * a]])


def theory_rate(lr: float, gamma: float, every: int = 1) -> tuple[float, float]:
    """What the linearised loop does per G step: ``(distance, area)`` contraction. ``distance`` is the spectral radius
    of ``every`` steps (the first with the penalty at weight ``every * gamma``, the others without) to the power
    ``1 / every``, the rate at which the distance to the equilibrium falls in the long run; ``area`` is their
    determinant to that power, ``(1 - every * lr * gamma) ** (1 / every)``, by which each step shrinks areas."""
    steps = linear_map(lr, every * gamma)
    for _ in range(every - 1):
        steps = linear_map(lr, 0.0) @ steps
    return float(max(abs(np.linalg.eigvals(steps)))) ** (1 / every), float(np.linalg.det(steps)) ** (1 / every)


def distance(point: tuple[float, float]) -> float:
    return math.hypot(*point)


def measured_rate(points: list[tuple[float, float]], every: int = 1) -> tuple[float, float]:
    """``(distance, area)`` contraction per step over the second half of a trajectory, geometric means.

    ``distance`` compares the distances to the equilibrium at the half and at the end; it carries the wobble of
    an elliptic orbit, small over long runs. ``area`` compares the areas that iterates ``every`` steps apart
    span there: when the same map ``M`` takes ``p_k`` to ``p_{k+every}`` and that to ``p_{k+2 every}``,
    ``p_{k+every} x p_{k+2 every} = det(M) p_k x p_{k+every}``, so near the equilibrium it gives the map's
    determinant without the wobble. ``every`` is a lazy penalty's interval: its map repeats every that many steps.
    """
    half, last = len(points) // 2, len(points) - 1
    start, end = distance(points[half]), distance(points[last])
    dist = (end / start) ** (1 / (last - half)) if start > 0 and end > 0 else 0.0
    first = -(-half // every) * every  # the first penalty step from the half on (D steps 0, every, ...)
    final = (last - every) // every * every
    cross = lambda k: points[k][0] * points[k + every][1] - points[k][1] * points[k + every][0]  # noqa: E731
    ratio = cross(final) / cross(first) if final > first and cross(first) != 0 else 0.0
    return dist, ratio ** (1 / (final - first)) if ratio > 0 else 0.0


#: WGAN-GP's fixed point off the data: D's loss ``psi theta + lam (|psi| - 1)^2`` has the gradient
#: ``theta - 2 lam`` at ``psi = 0+``, G's ``-psi`` is zero there, so ``theta = 2 lam`` (or ``-2 lam`` from below)
#: is stationary, with D flat: the penalty's pull towards slope 1 holds D on its side of 0. Whether the loop
#: reaches it depends on ``lam`` and ``h`` (at ``h = 0.1`` it does for ``lam`` 1 and 2, and at 0.5 it orbits).
WGAN_GP_STALL = "a fixed point at distance 2 lam = %g"

#: treatment -> (the table's label, GANModule keyword arguments, what the theory says: a penalty's ``(gamma, every)``
#: for the linear map, or a sentence where the loop is no such map).
TREATMENTS: dict[str, tuple[str, Callable[[], dict], Union[tuple[float, int], str]]] = {
    "none": ("none", lambda: {}, (0.0, 1)),
    "r1": ("R1(gamma=0.5)", lambda: {"regularisers": [R1(gamma=0.5)]}, (0.5, 1)),
    "r2": ("R2(gamma=0.5)", lambda: {"regularisers": [R2(gamma=0.5)]}, (0.5, 1)),
    "r1-lazy": ("R1(gamma=0.5, every=4)", lambda: {"regularisers": [R1(gamma=0.5, every=4)]}, (0.5, 4)),
    "r1-weak": ("R1(gamma=0.1)", lambda: {"regularisers": [R1(gamma=0.1)]}, (0.1, 1)),
    "lecam": ("LeCam()", lambda: {"regularisers": [LeCam()]}, "not a linear map"),
    "wgan-gp-0.5": ("loss: wgan_gp, gradient_penalty 0.5", lambda: {"loss": "wgan_gp", "gradient_penalty": 0.5},
                    "not a linear map"),
    "wgan-gp-1": ("loss: wgan_gp, gradient_penalty 1", lambda: {"loss": "wgan_gp", "gradient_penalty": 1.0},
                  WGAN_GP_STALL % 2.0),
    "wgan-gp-2": ("loss: wgan_gp, gradient_penalty 2", lambda: {"loss": "wgan_gp", "gradient_penalty": 2.0},
                  WGAN_GP_STALL % 4.0),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--treatments", nargs="+", default=list(TREATMENTS), choices=list(TREATMENTS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=500, help="G steps per run")
    p.add_argument("--lr", type=float, default=0.1, help="SGD's learning rate h, for G and D")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if args.steps < 2:
        p.error(f"--steps {args.steps} is too few to measure a rate; give at least 2 (say --steps 500)")
    if not 0 < args.lr < 1:
        p.error(f"--lr {args.lr} is outside (0, 1); give a learning rate in it, say --lr 0.1")
    torch.set_num_threads(args.threads)
    quiet()
    print(f"Dirac-GAN, {args.steps} G steps, SGD lr {args.lr}, start at distance 1, seeds {args.seeds}; {machine(args.threads)}")
    print()
    print(f"| treatment | distance at {args.steps // 2} G steps, median | at {args.steps}, median (min-max) "
          "| per step over the second half, median: distance / area | linear theory: distance / area |")
    print("|---|---|---|---|---|")
    for name in args.treatments:
        label, kwargs, theory = TREATMENTS[name]
        every = theory[1] if isinstance(theory, tuple) else 1
        halves, ends, rates = [], [], []
        for seed in args.seeds:
            angle = 2 * math.pi * torch.rand(1, generator=torch.Generator().manual_seed(seed)).item()
            pl.seed_everything(seed, verbose=False)
            points = train(args.steps, math.cos(angle), math.sin(angle), args.lr, **kwargs())
            halves.append(distance(points[len(points) // 2]))
            ends.append(distance(points[-1]))
            rates.append(measured_rate(points, every))
        dist, area = (statistics.median(r[i] for r in rates) for i in (0, 1))
        expected = "%.5f / %.5f" % theory_rate(args.lr, *theory) if isinstance(theory, tuple) else theory
        print(f"| {label} | {statistics.median(halves):.3g} | {statistics.median(ends):.3g} ({min(ends):.3g}-{max(ends):.3g}) | "
              f"{dist:.5f} / {f'{area:.5f}' if area > 0 else '-'} | {expected} |")


if __name__ == "__main__":
    main()
