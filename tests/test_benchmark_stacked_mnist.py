"""benchmarks/stacked_mnist.py's own logic on tiny fake results: the table, the trend, --reuse. Nothing trains."""
import argparse
import importlib
import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports its neighbour _common
    return importlib.import_module("stacked_mnist")


def fake(recipe, seed, modes, kl, steps=6000, seconds=600.0, digit_kl=None):
    result = {"recipe": recipe, "seed": seed, "generator_steps": steps, "modes": modes, "kl": kl,
              "train_seconds": seconds, "trend": []}  # fmt: skip
    return result if digit_kl is None else {**result, "digit_kl": digit_kl}


def test_table_gives_mean_and_standard_error_per_recipe_beside_the_published_rows(bench):
    runs = [fake("pacdcgan2_stacked_mnist", 0, 990.0, 0.10, seconds=540, digit_kl=0.05),
            fake("pacdcgan2_stacked_mnist", 1, 994.0, 0.20, digit_kl=0.10),
            fake("pacdcgan2_stacked_mnist", 2, 998.0, 0.30, seconds=660, digit_kl=0.15)]  # fmt: skip
    rows = bench.table({"dcgan_stacked_mnist": [], "pacdcgan2_stacked_mnist": runs}).splitlines()
    ours = [row for row in rows if "ganzoo" in row]
    assert len(ours) == 1  # a recipe without runs has no row
    # mean 994, s.e. = stdev(4) / sqrt(3) = 2.31; KL mean 0.2, s.e. 0.1 / sqrt(3) = 0.058
    assert "| 3 | 994.0 ± 2.3 | 0.200 ± 0.058 | 0.100 ± 0.029 |" in ours[0]
    assert "0: 990 / 0.100, 1: 994 / 0.200, 2: 998 / 0.300" in ours[0]
    assert "(6000 G steps)" in ours[0] and "| 9.0-11.0 min |" in ours[0]
    published = rows[-4:]
    assert [row.split("|")[1].strip() for row in published] == ["DCGAN", "Unrolled GAN", "VEEGAN", "PacDCGAN2"]
    assert "| 99.0 | 3.40 | |" in published[0] and "| 1000.0 ± 0.0 | 0.06 ± 0.003 | |" in published[3]
    assert all(row.count("|") == rows[0].count("|") for row in rows)
    real = {"modes": 999.0, "kl": 0.0191, "digit_kl": 0.0062, "num_images": 26000}
    with_real = bench.table({"pacdcgan2_stacked_mnist": runs}, real)
    assert with_real.splitlines()[-1] == (
        "| real Stacked MNIST images (26,000, MNIST test digits) | this benchmark | | 999 | 0.019 | 0.006 | | |")


def test_a_single_seed_has_no_spread_and_shortened_runs_show_their_steps(bench):
    row = bench.table({"dcgan_stacked_mnist": [fake("dcgan_stacked_mnist", 0, 512.0, 1.234, steps=2000)]}).splitlines()[2]
    assert "| 512.0 ± 0.0 | 1.234 ± 0.000 |  |" in row and "(2000 G steps)" in row  # no digit KL: an older result
    wide = fake("dcgan_stacked_mnist", 0, 999.0, 0.2)
    wide["fit_args"] = ["--model.init_args.g_width=64"]
    assert "(6000 G steps, --model.init_args.g_width=64)" in bench.table({"dcgan_stacked_mnist": [wide]})


def test_extra_fit_arguments_reach_every_run(bench, monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(bench, "fit", lambda recipe, out, extra, threads, quiet, extend_to: seen.update(
        extra=extra, extend_to=extend_to) or ("ck", 1.0))
    monkeypatch.setattr(bench, "record", lambda recipe, seed, checkpoint, seconds, args, fit_args: seen.update(
        fit_args=fit_args) or {"recipe": recipe})
    args = argparse.Namespace(data_dir="data", max_g_steps=100, fit_arg=["--model.init_args.g_width=64"], out=tmp_path,
                              threads=1, extend=False)
    bench.run("dcgan_stacked_mnist", 3, args)
    assert seen["extra"] == ["--seed_everything", "3", "--data.data_dir", "data", "--max_g_steps", "100",
                             "--model.init_args.g_width=64"]  # fmt: skip
    assert seen["extend_to"] is None and seen["fit_args"] is None  # record takes this invocation's --fit_arg

    # --extend resumes to --max_g_steps, and the result keeps the arguments that made the run, not this call's
    (tmp_path / "dcgan_stacked_mnist_seed3.json").write_text(json.dumps({"fit_args": ["--model.init_args.depth=4"]}))
    bench.run("dcgan_stacked_mnist", 3, argparse.Namespace(**{**vars(args), "extend": True, "fit_arg": []}))
    assert seen["extend_to"] == 100 and seen["fit_args"] == ["--model.init_args.depth=4"]


def test_trend_reads_the_stacked_keys_of_metrics_jsonl(bench, tmp_path):
    lines = [{"generator_steps": 2000, "modes_covered_26k": 400.0, "mode_kl_26k": 1.5, "epoch": 2},  # older: no digit KL
             {"generator_steps": 3000, "fd_mnist_10k_train": 3.0},  # another metric's record is skipped
             {"generator_steps": 4000, "modes_covered_26k": 700.0, "mode_kl_26k": 0.5, "digit_kl_26k": 0.25}]  # fmt: skip
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert bench.trend(tmp_path) == [
        {"generator_steps": 2000, "modes": 400.0, "kl": 1.5, "digit_kl": None},
        {"generator_steps": 4000, "modes": 700.0, "kl": 0.5, "digit_kl": 0.25},
    ]
    assert bench.trend(tmp_path / "absent") == []
    result = fake("dcgan_stacked_mnist", 3, 700.0, 0.5)
    result["trend"] = bench.trend(tmp_path)
    assert bench.trend_lines({"dcgan_stacked_mnist": [result]}) == [
        "dcgan_stacked_mnist seed 3, G step: modes / KL during training: 2000: 400 / 1.500, "
        "4000: 700 / 0.500 (digits 0.250)"
    ]


def test_reuse_reads_finished_runs_and_names_the_missing_ones(bench, tmp_path):
    (tmp_path / "dcgan_stacked_mnist_seed0.json").write_text(json.dumps(fake("dcgan_stacked_mnist", 0, 100.0, 3.0)))
    args = argparse.Namespace(recipes=list(bench.RECIPES), seeds=[0, 1], reuse=True, out=tmp_path)
    results, missing = bench.collect(args.recipes, args.seeds, args.out, args.reuse, None, args)
    assert [r["modes"] for r in results["dcgan_stacked_mnist"]] == [100.0]
    assert results["pacdcgan2_stacked_mnist"] == []
    assert missing == ["dcgan_stacked_mnist_seed1.json", "pacdcgan2_stacked_mnist_seed0.json",
                       "pacdcgan2_stacked_mnist_seed1.json", "dcgan_hinge_stacked_mnist_seed0.json",
                       "dcgan_hinge_stacked_mnist_seed1.json"]  # fmt: skip
