"""Metrics for synthetic targets whose distribution is known exactly.

1-D Gaussian: moments, the Kolmogorov-Smirnov statistic and the Wasserstein-1
distance to the target N(mean, std^2), both against the exact target CDF.

2-D mixtures, with the protocol of VEEGAN (Srivastava et al. 2017) and PacGAN
(Lin et al. 2018): a sample is *high quality* when it lies within ``num_std``
(3) standard deviations of its nearest mode centre; a mode is *covered* when it
is the nearest centre of at least one high-quality sample; ``mode_kl`` is the
reverse KL divergence KL(p || uniform) of the histogram p of high-quality
samples over modes (0 for perfect balance, log K for a single mode).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def wasserstein1_to_normal(samples: np.ndarray, mean: float, std: float) -> float:
    """Exact W1 between the empirical distribution of ``samples`` (1-D) and N(mean, std^2).

    Uses W1 = integral |F_n(x) - Phi(x)| dx, integrated in closed form between
    consecutive order statistics with the antiderivative of the normal CDF,
    ``H(x) = (x - mean) Phi(z) + std phi(z)``.
    """
    from scipy import stats  # imported here: `import ganzoo.metrics` stays light

    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = x.size
    z = (x - mean) / std
    cdf, pdf = stats.norm.cdf(z), stats.norm.pdf(z)
    antiderivative = (x - mean) * cdf + std * pdf
    total = antiderivative[0] + std * pdf[-1] - (x[-1] - mean) * (1.0 - cdf[-1])  # the two tails
    a, b = x[:-1], x[1:]
    level = np.arange(1, n) / n  # F_n on [x_(i), x_(i+1))
    h_a, h_b = antiderivative[:-1], antiderivative[1:]
    crossing = np.clip(mean + std * stats.norm.ppf(level), a, b)  # where Phi crosses the step
    h_c = (crossing - mean) * stats.norm.cdf((crossing - mean) / std) + std * stats.norm.pdf((crossing - mean) / std)
    below = level * (crossing - a) - (h_c - h_a)  # Phi <= F_n left of the crossing
    above = (h_b - h_c) - level * (b - crossing)
    return float(total + np.sum(below + above))


def gaussian_1d_metrics(samples: Tensor, mean: float, std: float) -> dict[str, float]:
    """Compares 1-D samples, shape ``(N,)`` or ``(N, 1)``, with N(mean, std^2).

    Returns:
        ``mean`` and ``std`` of the samples, ``ks`` (Kolmogorov-Smirnov statistic,
        in [0, 1]) and ``w1`` (Wasserstein-1 distance, in data units).
    """
    from scipy import stats  # imported here: `import ganzoo.metrics` stays light

    x = samples.detach().double().cpu().reshape(-1).numpy()
    return {
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)),
        # standardised with an explicit CDF: kstest's "norm"-with-args path differs across SciPy releases
        "ks": float(stats.ks_1samp((x - mean) / std, stats.norm.cdf).statistic),
        "w1": wasserstein1_to_normal(x, mean, std),
    }


def mode_coverage(samples: Tensor, centres: Tensor, std: float, num_std: float = 3.0) -> dict[str, float]:
    """Mode coverage of 2-D samples against a mixture of isotropic Gaussians.

    Args:
        samples: generated points, shape ``(N, D)``.
        centres: the K mode centres, shape ``(K, D)``.
        std: the standard deviation of every mode.
        num_std: radius of the high-quality region, in standard deviations.

    Returns:
        ``modes`` (covered modes, 0..K), ``high_quality`` (% of samples within
        ``num_std`` std of their nearest centre) and ``mode_kl`` (reverse KL to
        the uniform histogram over the K modes; ``inf`` with no high-quality sample).
    """
    samples = samples.detach().double().cpu().reshape(samples.shape[0], -1)
    centres = torch.as_tensor(centres).double().cpu()
    distance, nearest = torch.cdist(samples, centres).min(dim=1)
    good = distance <= num_std * std
    counts = torch.bincount(nearest[good], minlength=centres.shape[0]).double()
    covered = int((counts > 0).sum())
    if covered == 0:
        kl = math.inf
    else:
        p = counts[counts > 0] / counts.sum()
        kl = float((p * torch.log(p * centres.shape[0])).sum())
    return {"modes": float(covered), "high_quality": 100.0 * float(good.double().mean()), "mode_kl": kl}
