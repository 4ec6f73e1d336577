"""Pictures: distributions against their targets (matplotlib, no display needed) and image grids."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Union

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:  # matplotlib, torchvision and PIL are imported where they draw: `import ganzoo.viz` stays light
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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x = np.asarray(generated, dtype=np.float64).ravel()
    fig = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    grid = np.linspace(*_span(x, density), 400)
    # One filled outline instead of ax.hist's 80 bars: the same pixels, drawn in a fifth less time
    # (the quick start draws 37 such figures).
    heights, edges = np.histogram(x, bins=80, range=(grid[0], grid[-1]), density=True)
    ax.stairs(heights, edges, fill=True, alpha=0.55, color="tab:green", label="generated p_g")
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
    if live.size:  # empty when the samples lie so far off that the density underflows on the whole probe
        lo, hi = min(lo, live.min()), max(hi, live.max())
    pad = 0.05 * (hi - lo) or 0.05 * max(abs(lo), 1.0)  # all samples alike (a collapsed G): still a span to bin
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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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


def to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] to bytes: ``round((x + 1) * 127.5)`` clamped to [0, 255], uint8, same shape.

    Rounded, not truncated: truncation shifts every pixel down by half a level on average.
    """
    return ((images.detach().float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def image_grid(images: Tensor, nrow: int = 8, upscale: Optional[int] = None, padding: int = 2) -> Tensor:
    """Tiles images into one picture.

    Args:
        images: images in [-1, 1], shape ``(N, C, H, W)`` with 1 or 3 channels.
        nrow: images per row.
        upscale: integer nearest-neighbour magnification of each image; ``None`` picks
            the smallest that makes an image at least 32 px wide (8 px digits become 32 px).
        padding: pixels between images.

    Returns:
        uint8 RGB picture ``(3, rows * (H' + padding) + padding, nrow * (W' + padding) + padding)``
        where ``H' = upscale * H``; partial rows are padded with black.
    """
    from torchvision.utils import make_grid

    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"image_grid takes images of shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    factor = upscale or max(1, math.ceil(32 / images.shape[-1]))
    pixels = to_uint8(images.cpu())
    if factor > 1:
        pixels = pixels.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)
    return make_grid(pixels, nrow=nrow, padding=padding, pad_value=0)


def save_png(picture: Tensor, path: Union[str, Path]) -> Path:
    """Writes a uint8 picture ``(C, H, W)`` (C = 1 or 3) as a PNG, creating the parent directory."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = picture.permute(1, 2, 0).numpy()
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(path)
    return path
