"""The cost of precision, recall, density and coverage: seconds and peak memory of N x N samples.

Times :func:`ganzoo.metrics.prdc.precision_recall_density_coverage` (k = 3 and 5) on N real
and N generated random features of D dimensions, on one CPU thread by default, in
blocks of ``--chunk_size`` rows (default: blocks of about 2**23 distances). The peak memory
is the growth of the process's resident set (``VmHWM``, reset before each row through
``/proc/self/clear_refs``) over what it held with the features already made: the
distance blocks and the per-sample tallies, not the features themselves. Linux only.

    python benchmarks/prdc_cost.py                            # 10,000 x 10,000 in 64 and 2048 dims
    python benchmarks/prdc_cost.py --num 1000 10000 --dims 64 --chunk_size 250 1000
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from ganzoo.metrics.prdc import precision_recall_density_coverage


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure(num: int, dims: int, chunk_size) -> tuple[float, float, dict]:
    """(seconds, peak MB above the features, values) of one N x N evaluation."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(num, dims, generator=g), torch.randn(num, dims, generator=g) * 1.1
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    values = precision_recall_density_coverage(real, fake, chunk_size=chunk_size)
    seconds = time.perf_counter() - start
    return seconds, (_status_kb("VmHWM") - before) / 1024, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, nargs="+", default=[10_000], help="samples on each side")
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 2048], help="feature sizes")
    parser.add_argument("--chunk_size", type=int, nargs="+", default=[None], help="rows per block (default: automatic)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)\n")
    print("| N x N | D | chunk | seconds | peak MB | precision | recall | density | coverage |")
    print("|---|---|---|---|---|---|---|---|---|")
    for num in args.num:
        for dims in args.dims:
            for chunk in args.chunk_size:
                seconds, peak, v = measure(num, dims, chunk)
                print(f"| {num:,} x {num:,} | {dims} | {chunk or 'auto'} | {seconds:.1f} | {peak:.0f} | "
                      f"{v['precision']:.3f} | {v['recall']:.3f} | {v['density']:.3f} | {v['coverage']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
