"""The Dirac-GAN (Mescheder et al. 2018, benchmarks/dirac_gan.py): GANModule's iterates against the formulas of the
game, step by step, and R1's, R2's and lazy R1's rate of convergence against the linear theory."""
import importlib
import math
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
LR = 0.1


@pytest.fixture
def dirac(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("dirac_gan")


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def by_hand(theta, psi, steps, gamma=0.0, every=1):
    """The loop's iterates from the game's formulas: D's SGD step on softplus(-psi * 0) + softplus(psi * theta) plus
    the penalty gamma / 2 * psi^2 (weighted by ``every`` at D steps 0, every, 2 every, ...), then G's SGD step on
    softplus(-psi * theta) through the updated D."""
    points = [(theta, psi)]
    for step in range(steps):
        weight = every * gamma if step % every == 0 else 0.0
        psi = psi - LR * (theta * sigmoid(psi * theta) + weight * psi)
        theta = theta + LR * psi * sigmoid(-psi * theta)
        points.append((theta, psi))
    return points


@pytest.mark.parametrize("treatment, gamma, every", [
    ("none", 0.0, 1), ("r1", 0.5, 1), ("r2", 0.5, 1), ("r1-lazy", 0.5, 4),
])
def test_the_loop_makes_the_games_gradient_steps(dirac, treatment, gamma, every):
    _, kwargs, _ = dirac.TREATMENTS[treatment]
    points = dirac.train(12, 0.6, -0.8, LR, **kwargs())
    flat = lambda pts: [v for point in pts for v in point]  # noqa: E731
    assert flat(points) == pytest.approx(flat(by_hand(0.6, -0.8, 12, gamma, every)), abs=1e-6)


@pytest.mark.parametrize("gamma, every", [(0.5, 1), (1.0, 1), (0.5, 4), (0.0, 1)])
def test_the_linear_theory(dirac, gamma, every):
    distance, area = dirac.theory_rate(LR, gamma, every)
    assert area == pytest.approx((1 - every * LR * gamma) ** (1 / every), abs=1e-12)  # det of the map
    if every == 1 and gamma < 1 - LR / 4:  # complex eigenvalues: both of modulus sqrt(det)
        assert distance == pytest.approx(math.sqrt(area), abs=1e-9)
    assert distance >= math.sqrt(area) - 1e-12  # real ones: the larger is above sqrt(det)
    assert distance <= 1.0


@pytest.mark.parametrize("regulariser", ["R1", "R2"])
@pytest.mark.parametrize("every", [1, 4])
def test_a_gradient_penalty_contracts_the_loop_as_the_linear_theory_says(dirac, regulariser, every):
    penalty = getattr(importlib.import_module("ganzoo"), regulariser)
    points = dirac.train(200, 1e-3, 0.0, LR, regularisers=[penalty(gamma=0.5, every=every)])  # the linear regime
    distance, area = dirac.measured_rate(points, every)
    assert area == pytest.approx((1 - every * LR * 0.5) ** (1 / every), abs=1e-4)
    assert dirac.distance(points[-1]) < 1e-3 * 0.995**200  # in geometrically, where an orbit stays at 1e-3
    assert distance < 0.985


def test_without_a_penalty_the_iterates_circle_the_equilibrium(dirac):
    points = dirac.train(200, 1e-3, 0.0, LR)
    distances = [dirac.distance(p) / 1e-3 for p in points]
    assert 0.9 < min(distances) and max(distances) < 1.1  # an orbit, neither in nor out
    assert dirac.measured_rate(points)[1] == pytest.approx(1.0, abs=1e-4)  # areas kept: det 1


@pytest.mark.parametrize("lam", [1.0, 2.0])
@pytest.mark.parametrize("start", [(0.6, 0.8), (0.05, -1.0)])
def test_wgan_gp_stalls_off_the_data_where_its_penalty_balances_the_critics_loss(dirac, lam, start):
    theta, psi = dirac.train(500, *start, LR, loss="wgan_gp", gradient_penalty=lam)[-1]
    assert abs(theta) == pytest.approx(2 * lam, abs=1e-3) and abs(psi) < 1e-3  # D flat, G at 2 lam from the data
