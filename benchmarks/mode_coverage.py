"""Mode coverage on the 2-D mixtures, over seeds, beside the published figures.

Trains ``vanilla_ring8`` (Ring2D: 8 Gaussians, std 0.01, on the unit circle) and
``vanilla_grid25`` (Grid2D: 25 Gaussians, std 0.05, at {-4, -2, 0, 2, 4}^2) through
``ganzoo fit`` once per seed, then loads each run's last checkpoint and scores it
with the datamodule's ``evaluate`` (``ganzoo.metrics.toy.mode_coverage``), the
protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) as ganzoo
implements it:

- 2,500 samples from G (``num_eval_samples``; latent codes drawn with seed 0, the
  codes of the runs' own validations);
- a sample is *high quality* when its distance to the nearest mode centre is at
  most 3 standard deviations of the modes (0.03 on the ring, 0.15 on the grid);
- a mode is *covered* when it is the nearest centre of at least one high-quality sample;
- ``KL`` is KL(p || uniform) = sum_k p_k log(K p_k) of the histogram p of the
  high-quality samples over the K modes (0 for perfect balance, log K for one mode).

Samples of the target itself give K modes, 98.89% high quality (1 - exp(-4.5),
the Rayleigh probability of a radius within 3 std) and KL 0. The table gives mean
± standard error over the seeds. The published rows were not re-run here: they
come from the papers' own networks and training.

Each run's result is kept in ``<out>/<recipe>_seed<S>.json``; ``--reuse`` prints
the table from those files without training, so runs may be made by separate
invocations (one seed or recipe each) and reported together.

    python benchmarks/mode_coverage.py                                   # both recipes, seeds 0-4, one after the other
    python benchmarks/mode_coverage.py --recipes vanilla_grid25 --seeds 3 4
    python benchmarks/mode_coverage.py --reuse                           # the table of finished runs
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from _common import cell, check_jobs, collect, fit, machine, training_parser

RECIPES = {"vanilla_ring8": "Ring2D, 8 modes", "vanilla_grid25": "Grid2D, 25 modes"}
METRICS = ("modes", "high_quality", "mode_kl")
#: published (target, method, source, modes, % high quality); KL is not quoted
PUBLISHED = {
    "vanilla_grid25": [
        ("GAN", "PacGAN (Lin et al. 2018), Table 1", 17.3, 94.8),
        ("PacGAN4", "PacGAN (Lin et al. 2018), Table 1", 24.8, 93.6),
    ],
}


def score(checkpoint: Path) -> dict:
    """The datamodule's metrics of the checkpoint's G on ``num_eval_samples`` samples from seed-0 codes."""
    from ganzoo import GANModule
    from ganzoo.evaluate import load_datamodule

    module = GANModule.load_from_checkpoint(checkpoint, map_location="cpu")
    datamodule = load_datamodule(str(checkpoint))
    datamodule.setup("fit")
    samples = module.generate(datamodule.num_eval_samples, seed=0).float().cpu()
    return {
        "generator_steps": module.g_steps,
        "num_samples": datamodule.num_eval_samples,
        "num_modes": datamodule.num_modes,
        "metrics": {key: float(value) for key, value in datamodule.evaluate(samples).items()},
        "target": datamodule.target_metrics(),
    }


def run(recipe: str, seed: int, args: argparse.Namespace) -> dict:
    checkpoint, seconds = fit(recipe, args.out / f"{recipe}_seed{seed}", ["--seed_everything", str(seed)], args.threads, quiet=True)
    result = {"recipe": recipe, "seed": seed, "checkpoint": str(checkpoint), "train_seconds": seconds, **score(checkpoint)}
    # DistributionMonitor scored the same G at the end of training, from the same codes: the two must agree
    final = checkpoint.parent.parent / "final_metrics.json"
    if final.exists():
        result["final_metrics_json"] = json.loads(final.read_text())["metrics"]
        if any(not math.isclose(result["metrics"][k], result["final_metrics_json"][k], abs_tol=1e-9) for k in METRICS):
            print(f"warning: {recipe} seed {seed}: the checkpoint gives {result['metrics']}, "
                  f"final_metrics.json {result['final_metrics_json']}")
    (args.out / f"{recipe}_seed{seed}.json").write_text(json.dumps(result, indent=2))
    print(f"{recipe} seed {seed}: {result['metrics']} in {seconds:.0f} s", flush=True)
    return result


def table(results: dict[str, list[dict]]) -> str:
    rows = [
        "| target | generator | source | runs | modes covered | high quality | KL to uniform | train time per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for recipe, runs in results.items():
        if not runs:
            continue
        values = {key: [r["metrics"][key] for r in runs] for key in METRICS}
        times = [r["train_seconds"] for r in runs]
        seeds = ", ".join(str(r["seed"]) for r in runs)
        k = runs[0]["num_modes"]
        rows.append(
            f"| {RECIPES[recipe]} | ganzoo `{recipe}` ({runs[0]['generator_steps']} G steps) | this benchmark, seeds {seeds} | "
            f"{len(runs)} | {cell(values['modes'], 1)} / {k} | {cell(values['high_quality'], 1, '%')} | "
            f"{cell(values['mode_kl'], 3)} | {min(times):.0f}-{max(times):.0f} s |"
        )
        for method, source, modes, quality in PUBLISHED.get(recipe, []):
            rows.append(f"| {RECIPES[recipe]} | {method} | {source} | | {modes} / {k} | {quality}% | not quoted | |")
        target = runs[0]["target"]
        rows.append(
            f"| {RECIPES[recipe]} | samples of the target | expected value | | {target['modes']:.0f} / {k} | "
            f"{target['high_quality']:.1f}% | {target['mode_kl']:.0f} | |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = training_parser(__doc__, RECIPES, RECIPES, "bench_modes", seeds=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    check_jobs(parser, args)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    results, missing = collect(args.recipes, args.seeds, args.out, args.reuse, run, args)
    print()
    for recipe, runs in results.items():
        for key in METRICS:
            if runs:
                seeds = " / ".join(str(r["seed"]) for r in runs)
                values = " / ".join(f"{r['metrics'][key]:.4g}" for r in runs)
                print(f"{recipe} {key}, seeds {seeds}: {values}")
    print(f"\n{machine(args.threads)}")
    print(f"Command: python benchmarks/mode_coverage.py --recipes {' '.join(args.recipes)} "
          f"--seeds {' '.join(map(str, args.seeds))} --threads {args.threads}")
    if missing:
        print(f"Not run yet (left out of the table): {', '.join(missing)}")
    print(
        "Protocol: 2,500 samples per run (latent codes of seed 0); high quality = within 3 std of the nearest mode "
        "centre; a mode is covered when it is the nearest centre of >= 1 high-quality sample; KL = KL(p || uniform) "
        "of the high-quality samples' histogram over the modes; mean ± standard error over the seeds.\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
