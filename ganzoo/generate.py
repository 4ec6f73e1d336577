"""``ganzoo generate``: samples from a trained checkpoint, written as a grid, PNG files or arrays.

    ganzoo generate CHECKPOINT --num_samples 64 --seed 0 --output samples.png
    ganzoo generate CHECKPOINT --num_samples 10000 --output samples.npz   # for FID tools
    ganzoo generate CHECKPOINT --num_samples 500 --output samples/        # one PNG per sample
    ganzoo generate CHECKPOINT --interpolate --num_samples 8 --output walk.png
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ganzoo.errors import ConfigError
from ganzoo.modules.gan import GANModule
from ganzoo.viz import image_grid, save_png, to_uint8


def load_generator(checkpoint: str, device: str = "auto") -> GANModule:
    """The GAN recorded in a checkpoint, on ``device`` (``auto``: CUDA when available), in eval mode."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device} but this machine has no CUDA device; use --device cpu (or auto)")
    if not Path(checkpoint).is_file():
        raise ConfigError(f"checkpoint '{checkpoint}' not found; pass the path of a .ckpt file (e.g. <run dir>/checkpoints/last.ckpt)")
    try:
        module = GANModule.load_from_checkpoint(checkpoint, map_location=device)
    except ConfigError:
        raise
    except Exception as err:
        raise ConfigError(f"could not load checkpoint '{checkpoint}': {type(err).__name__}: {err}".splitlines()[0]) from err
    return module.eval()


def write_samples(samples: torch.Tensor, output: str, nrow: Optional[int] = None) -> list[Path]:
    """Writes samples ``(N, *S)`` where ``output`` says, by its form.

    - ``*.png``: one grid (images ``(N, 1 or 3, H, W)`` in [-1, 1]), ``nrow`` per row
      (default: a square-ish grid);
    - ``*.npz``: key ``samples``: images as uint8 ``(N, H, W, C)`` (the layout FID tools
      read), other data as float32 ``(N, *S)``;
    - ``*.pt``: the float tensor as generated;
    - anything else: a directory of PNGs ``000000.png``, ``000001.png``, ... (images only).

    Returns:
        The paths written.
    """
    path = Path(output)
    suffix = path.suffix.lower()
    is_image = samples.dim() == 4 and samples.shape[1] in (1, 3)
    if suffix in (".pt", ".npz"):
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".pt":
            torch.save(samples.cpu(), path)
        else:
            array = to_uint8(samples).permute(0, 2, 3, 1).cpu().numpy() if is_image else samples.float().cpu().numpy()
            np.savez_compressed(path, samples=array)
        return [path]
    if not is_image:
        raise ConfigError(
            f"output '{output}' is a picture, but the samples have shape {tuple(samples.shape)}, not images "
            "(N, 1 or 3, H, W); write them with --output samples.npz or samples.pt"
        )
    if suffix == ".png":
        return [save_png(image_grid(samples, nrow or math.ceil(math.sqrt(len(samples))), upscale=1), path)]
    if suffix:
        raise ConfigError(f"unknown output type '{suffix}' in '{output}'; use .png (a grid), .npz, .pt or a directory")
    return [save_png(to_uint8(image).cpu(), path / f"{i:06d}.png") for i, image in enumerate(samples)]


def interpolation(module: GANModule, rows: int, steps: int, seed: int) -> torch.Tensor:
    """``rows`` walks of ``steps`` samples between pairs of codes drawn with ``seed``: ``(rows * steps, *S)``."""
    z = module.sample_prior(2 * rows, torch.Generator().manual_seed(seed))
    return module.decode(module.interpolate_latents(z[:rows], z[rows:], steps))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganzoo generate", description="Write samples of a trained GAN checkpoint.")
    p.add_argument("checkpoint", help="a .ckpt written by ganzoo fit (e.g. <run dir>/checkpoints/last.ckpt)")
    p.add_argument("--num_samples", type=int, default=64, help="samples to draw (rows with --interpolate); default 64")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent codes: same seed, same samples; default 0")
    p.add_argument("--output", default="samples.png", help="*.png grid, *.npz, *.pt, or a directory of PNGs")
    p.add_argument("--nrow", type=int, default=None, help="images per row of a .png grid")
    p.add_argument("--interpolate", action="store_true", help="walk between pairs of codes instead of sampling")
    p.add_argument("--steps", type=int, default=10, help="samples per interpolation row; default 10")
    p.add_argument("--batch_size", type=int, default=1024, help="samples per forward pass of G; default 1024")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... or auto (CUDA when available)")
    return p


def main(argv: Optional[list[str]] = None) -> list[Path]:
    args = parser().parse_args(argv)
    for name in ("num_samples", "steps", "batch_size"):
        value = getattr(args, name)
        if value < 1:
            raise ConfigError(f"--{name} must be >= 1, got {value}")
    module = load_generator(args.checkpoint, args.device)
    if args.interpolate:
        samples, nrow = interpolation(module, args.num_samples, args.steps, args.seed), args.steps
    else:
        samples, nrow = module.generate(args.num_samples, seed=args.seed, batch_size=args.batch_size), args.nrow
    paths = write_samples(samples, args.output, nrow)
    where = paths[0] if len(paths) == 1 else f"{paths[0].parent}/ ({len(paths)} files)"
    print(f"ganzoo: {len(samples)} samples of {type(module).__name__} after {module.g_steps} generator steps, "
          f"seed {args.seed}: {where}")
    return paths
