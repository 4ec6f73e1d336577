"""``ganzoo generate``: samples from a trained checkpoint, written as a grid, PNG files or arrays.

    ganzoo generate CHECKPOINT --num_samples 64 --seed 0 --output samples.png
    ganzoo generate CHECKPOINT --num_samples 10000 --output samples.npz   # for FID tools
    ganzoo generate CHECKPOINT --num_samples 500 --output samples/        # one PNG per sample
    ganzoo generate CHECKPOINT --interpolate --num_samples 8 --output walk.png
    ganzoo generate CHECKPOINT --labels 7 --num_samples 20 --output sevens.png   # a conditional GAN: twenty 7s
    ganzoo generate CHECKPOINT --labels all --num_samples 10 --output digits.png # one row per class
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from ganzoo.argparsing import CommandParser, check_output_path, positive_int
from ganzoo.errors import ConfigError

if TYPE_CHECKING:  # imported where used: `ganzoo generate --help` needs neither torch nor Lightning
    import torch

    from ganzoo.modules.gan import GANModule


def load_generator(checkpoint: str, device: str = "auto", imports: Sequence[str] = ()) -> GANModule:
    """The GAN recorded in a checkpoint, on ``device`` (``auto``: CUDA when available), in eval mode.

    ``imports`` (``--import``) are imported first; the checkpoint may name classes from them,
    from ganzoo and from ``torch.nn``/``torch.optim``, nothing else (:mod:`ganzoo.checkpoint_loading`).
    """
    import torch

    import ganzoo
    from ganzoo.checkpoint_loading import ClassPolicy, import_modules
    from ganzoo.modules.gan import GANModule

    ganzoo.import_public_api()  # a checkpoint may name any of ganzoo's classes: they must be imported
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device} but this machine has no CUDA device; use --device cpu (or auto)")
    policy = ClassPolicy(f"checkpoint '{checkpoint}'", import_modules(imports))
    try:  # the classes the checkpoint names are checked before Lightning builds anything
        module = GANModule.load_from_checkpoint(checkpoint, map_location=device, class_policy=policy)
    except ConfigError:
        raise
    except Exception as err:
        raise ConfigError(f"could not load checkpoint '{checkpoint}': {type(err).__name__}: {err}".splitlines()[0]) from err
    return module.eval()


def write_samples(
    samples: torch.Tensor, output: str, nrow: Optional[int] = None, labels: Optional[torch.Tensor] = None
) -> list[Path]:
    """Writes samples ``(N, *S)`` where ``output`` says, by its form.

    - ``*.png``: one grid (images ``(N, 1 or 3, H, W)`` in [-1, 1]), ``nrow`` per row
      (default: a square-ish grid);
    - ``*.npz``: key ``samples``: images as uint8 ``(N, H, W, C)`` (the layout FID tools
      read), other data as float32 ``(N, *S)``; key ``labels`` (int64 ``(N,)``) when given;
    - ``*.pt``: the float tensor as generated;
    - anything else: a directory of PNGs ``000000.png``, ``000001.png``, ... (images only;
      ``000000_7.png`` when the sample was asked to be of class 7).

    Returns:
        The paths written.
    """
    import numpy as np
    import torch

    from ganzoo.viz import image_grid, save_png, to_uint8

    path = Path(output)
    suffix = path.suffix.lower()
    is_image = samples.dim() == 4 and samples.shape[1] in (1, 3)
    if suffix in (".pt", ".npz"):
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".pt":
            torch.save(samples.cpu(), path)
        else:
            array = to_uint8(samples).permute(0, 2, 3, 1).cpu().numpy() if is_image else samples.float().cpu().numpy()
            extra = {} if labels is None else {"labels": labels.cpu().numpy()}
            np.savez_compressed(path, samples=array, **extra)
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
    names = [f"{i:06d}" if labels is None else f"{i:06d}_{int(labels[i])}" for i in range(len(samples))]
    return [save_png(to_uint8(image).cpu(), path / f"{name}.png") for name, image in zip(names, samples)]


#: the output forms of :func:`write_samples`, by suffix; no suffix is a folder of PNGs.
OUTPUT_SUFFIXES = (".png", ".npz", ".pt")


def check_output(output: str) -> None:
    """Fails with one line, before any sample is drawn, when ``--output`` has an unknown form or cannot be written."""
    suffix = Path(output).suffix.lower()
    if suffix and suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(f"unknown output type '{suffix}' in '{output}'; use .png (a grid), .npz, .pt or a directory")
    check_output_path("--output", output, directory=not suffix)


def parse_labels(module: GANModule, values: Optional[list[str]]) -> Optional[list[int]]:
    """The classes ``--labels`` asks for (``all``: every class); ``None`` when not given."""
    if not values:
        return None
    if values == ["all"]:
        if not module.num_classes:
            module.check_labels(0, 1)  # the unconditional model's own line
        return list(range(module.num_classes))
    try:
        classes = [int(v) for v in values]
    except ValueError:
        raise ConfigError(f"--labels takes class indices or 'all', got {' '.join(values)!r}; e.g. --labels 7 or --labels 0 1 2") from None
    module.check_labels(classes, len(classes))
    return classes


def class_samples(module: GANModule, classes: list[int], per_class: int, seed: int, batch_size: int):
    """``per_class`` samples of each class, one row per class with the same codes in every row."""
    import torch

    z = module.sample_prior(per_class, torch.Generator().manual_seed(seed))
    codes, labels = module.class_rows(z, classes)
    return module.decode(codes, labels, batch_size), labels


def interpolation(module: GANModule, rows: int, steps: int, seed: int, classes: Optional[list[int]] = None):
    """``rows`` walks of ``steps`` samples between pairs of codes drawn with ``seed``: ``(rows * steps, *S)``.

    A conditional GAN keeps one class along each walk: row i has ``classes[i % len(classes)]``
    (every class in turn by default). Returns the samples and their labels (``None`` if unconditional).
    """
    import torch

    z = module.sample_prior(2 * rows, torch.Generator().manual_seed(seed))
    labels = module.walk_labels(rows, steps, classes)
    return module.decode(module.interpolate_latents(z[:rows], z[rows:], steps), labels), labels


def parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="ganzoo generate", description="Write samples of a trained GAN checkpoint.")
    p.add_argument("checkpoint", help="a .ckpt written by ganzoo fit (e.g. <run dir>/checkpoints/last.ckpt)")
    p.add_argument("--num_samples", type=positive_int, default=64, help="samples to draw (rows with --interpolate); default 64")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent codes: same seed, same samples; default 0")
    p.add_argument("--output", default="samples.png", help="*.png grid, *.npz, *.pt, or a directory of PNGs")
    p.add_argument("--nrow", type=positive_int, default=None, help="images per row of a .png grid")
    p.add_argument(
        "--labels", nargs="+", default=None, metavar="CLASS",
        help="conditional GANs: one class (all samples of it), several (--num_samples of each, one row per class) "
        "or 'all'; default: the classes in turn",
    )  # fmt: skip
    p.add_argument("--interpolate", action="store_true", help="walk between pairs of codes instead of sampling")
    p.add_argument("--steps", type=positive_int, default=10, help="samples per interpolation row; default 10")
    p.add_argument("--batch_size", type=positive_int, default=1024, help="samples per forward pass of G; default 1024")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... or auto (CUDA when available)")
    p.add_argument("--no_ema", action="store_true", help="sample G itself, not its moving average (when it keeps one)")
    add_import_argument(p)
    return p


def add_import_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE",
        help="import MODULE first (repeatable): the checkpoint may name its classes; nothing else is imported",
    )  # fmt: skip


def main(argv: Optional[list[str]] = None) -> list[Path]:
    args = parser().parse_args(argv)
    check_output(args.output)
    module = load_generator(args.checkpoint, args.device, args.imports)
    module.sample_from_ema = not args.no_ema
    classes = parse_labels(module, args.labels)
    labels = None
    if args.interpolate:
        (samples, labels), nrow = interpolation(module, args.num_samples, args.steps, args.seed, classes), args.steps
    elif classes is not None and len(classes) > 1:
        samples, labels = class_samples(module, classes, args.num_samples, args.seed, args.batch_size)
        nrow = args.nrow or args.num_samples
    else:
        # one class for all, or every class in turn; labels that are not classes (a SelfConditionedGAN's
        # clusters) are left to the model, which draws them as often as it was trained on them
        if module.num_classes and (classes or module.labels_are_classes):
            import torch

            labels = torch.full((args.num_samples,), classes[0]) if classes else torch.arange(args.num_samples) % module.num_classes
        samples = module.generate(args.num_samples, seed=args.seed, labels=labels, batch_size=args.batch_size)
        nrow = args.nrow
    paths = write_samples(samples, args.output, nrow, labels)
    from ganzoo.modules.checks import plural

    where = paths[0] if len(paths) == 1 else f"{paths[0].parent}/ ({len(paths)} files)"
    asked = "" if labels is None else f", {plural(module.label_noun)} {_describe(labels)}"
    print(f"ganzoo: {len(samples)} samples of {type(module).__name__}{module.sampler_description()} after "
          f"{module.g_steps} generator steps, seed {args.seed}{asked}: {where}")
    return paths


def _describe(labels: torch.Tensor) -> str:
    distinct = sorted(set(labels.tolist()))
    return ", ".join(map(str, distinct)) if len(distinct) <= 12 else f"{distinct[0]}..{distinct[-1]}"
