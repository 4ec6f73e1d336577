"""``ganzoo evaluate``: FID, KID, IS or domain metrics of a checkpoint, as a table and a JSON file.

    ganzoo evaluate CHECKPOINT --metrics fid kid is --inception_weights ~/weights/
    ganzoo evaluate CHECKPOINT --metrics fd_classifier classifier_score --classifier mnist
    ganzoo evaluate CHECKPOINT --metrics prdc_classifier --classifier mnist --pr_k 3 --dc_k 5
    ganzoo evaluate CHECKPOINT --metrics fid --num_fake 50000 --split train --output fid.json

The data is rebuilt from the checkpoint (which records its datamodule's class and
arguments); ``--data_dir`` points it at the files on this machine.
"""
from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from ganzoo.argparsing import CommandParser, check_output_path, positive_int
from ganzoo.errors import ConfigError
from ganzoo.commands.generate import add_import_argument, load_generator
from ganzoo.metrics.evaluator import METRICS, ImageEvaluator, module_sampler  # torch, not Lightning: --help stays light


def load_datamodule(checkpoint: str, data: Optional[str] = None, data_dir: Optional[str] = None, imports: Sequence[str] = ()):
    """The datamodule a checkpoint was trained on, or ``data`` (a class path), with ``data_dir`` if given.

    The recorded class must pass :mod:`ganzoo.checkpoint_loading`'s checks (``imports`` are the
    modules the user vouched for); ``data``, named by the user, is imported. It is built with every
    argument it was recorded with (all of them when its constructor takes ``**kwargs``).
    """
    import ganzoo
    from ganzoo.checkpoint_loading import ClassPolicy, check_datamodule_classes, import_modules, read_checkpoint

    ganzoo.import_public_api()  # the recorded datamodule's class must be imported to pass the checks
    trusted = import_modules(imports)
    stored = read_checkpoint(checkpoint)
    named = _import_class(data) if data else None
    policy = ClassPolicy(f"checkpoint '{checkpoint}'", (*trusted, *([named.__module__] if named else [])))
    cls = check_datamodule_classes(stored, policy, named)
    if cls is None:
        raise ConfigError(
            f"checkpoint '{checkpoint}' does not record its datamodule; pass --data, e.g. --data ganzoo.MNISTDataModule"
        )
    parameters = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    hparams = {k: v for k, v in (stored.get("datamodule_hyper_parameters") or {}).items() if not k.startswith("_")}
    kwargs = hparams if takes_any else {k: v for k, v in hparams.items() if k in parameters}
    if data_dir is not None:
        if not takes_any and "data_dir" not in parameters:
            raise ConfigError(f"--data_dir given, but {cls.__name__} takes no data_dir; drop --data_dir")
        kwargs["data_dir"] = data_dir
    return cls(**kwargs)


def _import_class(class_path: str) -> type:
    """The datamodule class of ``--data`` (named by the user, so it may be imported)."""
    import importlib

    from lightning.pytorch import LightningDataModule

    if "." not in class_path:
        class_path = f"ganzoo.{class_path}"
    module_path, _, name = class_path.rpartition(".")
    try:
        target = getattr(importlib.import_module(module_path), name)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"cannot import datamodule class '{class_path}' ({err}); e.g. --data ganzoo.MNISTDataModule") from err
    if not (isinstance(target, type) and issubclass(target, LightningDataModule)):
        raise ConfigError(f"--data {class_path} is not a LightningDataModule; e.g. --data ganzoo.MNISTDataModule")
    return target


def format_table(results: dict[str, float]) -> str:
    width = max(len(k) for k in results)
    return "\n".join(f"  {k:<{width}}  {v:.6g}" for k, v in results.items())


def parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="ganzoo evaluate", description="Image metrics of a trained GAN checkpoint.")
    p.add_argument("checkpoint", help="a .ckpt written by ganzoo fit (e.g. <run dir>/checkpoints/last.ckpt)")
    p.add_argument("--metrics", nargs="+", default=["fid"], help=f"any of: {', '.join(METRICS)}; default fid")
    p.add_argument("--num_fake", type=positive_int, default=10_000, help="generated images; default 10000")
    p.add_argument("--num_real", type=positive_int, default=None, help="real images of the split; default: all of it")
    p.add_argument("--split", default="train", help="train, val or test; default train")
    p.add_argument("--inception_weights", default=None, help="InceptionV3 weights file or its folder (default: torch cache)")
    p.add_argument("--classifier", default=None, help="domain classifier: mnist, digits or a file")
    p.add_argument("--feature", type=positive_int, default=2048, help="InceptionV3 feature size for FID/KID; default 2048")
    p.add_argument("--antialias", action="store_true", help="antialiased resize to 299 px (default: TF1 bilinear, as papers)")
    p.add_argument("--kid_subsets", type=positive_int, default=100)
    p.add_argument("--kid_subset_size", type=positive_int, default=1000)
    p.add_argument("--is_splits", type=positive_int, default=10)
    p.add_argument("--pr_k", type=positive_int, default=3, help="k of precision and recall (prdc metrics); default 3")
    p.add_argument("--dc_k", type=positive_int, default=5, help="k of density and coverage (prdc metrics); default 5")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent codes and of KID/IS subsets; default 0")
    p.add_argument("--batch_size", type=positive_int, default=100, help="images per forward pass; default 100")
    p.add_argument("--cache_dir", default=None, help="real-statistics cache (default ~/.cache/ganzoo/real_stats)")
    p.add_argument("--no_cache", action="store_true", help="neither read nor write cached real statistics")
    p.add_argument("--data", default=None, help="datamodule class path, when the checkpoint does not record it")
    p.add_argument("--data_dir", default=None, help="where the dataset lies on this machine")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... or auto (CUDA when available)")
    p.add_argument("--no_ema", action="store_true", help="evaluate G itself, not its moving average (when it keeps one)")
    p.add_argument("--output", default=None, help="JSON file; default <checkpoint stem>_metrics.json beside it")
    add_import_argument(p)
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    args = parser().parse_args(argv)
    output = check_output_path("--output" if args.output else "--output (by default beside the checkpoint)", output_path(args))
    evaluator = ImageEvaluator.from_args(args, use_cache=not args.no_cache)
    datamodule = load_datamodule(args.checkpoint, args.data, args.data_dir, args.imports)
    module = load_generator(args.checkpoint, args.device, args.imports)
    module.sample_from_ema = not args.no_ema
    evaluator.check_generator(module)
    evaluator.prepare(datamodule)  # every bad setting fails here, before any image is generated
    start = time.perf_counter()
    results = evaluator.evaluate(module_sampler(module), datamodule, module.device)
    report = {
        "checkpoint": str(args.checkpoint),
        "model": type(module).__name__,
        "generator_steps": module.g_steps,
        "generator": module.sampled_generator(),
        "metrics": results,
        "protocol": evaluator.protocol(datamodule),
        "real_statistics": "cached" if evaluator.cache.hits else "computed",
        "device": str(module.device),
        "seconds": round(time.perf_counter() - start, 2),
    }
    print(f"ganzoo evaluate: {type(module).__name__}{module.sampler_description()} after {module.g_steps} generator steps, "
          f"{args.num_fake} generated vs {report['protocol']['num_real']} real ({args.split}), "
          f"real statistics {report['real_statistics']}, {report['seconds']:.1f} s")
    print(format_table(results), flush=True)
    write_report(report, output)
    print(f"written: {output}")
    return report


def output_path(args: argparse.Namespace) -> Path:
    """``--output``, or ``<checkpoint stem>_metrics.json`` beside the checkpoint."""
    return Path(args.output) if args.output else Path(args.checkpoint).with_name(Path(args.checkpoint).stem + "_metrics.json")


def write_report(report: dict, output: Path) -> None:
    """Writes the JSON report; one line if it cannot be (the figures are already printed above)."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
    except OSError as err:
        raise ConfigError(
            f"--output '{output}' could not be written ({err.strerror or type(err).__name__}); the figures are "
            "printed above: copy them, or run again with --output in a folder you can write to"
        ) from None


if __name__ == "__main__":
    from ganzoo.cli import main as ganzoo_main  # ganzoo's one-line errors, as for `ganzoo evaluate`

    ganzoo_main(["evaluate", *sys.argv[1:]])
