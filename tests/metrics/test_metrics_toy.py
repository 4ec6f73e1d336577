import math

import numpy as np
import pytest
import torch
from scipy import stats

from ganzoo import Gaussian1D, Grid2D, Ring2D, gaussian_1d_metrics, mode_coverage
from ganzoo.metrics.toy import wasserstein1_to_normal


@pytest.mark.parametrize("datamodule, modes", [(Ring2D(), 8), (Grid2D(), 25)])
def test_true_mixture_covers_every_mode_with_high_quality(datamodule, modes):
    samples = datamodule.sample(2500, torch.Generator().manual_seed(1))
    result = mode_coverage(samples, datamodule.centres, datamodule.std)
    assert result["modes"] == modes
    # within 3 std in 2-D: 1 - exp(-9/2) = 98.9%
    assert result["high_quality"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.8)
    assert result["mode_kl"] < 0.02
    assert datamodule.target_metrics()["modes"] == modes


@pytest.mark.parametrize("datamodule", [Ring2D(), Grid2D()])
def test_collapsed_sample_covers_one_mode(datamodule):
    centre = datamodule.centres[3]
    collapsed = centre + datamodule.std * torch.randn(2500, 2, generator=torch.Generator().manual_seed(0))
    result = mode_coverage(collapsed, datamodule.centres, datamodule.std)
    assert result["modes"] == 1
    assert result["mode_kl"] == pytest.approx(math.log(datamodule.num_modes), rel=1e-6)


def test_samples_between_modes_are_low_quality():
    grid = Grid2D()
    between = torch.tensor([[1.0, 1.0], [3.0, -1.0], [10.0, 10.0]]).repeat(100, 1)
    result = mode_coverage(between, grid.centres, grid.std)
    assert result == {"modes": 0.0, "high_quality": 0.0, "mode_kl": math.inf}


def test_mode_kl_on_a_known_histogram():
    ring = Ring2D()
    # 3 samples at mode 0, 1 at mode 1: p = (3/4, 1/4), KL to uniform over 8 = sum p log(8 p)
    points = ring.centres[[0, 0, 0, 1]]
    expected = 0.75 * math.log(8 * 0.75) + 0.25 * math.log(8 * 0.25)
    assert mode_coverage(points, ring.centres, ring.std)["mode_kl"] == pytest.approx(expected)


def test_gaussian_metrics_on_target_samples_and_on_a_shifted_one():
    target = Gaussian1D(mean=4.0, std=1.25)
    good = gaussian_1d_metrics(target.sample(10_000, torch.Generator().manual_seed(0)), 4.0, 1.25)
    assert good["ks"] < 0.02 and good["w1"] < 0.05
    assert good["mean"] == pytest.approx(4.0, abs=0.05) and good["std"] == pytest.approx(1.25, abs=0.05)
    shifted = gaussian_1d_metrics(torch.full((1000,), 5.0), 4.0, 1.25)
    assert shifted["ks"] == pytest.approx(stats.norm.cdf(1 / 1.25), abs=1e-3)


@pytest.mark.parametrize("n", [1, 3, 500])
def test_exact_wasserstein_matches_a_fine_quantile_reference(n):
    x = np.random.default_rng(n).normal(0.3, 2.0, n)
    reference = stats.norm.ppf((np.arange(200_000) + 0.5) / 200_000, 1.0, 1.5)
    assert wasserstein1_to_normal(x, 1.0, 1.5) == pytest.approx(stats.wasserstein_distance(x, reference), abs=1e-4)


def test_wasserstein_of_a_point_mass_at_the_mean_is_the_mean_absolute_deviation():
    # W1(delta_m, N(m, s^2)) = E|X - m| = s sqrt(2/pi)
    assert wasserstein1_to_normal(np.array([2.0]), 2.0, 3.0) == pytest.approx(3.0 * math.sqrt(2 / math.pi))
