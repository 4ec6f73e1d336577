"""FID throughput: ganzoo's evaluation path against torch-fidelity on the same images and weights.

Both compute the FID of ``--num`` generated-like images against ``--num`` real MNIST
images (or synthetic images without ``--data_dir``) with the same InceptionV3 weights:

- ``torch-fidelity``: ``torch_fidelity.calculate_metrics(fid=True)`` on two datasets of
  uint8 images, its cache off;
- ``ganzoo, first``: :class:`ganzoo.ImageEvaluator` with an empty real-statistics cache
  (real and generated images through the network);
- ``ganzoo, cached``: the same evaluation again: the real statistics come from the cache,
  only the generated images go through the network.

Prints a Markdown table: seconds, images per second (images through the network
divided by seconds) and the ratio of ganzoo's time to torch-fidelity's, plus the two
FIDs (they must agree). Without ``--inception_weights`` (or the file in the torch cache)
it uses random InceptionV3 weights: the speed is the same, the FID values mean nothing.

    python benchmarks/fid_throughput.py --num 64                       # CPU, ~1 min a row
    python benchmarks/fid_throughput.py --num 2000 --device cuda --data_dir ../shared/data
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch_fidelity
from torch.utils.data import Dataset

from ganzoo.argparsing import dashed, respell
from ganzoo.errors import ConfigError
from ganzoo.metrics import ImageEvaluator, find_inception_weights, save_random_inception_weights
from ganzoo.viz import to_uint8


class Bytes(Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


class Images:
    """The datamodule interface ImageEvaluator reads: image_shape and a train split."""

    def __init__(self, images):
        self.image_shape, self.num_classes = tuple(images.shape[1:]), 0
        self.splits = {"train": [(x, 0) for x in images]}


def image_sets(num: int, data_dir):
    if data_dir:
        from ganzoo import MNISTDataModule

        data = MNISTDataModule(data_dir=data_dir)
        data.setup("fit")
        real = data.splits["train"].images[:num]
        fake = data.splits["test"].images[:num].flip(-1)  # stand-ins for generated digits
    else:
        g = torch.Generator().manual_seed(0)
        real = torch.rand(num, 1, 28, 28, generator=g) * 2 - 1
        fake = torch.nn.functional.interpolate(torch.rand(num, 1, 7, 7, generator=g), size=28, mode="bilinear") * 2 - 1
    return real, fake


def weights_file(path, scratch: Path) -> tuple[str, str]:
    try:
        return str(find_inception_weights(path)), "InceptionV3 (official weights)"
    except ConfigError:
        if path is not None:
            raise
        return str(save_random_inception_weights(scratch / "random.pth")), "InceptionV3 (random weights)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num", type=int, default=64, help="real and generated images each")
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data_dir", default=None, help="MNIST folder (torchvision layout); synthetic images otherwise")
    p.add_argument("--inception_weights", default=None)
    args = p.parse_args(respell(sys.argv[1:], dashed("--batch_size", "--data_dir", "--inception_weights")))
    scratch = Path(tempfile.mkdtemp(prefix="ganzoo_fid_bench_"))
    weights, network = weights_file(args.inception_weights, scratch)
    real, fake = image_sets(args.num, args.data_dir)
    rgb = lambda x: to_uint8(x).expand(-1, 3, -1, -1).contiguous()  # noqa: E731

    start = time.perf_counter()
    theirs = torch_fidelity.calculate_metrics(
        input1=Bytes(rgb(fake)), input2=Bytes(rgb(real)), fid=True, cuda=args.device.startswith("cuda"),
        feature_extractor_weights_path=weights, batch_size=args.batch_size, cache=False, verbose=False,
    )["frechet_inception_distance"]
    rows = [("torch-fidelity", time.perf_counter() - start, 2 * args.num, theirs)]

    evaluator = ImageEvaluator(["fid"], num_fake=args.num, num_real=args.num, batch_size=args.batch_size,
                               inception_weights=weights, cache_dir=str(scratch / "cache"))
    evaluator.prepare(Images(real))  # loading the network is not timed for either side's second run
    for label, images_through in (("ganzoo, first", 2 * args.num), ("ganzoo, cached", args.num)):
        chunks = iter(fake.split(args.batch_size))
        start = time.perf_counter()
        ours = evaluator.evaluate(lambda n, seed, labels: next(chunks), Images(real), args.device)
        rows.append((label, time.perf_counter() - start, images_through, next(iter(ours.values()))))

    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
    print(f"\nFID of {args.num} vs {args.num} images, 28 px grey, {network}, batch {args.batch_size}, {device}, "
          f"torch {torch.__version__}, torch-fidelity {torch_fidelity.__version__}\n")
    print("| path | seconds | images through the network | images/s | time / torch-fidelity's | FID |")
    print("|---|---|---|---|---|---|")
    for label, seconds, count, fid in rows:
        print(f"| {label} | {seconds:.2f} | {count} | {count / seconds:.1f} | {seconds / rows[0][1]:.2f} | {fid:.4f} |")


if __name__ == "__main__":
    main()
