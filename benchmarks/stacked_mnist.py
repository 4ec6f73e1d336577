"""Stacked MNIST over seeds: DCGAN and PacDCGAN2 beside PacGAN's Table 2.

Trains ``dcgan_stacked_mnist``, ``pacdcgan2_stacked_mnist`` (the same recipe with a
packing D, ``d_pack: 2``) and ``dcgan_hinge_stacked_mnist`` (the same networks trained
with the hinge loss, a spectral-norm D and two D steps per G step) through ``ganzoo fit``
once per seed, then scores each run's
last checkpoint with ``ganzoo evaluate --metrics stacked_modes``, the protocol of VEEGAN
(Srivastava et al. 2017) and PacGAN (Lin et al. 2018) as ganzoo implements it:

- 26,000 samples from G (latent codes of seed 0);
- each channel read by ganzoo's MNIST classifier (99.62% on the test digits), so a
  sample's mode is ``100 d_R + 10 d_G + d_B``, one of 1,000;
- *modes*: the modes with at least one sample; *KL*: KL(q || uniform) of the samples'
  mode histogram q (0 when balanced, log 1000 = 6.91 for a single mode);
- *digit KL*: the part of KL due to each channel's own digit histogram (ganzoo's
  ``digit_kl``); the rest is dependence between the channels. A G that draws ambiguous
  strokes, read as a few favourite digits, has most of its KL here; one that drops digit
  combinations has little.

The table gives mean ± standard error over the seeds, the per-seed values and the
training time, beside the published rows; those come from the papers' own networks
and training and were not re-run here. A last row scores 26,000 real Stacked MNIST
images (triples of MNIST test digits): what a G that matched the data would get,
since 26,000 draws over 1,000 equally likely modes leave a KL of about 0.02 by chance. The trend of each run (modes and KL at each of
the recipe's ``ImageMetrics`` evaluations, from its ``metrics.jsonl``) is printed too.

Each run's result is kept in ``<out>/<recipe>_seed<S>.json``; ``--reuse`` prints the
table from those files without training, so runs may be made by separate invocations
(one seed or recipe each, or on another machine) and reported together. ``--extend`` with a
longer ``--max_g_steps`` resumes the runs already in ``--out`` from their ``last.ckpt`` (each with
the arguments that made it) and scores them again; its train time counts both legs.

    python benchmarks/stacked_mnist.py --data_dir ../shared/data                  # the three recipes, seeds 0 1 2
    python benchmarks/stacked_mnist.py --data_dir ../shared/data --recipes pacdcgan2_stacked_mnist --seeds 3 4
    python benchmarks/stacked_mnist.py --reuse                                    # the table of finished runs
    python benchmarks/stacked_mnist.py --data_dir ../shared/data --jobs 2         # two runs at once, logs in --out
    python benchmarks/stacked_mnist.py --data_dir ../shared/data --max_g_steps 20000 --extend  # the same runs, longer
    python benchmarks/stacked_mnist.py --data_dir ../shared/data --recipes dcgan_stacked_mnist pacdcgan2_stacked_mnist \
        --max_g_steps 200000 --seeds 0 1 2 3 4 5 6 7 8 9 \
        --fit_arg=--model.init_args.g_width=64 --fit_arg=--model.init_args.d_width=64 \
        --fit_arg=--model.init_args.depth=4 --fit_arg=--model.init_args.kernel_size=5 --fit_arg=--model.init_args.prior=uniform \
        --fit_arg=--model.init_args.g_steps_per_d_step=2 --fit_arg=--data.init_args.num_train=128000 --out runs/stacked_pacgan \
        --jobs 10
        # PacGAN's code: DCGAN-TensorFlow's networks at widths 64 (four 5x5 stride-2 layers, 2x2 maps of 512
        # channels), z ~ U(-1, 1), two G updates per D update, 50 epochs of 128,000 triples (a GPU job)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional

from _common import cell, collect, fit, machine, parse_training_args, training_parser

RECIPES = {"dcgan_stacked_mnist": "DCGAN", "pacdcgan2_stacked_mnist": "PacDCGAN2", "dcgan_hinge_stacked_mnist": "DCGAN, hinge"}
NUM_FAKE = 26_000
MODES, KL, DIGIT_KL = (f"{key}_{NUM_FAKE // 1000}k" for key in ("modes_covered", "mode_kl", "digit_kl"))
SOURCE = "PacGAN (Lin et al. 2018), Table 2"
#: (method, modes, KL, note), as printed in the source
PUBLISHED = [
    ("DCGAN", "99.0", "3.40", ""),
    ("Unrolled GAN", "48.7", "4.32", ""),
    ("VEEGAN", "150.0", "2.95", ""),
    ("PacDCGAN2", "1000.0 ± 0.0", "0.06 ± 0.003", "10 trials"),
]


def score(checkpoint: Path, args: argparse.Namespace, output: Path) -> dict:
    """``ganzoo evaluate --metrics stacked_modes`` on ``NUM_FAKE`` samples of the checkpoint's G."""
    from ganzoo.evaluate import main as evaluate

    return evaluate([
        str(checkpoint), "--metrics", "stacked_modes", "--classifier", "mnist", "--num_fake", str(NUM_FAKE),
        "--data_dir", args.data_dir, "--device", args.device, "--output", str(output),
    ])  # fmt: skip


def trend(run_dir: Path) -> list[dict]:
    """Modes and KL at each of the run's ``ImageMetrics`` evaluations (``<run dir>/metrics.jsonl``)."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{"generator_steps": r["generator_steps"], "modes": r[MODES], "kl": r[KL], "digit_kl": r.get(DIGIT_KL)}
            for r in records if MODES in r]


def record(recipe: str, seed: int, checkpoint: Path, seconds: float, args: argparse.Namespace,
           fit_args: Optional[list[str]] = None) -> dict:
    """Scores a finished run and writes ``<out>/<recipe>_seed<seed>.json``; returns what it wrote. ``fit_args``:
    the ``--fit_arg`` that made the run, when not this invocation's."""
    report = score(checkpoint, args, args.out / f"{recipe}_seed{seed}_metrics.json")
    result = {
        "recipe": recipe, "seed": seed, "checkpoint": str(checkpoint), "train_seconds": seconds,
        "generator_steps": report["generator_steps"], "modes": report["metrics"][MODES], "kl": report["metrics"][KL],
        "digit_kl": report["metrics"][DIGIT_KL], "fit_args": list(args.fit_arg if fit_args is None else fit_args),
        "num_fake": NUM_FAKE, "trend": trend(checkpoint.parent.parent),
    }  # fmt: skip
    (args.out / f"{recipe}_seed{seed}.json").write_text(json.dumps(result, indent=2))
    print(f"{recipe} seed {seed}: {result['modes']:.0f} modes, KL {result['kl']:.3f} (digits {result['digit_kl']:.3f}) "
          f"in {seconds:.0f} s", flush=True)
    return result


def reference(data_dir: str, count: int = NUM_FAKE) -> dict:
    """Modes and KL of ``count`` real Stacked MNIST images (triples of MNIST test digits, seed 0)."""
    from ganzoo import StackedMNISTDataModule
    from ganzoo.metrics.domain import load_domain_classifier, stacked_mnist_modes

    data = StackedMNISTDataModule(data_dir=data_dir, batch_size=1, num_train=1, num_val=count, seed=0)
    data.setup("fit")
    images = data.splits["val"].images.float() / 127.5 - 1
    modes = stacked_mnist_modes(load_domain_classifier("mnist"), images)
    return {"modes": modes["modes_covered"], "kl": modes["mode_kl"], "digit_kl": modes["digit_kl"], "num_images": count}


def run(recipe: str, seed: int, args: argparse.Namespace) -> dict:
    extra = ["--seed_everything", str(seed), "--data.data_dir", args.data_dir]
    if args.max_g_steps:
        extra += ["--max_g_steps", str(args.max_g_steps)]
    extra += args.fit_arg
    previous = args.out / f"{recipe}_seed{seed}.json"
    made_by = json.loads(previous.read_text())["fit_args"] if args.extend and previous.exists() else None
    checkpoint, seconds = fit(recipe, args.out / f"{recipe}_seed{seed}", extra, args.threads, quiet=True,
                              extend_to=args.max_g_steps if args.extend else None)
    return record(recipe, seed, checkpoint, seconds, args, made_by)  # an extended run keeps the arguments that made it


def table(results: dict[str, list[dict]], real: Optional[dict] = None) -> str:
    """The Markdown table: one row per recipe with runs (mean ± s.e. over its seeds), the published rows, and
    ``real`` (:func:`reference`'s result) when given."""
    rows = [
        "| generator | source | runs | modes (of 1,000) | KL to uniform | of which digits | per seed: modes / KL "
        "| train time per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for recipe, runs in results.items():
        if not runs:
            continue
        steps = sorted({r["generator_steps"] for r in runs})
        per_seed = ", ".join(f"{r['seed']}: {r['modes']:.0f} / {r['kl']:.3f}" for r in runs)
        times = [r["train_seconds"] / 60 for r in runs]
        changed = sorted({arg for r in runs for arg in r.get("fit_args", [])})
        rows.append(
            f"| ganzoo `{recipe}` ({'/'.join(map(str, steps))} G steps{''.join(', ' + a for a in changed)}) | this benchmark, seeds "
            f"{', '.join(str(r['seed']) for r in runs)} | {len(runs)} | {cell([r['modes'] for r in runs], 1)} | "
            f"{cell([r['kl'] for r in runs], 3)} | {_digit_cell(runs)} | {per_seed} | {min(times):.1f}-{max(times):.1f} min |"
        )
    for method, modes, kl, note in PUBLISHED:
        rows.append(f"| {method} | {SOURCE}{', ' + note if note else ''} | | {modes} | {kl} | | | |")
    if real:
        digits = f"{real['digit_kl']:.3f}" if "digit_kl" in real else ""  # empty for a file from before digit_kl
        rows.append(f"| real Stacked MNIST images ({real['num_images']:,}, MNIST test digits) | this benchmark | | "
                    f"{real['modes']:.0f} | {real['kl']:.3f} | {digits} | | |")
    return "\n".join(rows)


def _digit_cell(runs: list[dict]) -> str:
    """``digit_kl``'s mean ± s.e. over the runs, empty when a run predates it."""
    values = [r.get("digit_kl") for r in runs]
    return "" if None in values else cell(values, 3)


def trend_lines(results: dict[str, list[dict]]) -> list[str]:
    """One line per run: modes / KL at each evaluation during training."""
    lines = []
    for recipe, runs in results.items():
        for r in runs:
            if r.get("trend"):
                points = ", ".join(
                    f"{t['generator_steps']}: {t['modes']:.0f} / {t['kl']:.3f}"
                    + (f" (digits {t['digit_kl']:.3f})" if t.get("digit_kl") is not None else "")
                    for t in r["trend"]
                )
                lines.append(f"{recipe} seed {r['seed']}, G step: modes / KL during training: {points}")
    return lines


def main() -> None:
    p = training_parser(__doc__, RECIPES, RECIPES, "bench_stacked", seeds=[0, 1, 2], data_dir=True, steps=True)
    p.add_argument("--fit_arg", action="append", default=[], metavar="ARG",
                   help="one more ganzoo fit argument for every run, repeatable, written with '=': "
                        "--fit_arg=--model.init_args.g_width=64 (use a fresh --out for such runs)")
    p.add_argument("--device", default="auto", help="where the 26,000 samples are scored: cpu, cuda or auto")
    args = parse_training_args(p)
    results, missing = collect(args.recipes, args.seeds, args.out, args.reuse, run, args)
    print()
    print("\n".join(trend_lines(results)))
    print(f"\n{machine(args.threads)}")
    steps = f" --max_g_steps {args.max_g_steps}" if args.max_g_steps else ""
    steps += "".join(f" --fit_arg={arg}" for arg in args.fit_arg)
    print(f"Command: python benchmarks/stacked_mnist.py --data_dir {args.data_dir or '<dir>'} --recipes {' '.join(args.recipes)} "
          f"--seeds {' '.join(map(str, args.seeds))} --threads {args.threads}{steps}")
    if missing:
        print(f"Not run yet (left out of the table): {', '.join(missing)}")
    print(f"Protocol: {NUM_FAKE:,} samples per run (latent codes of seed 0), each channel read by ganzoo's MNIST "
          "classifier; modes = modes of 1,000 with >= 1 sample; KL = KL(q || uniform) of the mode histogram; "
          "mean ± standard error over the seeds.\n")
    real_file = args.out / "real_stacked_mnist.json"
    real = json.loads(real_file.read_text()) if real_file.exists() else None
    if (real is None or "digit_kl" not in real) and args.data_dir is not None:  # none yet, or from before digit_kl
        real = reference(args.data_dir)
        real_file.write_text(json.dumps(real, indent=2))
    print(table(results, real))


if __name__ == "__main__":
    main()
