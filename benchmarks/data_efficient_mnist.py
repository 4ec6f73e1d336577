"""Data-efficient MNIST: DCGAN on 1% and 10% of the training digits, without and with augmentation.

The experiment of DiffAugment (Zhao et al. 2020) and ADA (Karras et al. 2020) on the data we
have: the recipe (``dcgan_mnist`` by default) is trained through ``ganzoo fit`` on

- all 60,000 training digits (``full``);
- a subset of 10% (6,000) or 1% (600) digits (or, asked for with ``--arms``, 0.2%: 120) (``--data.init_args.subset``, drawn with
  ``subset_seed`` 0, so every arm and seed of a fraction sees the same digits and the 1%
  digits lie inside the 10%), each
  - without augmentation (``none``),
  - with DiffAugment (``diffaug``: colour, translation and cutout on every image D sees, in
    both players' steps, p = 1),
  - with ADA's adaptive probability (``ada``: the same ops, p driven by
    r_t = E[sign(D(real))] towards the target 0.6; ``speed_img`` 100,000 so that p can
    reach 1 within these short runs, where ADA's 500,000 images suit runs of millions),
  - (asked for with ``--arms``) with DiffAugment's translation alone (``translation``), and, on 120
    digits, with the LeCam regulariser (Tseng et al. 2021; weight 0.3) alone (``lecam``) and beside
    DiffAugment (``diffaug+lecam``), and with balanced consistency regularisation (Zhao et al. 2020;
    weights 10, its transform translation alone) (``bcr``).

Each run is scored by ``ganzoo evaluate`` against the 10,000 **test** digits, which no
arm trained on (a subset run's own training digits would reward memorising them):
``fd_mnist`` (Fréchet distance in ganzoo's MNIST classifier's features) and its
``classifier_score`` (at most 10), on 10,000 samples of G's moving average when the recipe
keeps one. The table gives mean ± standard error over the seeds, the per-seed values, and
each arm's gap to full data that augmentation recovers: ``(FD(none) - FD(aug)) / (FD(none)
- FD(full))``, each a mean over seeds, FD(none) over the arm's own seeds; beside it, each seed's own share,
its FD(none) and FD(aug) against the same mean FD(full): ``61% (2: 50%, 3: 68%)``.

A last column scores each fraction's own training digits, 10,000 draws of them with
replacement, the same way: what a G that copied its digits exactly would get. Where a run
scores far above it, the data is not what limits the run, and there is no gap for
augmentation to close, whatever the fraction.

Each run's result is kept in ``<out>/<arm>_seed<S>.json``; ``--reuse`` prints the table
from those files without training, so arms may be run by separate invocations. ``--extend`` with a
longer ``--max_g_steps`` resumes the runs already in ``--out`` from their ``last.ckpt`` and scores
them again (the train time counts both legs): the same runs, longer, without starting over.

    python benchmarks/data_efficient_mnist.py --data_dir ../shared/data                       # every arm, seeds 0 1
    python benchmarks/data_efficient_mnist.py --data_dir ../shared/data --arms 1%-none 1%-diffaug --seeds 2
    python benchmarks/data_efficient_mnist.py --reuse                                         # the table of finished runs
    python benchmarks/data_efficient_mnist.py --data_dir ../shared/data --max_g_steps 20000 --extend  # those runs, longer
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional

import torch

from _common import cell, collect, fit, machine, parse_training_args, training_parser

FRACTIONS = {"full": None, "10%": 0.1, "1%": 0.01, "0.2%": 0.002}
AUGMENTATIONS = {
    "none": None,
    "diffaug": {"class_path": "ganzoo.DiffAugment"},
    "ada": {"class_path": "ganzoo.AdaptiveAugment", "init_args": {"speed_img": 100_000}},
    "translation": {"class_path": "ganzoo.DiffAugment", "init_args": {"policy": "translation"}},
}
#: regularisers an arm may add to its augmentation with ``+`` (``0.2%-diffaug+lecam``): LeCam, the paper's
#: remedy for a D that memorises limited data, at its default weight 0.3; balanced consistency (bCR) at its
#: default weights 10, its transform translation alone (a flip changes what some digits mean)
REGULARISERS = {
    "lecam": [{"class_path": "ganzoo.LeCam"}],
    "bcr": [{"class_path": "ganzoo.BalancedConsistency",
             "init_args": {"transform": {"class_path": "ganzoo.DiffAugment", "init_args": {"policy": "translation"}}}}],
}
#: the arms in table order: full data without augmentation, then each fraction with each augmentation
ARMS = ["full-none"] + [f"{fraction}-{aug}" for fraction in ("10%", "1%") for aug in ("none", "diffaug", "ada")]
#: arms run only when asked for (``--arms``): DiffAugment's translation alone, and 120 digits, where D overfits
#: early, with each augmentation, with LeCam alone and beside DiffAugment, and with bCR
EXTRA_ARMS = ([f"{fraction}-translation" for fraction in ("10%", "1%")] + [f"0.2%-{aug}" for aug in AUGMENTATIONS]
              + ["0.2%-lecam", "0.2%-diffaug+lecam", "0.2%-bcr"])


def overrides(arm: str) -> list[str]:
    """The ``ganzoo fit`` arguments that make an arm of the recipe: ``<fraction>-<treatment>``, where the
    treatment is ``none``, an augmentation, a regulariser, or an augmentation and a regulariser joined by ``+``."""
    fraction, treatment = arm.split("-")
    extra = []
    if FRACTIONS[fraction] is not None:
        extra += ["--data.init_args.subset", str(FRACTIONS[fraction]), "--data.init_args.subset_seed", "0"]
    for part in treatment.split("+"):
        if part in REGULARISERS:
            extra += ["--model.init_args.regularisers", json.dumps(REGULARISERS[part])]
        elif AUGMENTATIONS[part] is not None:
            extra += ["--model.init_args.augmentation", json.dumps(AUGMENTATIONS[part])]
    return extra


def score(checkpoint: Path, args: argparse.Namespace, output: Path) -> dict:
    """``fd_classifier`` and ``classifier_score`` of 10,000 samples against the 10,000 test digits."""
    from ganzoo.commands.evaluate import main as evaluate

    return evaluate([
        str(checkpoint), "--metrics", "fd_classifier", "classifier_score", "--classifier", "mnist",
        "--split", "test", "--num_fake", "10000", "--data_dir", args.data_dir, "--device", "cpu",
        "--output", str(output),
    ])  # fmt: skip


def value(metrics: dict, prefix: str) -> float:
    """The one value whose key starts with ``prefix`` (keys carry the protocol, e.g. ``fd_mnist_10k_test``)."""
    found = [v for k, v in metrics.items() if k.startswith(prefix)]
    if len(found) != 1:
        raise KeyError(f"expected one metric starting with {prefix!r} in {sorted(metrics)}")
    return float(found[0])


def augment_p(checkpoint: Path) -> float | None:
    """ADA's p at the end of the run, from the checkpoint (its buffer ``level`` is p x ``speed_img``); ``None``
    without ADA."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    level = state["state_dict"].get("augmentation.level")
    if level is None:
        return None
    settings = state["hyper_parameters"].get("augmentation") or {}
    return float(level) / settings.get("init_args", {}).get("speed_img", 500_000)


def copied(fraction: str, data_dir: str, count: int = 10_000, batch_size: int = 500) -> float:
    """fd_mnist (test) of ``count`` draws, with replacement (seed 0), of the fraction's own training digits."""
    from ganzoo import MNISTDataModule
    from ganzoo.metrics.evaluator import ImageEvaluator

    data = MNISTDataModule(data_dir=data_dir, batch_size=32, subset=FRACTIONS[fraction], subset_seed=0)
    data.setup("fit")
    images = data.splits["train"].images
    picks = torch.randint(len(images), (count,), generator=torch.Generator().manual_seed(0))
    chunks = iter((images[picks].float() / 127.5 - 1).split(batch_size))
    evaluator = ImageEvaluator(["fd_classifier"], classifier="mnist", split="test", num_fake=count,
                               batch_size=batch_size, use_cache=False)
    return value(evaluator.evaluate(lambda n, seed, labels: next(chunks), data), "fd_")


def copy_scores(fractions: list[str], out: Path, data_dir: str | None) -> dict[str, float]:
    """:func:`copied` of each fraction, kept in ``<out>/copied_digits.json``; computed only with ``data_dir``."""
    path = out / "copied_digits.json"
    scores = json.loads(path.read_text()) if path.exists() else {}
    missing = [f for f in fractions if f not in scores]
    if missing and data_dir is not None:
        scores.update({fraction: copied(fraction, data_dir) for fraction in missing})
        path.write_text(json.dumps(scores, indent=2))
    return scores


def run(arm: str, seed: int, args: argparse.Namespace) -> dict:
    extra = ["--seed_everything", str(seed), "--data.data_dir", args.data_dir, *overrides(arm)]
    if args.max_g_steps:
        extra += ["--max_g_steps", str(args.max_g_steps)]
    checkpoint, seconds = fit(args.recipe, args.out / f"{arm}_seed{seed}", extra, args.threads, quiet=True,
                              extend_to=args.max_g_steps if args.extend else None)
    report = score(checkpoint, args, args.out / f"{arm}_seed{seed}_metrics.json")
    result = {
        "arm": arm, "seed": seed, "recipe": args.recipe, "checkpoint": str(checkpoint), "train_seconds": seconds,
        "generator_steps": report["generator_steps"], "fd": value(report["metrics"], "fd_"),
        "classifier_score": value(report["metrics"], "classifier_score"), "augment_p": augment_p(checkpoint),
    }  # fmt: skip
    (args.out / f"{arm}_seed{seed}.json").write_text(json.dumps(result, indent=2))
    print(f"{arm} seed {seed}: fd_mnist {result['fd']:.2f}, classifier score {result['classifier_score']:.2f} "
          f"in {seconds:.0f} s", flush=True)
    return result


def recovered(results: dict[str, list[dict]], arm: str) -> str:
    """The share of the gap to full data that the arm's augmentation closes, from the seeds' mean FDs, and with
    two seeds or more, each of them with a run without augmentation, each seed's own share beside it,
    ``61% (2: 50%, 3: 68%)``: that seed's run without augmentation minus the arm's, over the same run minus
    full data's mean. The fraction without augmentation counts only the seeds the arm has (all of its seeds
    when it shares none), so that an arm with fewer seeds is not judged against other seeds' luck: on 120
    digits they differ by 2. Only runs as long as the arm's count (a run continued with ``--extend`` beside
    others that were not): none when the arm's own runs differ in length."""
    fraction, aug = arm.split("-")
    base, full, own = results.get(f"{fraction}-none"), results.get("full-none"), results.get(arm)
    if aug == "none" or fraction == "full" or not (base and full and own):
        return ""
    lengths = {r.get("generator_steps") for r in own}
    if len(lengths) > 1:
        return "runs of different lengths"
    # runs of other lengths (an --out that holds runs continued with --extend) are no reference
    base, full = ([r for r in runs if r.get("generator_steps") in lengths] for runs in (base, full))
    if not (base and full):
        return ""
    seeds = {r["seed"] for r in own}
    base = [r for r in base if r["seed"] in seeds] or base
    mean = lambda runs: sum(r["fd"] for r in runs) / len(runs)  # noqa: E731
    reference = mean(full)

    def share(without: float, with_aug: float) -> str:
        return f"{100 * (without - with_aug) / (without - reference):.0f}%" if without > reference else "no gap"

    closed = share(mean(base), mean(own))
    without = {r["seed"]: r["fd"] for r in base}
    if len(own) > 1 and all(r["seed"] in without for r in own):
        closed += " (" + ", ".join(f"{r['seed']}: {share(without[r['seed']], r['fd'])}" for r in own) + ")"
    return closed


def table(results: dict[str, list[dict]], copies: Optional[dict[str, float]] = None) -> str:
    """The Markdown table: one row per arm with runs, their lengths in G steps, mean ± s.e. over its seeds, and (from ``copies``,
    :func:`copy_scores`) what copying the arm's training digits scores."""
    copies = copies or {}
    rows = [
        "| training digits | augmentation (+ regulariser) | runs | G steps | fd_mnist (test) | classifier score "
        "| per seed: fd / score | gap to full data closed | ADA's final p | train time per run | its digits copied: fd_mnist |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, runs in results.items():
        if not runs:
            continue
        fraction, aug = arm.split("-")
        digits = "60,000 (all)" if fraction == "full" else f"{fraction} ({round(60_000 * FRACTIONS[fraction]):,})"
        per_seed = ", ".join(f"{r['seed']}: {r['fd']:.2f} / {r['classifier_score']:.2f}" for r in runs)
        ps = [r["augment_p"] for r in runs if r.get("augment_p") is not None]
        times = [r["train_seconds"] / 60 for r in runs]
        lengths = " / ".join(f"{n:,}" for n in sorted({r["generator_steps"] for r in runs if "generator_steps" in r}))
        rows.append(
            f"| {digits} | {aug} | {len(runs)} | {lengths} | {cell([r['fd'] for r in runs], 2)} | "
            f"{cell([r['classifier_score'] for r in runs], 2)} | {per_seed} | {recovered(results, arm)} | "
            f"{', '.join(f'{p:.2f}' for p in ps)} | {min(times):.1f}-{max(times):.1f} min | "
            f"{f'{copies[fraction]:.2f}' if fraction in copies else ''} |"
        )
    return "\n".join(rows)


def main() -> None:
    p = training_parser(__doc__, ARMS + EXTRA_ARMS, ARMS, "bench_data_efficient", seeds=[0, 1], choice="arms",
                        data_dir=True, steps=True)
    p.add_argument("--recipe", default="dcgan_mnist", help="a recipe of zoo_configs/ (or a YAML file's path)")
    args = parse_training_args(p)
    arms = [arm for arm in ARMS + EXTRA_ARMS if arm in args.arms]
    results, missing = collect(arms, args.seeds, args.out, args.reuse, run, args)
    print(f"\n{machine(args.threads)}")
    steps = f" --max_g_steps {args.max_g_steps}" if args.max_g_steps else ""
    print(f"Command: python benchmarks/data_efficient_mnist.py --data_dir {args.data_dir or '<dir>'} --recipe {args.recipe} "
          f"--arms {' '.join(arms)} --seeds {' '.join(map(str, args.seeds))}{steps}")
    if missing:
        print(f"Not run yet (left out of the table): {', '.join(missing)}")
    print("Protocol: 10,000 samples per run (latent codes of seed 0) against the 10,000 MNIST test digits, in ganzoo's "
          "MNIST classifier's features; mean ± standard error over the seeds.\n")
    fractions = list(dict.fromkeys(arm.split("-")[0] for arm, runs in results.items() if runs))
    print(table(results, copy_scores(fractions, args.out, args.data_dir)))


if __name__ == "__main__":
    main()
