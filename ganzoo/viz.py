"""Figures of generated against target distributions (matplotlib, no display needed)."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

Critic = Callable[[np.ndarray], np.ndarray]


def plot_1d(
    generated: np.ndarray,
    density: Callable[[np.ndarray], np.ndarray],
    critic: Optional[Critic] = None,
    critic_label: str = "D(x)",
    title: str = "",
) -> Figure:
    """Target density against a histogram of generated samples, with D's output on a second axis.

    Args:
        generated: generated samples, shape ``(N,)`` or ``(N, 1)``.
        density: the target density, evaluated on a grid.
        critic: D's output (a probability for the BCE losses) on a grid, shape ``(M,)``.
        critic_label: label of D's axis.
        title: figure title.
    """
    x = np.asarray(generated, dtype=np.float64).ravel()
    fig = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    grid = np.linspace(*_span(x, density), 400)
    ax.hist(x, bins=80, range=(grid[0], grid[-1]), density=True, alpha=0.55, color="tab:green", label="generated p_g")
    ax.plot(grid, density(grid), color="black", lw=2, label="target p_data")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    handles, labels = ax.get_legend_handles_labels()
    if critic is not None:
        ax2 = ax.twinx()
        (line,) = ax2.plot(grid, critic(grid), color="tab:blue", ls="--", lw=1.5, label=critic_label)
        ax2.set_ylabel(critic_label, color="tab:blue")
        if critic_label.startswith("D(x) ="):
            ax2.axhline(0.5, color="tab:blue", lw=0.6, alpha=0.5)
            ax2.set_ylim(-0.02, 1.02)
        handles.append(line)
        labels.append(critic_label)
    ax.legend(handles, labels, loc="upper left", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _span(x: np.ndarray, density: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
    lo, hi = np.percentile(x, [0.5, 99.5]) if x.size else (0.0, 1.0)
    # widen to where the target lives, found from the density on a coarse search grid
    probe = np.linspace(lo - 10 * (hi - lo + 1), hi + 10 * (hi - lo + 1), 4001)
    mass = density(probe)
    live = probe[mass > mass.max() * 1e-3]
    lo, hi = min(lo, live.min()), max(hi, live.max())
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def plot_2d(
    real: np.ndarray,
    generated: np.ndarray,
    critic: Optional[Critic] = None,
    centres: Optional[np.ndarray] = None,
    title: str = "",
) -> Figure:
    """Real and generated points over D's decision surface.

    Args:
        real: real points, shape ``(N, 2)``.
        generated: generated points, shape ``(M, 2)``.
        critic: D's output at points ``(K, 2)``, shape ``(K,)``, drawn as a filled contour.
        centres: mode centres, shape ``(C, 2)``, marked with crosses.
        title: figure title.
    """
    real, generated = np.asarray(real), np.asarray(generated)
    fig = Figure(figsize=(5.6, 5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    both = np.concatenate([real, generated])
    lo, hi = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    lo, hi = np.minimum(lo, real.min(0)), np.maximum(hi, real.max(0))
    pad = 0.1 * (hi - lo).max()
    lo, hi = lo - pad, hi + pad
    if critic is not None:
        xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
        values = critic(np.stack([xs.ravel(), ys.ravel()], axis=1)).reshape(xs.shape)
        contour = ax.contourf(xs, ys, values, levels=20, cmap="coolwarm", alpha=0.45)
        fig.colorbar(contour, ax=ax, label="D")
    ax.scatter(real[:, 0], real[:, 1], s=3, color="black", alpha=0.35, label="real")
    ax.scatter(generated[:, 0], generated[:, 1], s=3, color="tab:green", alpha=0.5, label="generated")
    if centres is not None:
        ax.scatter(centres[:, 0], centres[:, 1], marker="x", s=30, color="tab:red", label="mode centres")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8, markerscale=3)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
