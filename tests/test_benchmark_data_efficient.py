"""benchmarks/data_efficient_mnist.py's own logic on tiny fake results: the arms' overrides, the table and the
share of the gap to full data that an augmentation closes; and the arms parsed through the real CLI. Nothing trains."""
import importlib
import json
from pathlib import Path

import pytest
import yaml

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports its neighbour _common
    return importlib.import_module("data_efficient_mnist")


def fake(arm, seed, fd, score=6.0, p=None, seconds=600.0, steps=20_000):
    return {"arm": arm, "seed": seed, "fd": fd, "classifier_score": score, "augment_p": p, "train_seconds": seconds,
            "generator_steps": steps}


def test_each_arm_sets_the_subset_and_the_augmentation_on_the_command_line(bench):
    assert bench.overrides("full-none") == []
    assert bench.overrides("1%-none") == ["--data.init_args.subset", "0.01", "--data.init_args.subset_seed", "0"]
    extra = bench.overrides("0.2%-ada")
    assert extra[:2] == ["--data.init_args.subset", "0.002"]
    assert json.loads(extra[-1]) == {"class_path": "ganzoo.AdaptiveAugment", "init_args": {"speed_img": 100_000}}
    assert json.loads(bench.overrides("10%-translation")[-1])["init_args"] == {"policy": "translation"}
    assert bench.overrides("0.2%-lecam")[4:] == ["--model.init_args.regularisers", '[{"class_path": "ganzoo.LeCam"}]']
    both = bench.overrides("0.2%-diffaug+lecam")[4:]
    assert both[0::2] == ["--model.init_args.augmentation", "--model.init_args.regularisers"]
    assert json.loads(both[1]) == {"class_path": "ganzoo.DiffAugment"} and json.loads(both[3])[0]["class_path"] == "ganzoo.LeCam"
    bcr = json.loads(bench.overrides("0.2%-bcr")[-1])[0]
    assert bcr["class_path"] == "ganzoo.BalancedConsistency"
    assert bcr["init_args"]["transform"]["init_args"] == {"policy": "translation"}
    assert all(arm.count("-") == 1 and bench.overrides(arm) is not None for arm in bench.ARMS + bench.EXTRA_ARMS)


@pytest.mark.slow
@pytest.mark.parametrize("arm, regulariser, augmentation", [
    ("0.2%-diffaug+lecam", "ganzoo.LeCam", "ganzoo.DiffAugment"),
    ("0.2%-bcr", "ganzoo.BalancedConsistency", None),
])
def test_an_arm_builds_its_model_through_the_real_cli(bench, arm, regulariser, augmentation, capsys):
    from ganzoo.cli import main

    recipe = Path(bench.__file__).parent / "configs" / "dcgan_mnist_w32.yaml"
    with pytest.raises(SystemExit) as done:
        main(["fit", "--config", str(recipe), *bench.overrides(arm), "--print_config"])
    assert done.value.code in (0, None)
    model = yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]
    assert [r["class_path"] for r in model["regularisers"]] == [regulariser]
    assert (model["augmentation"] and model["augmentation"]["class_path"]) == augmentation
    if arm == "0.2%-bcr":  # a flip changes what some digits mean: translation alone
        assert model["regularisers"][0]["init_args"]["transform"]["init_args"]["policy"] == "translation"


def test_the_gap_closed_is_the_share_of_none_minus_full_that_augmentation_removes(bench):
    results = {
        "full-none": [fake("full-none", 0, 20.0)],
        "1%-none": [fake("1%-none", 0, 30.0), fake("1%-none", 1, 32.0)],  # mean 31: a gap of 11
        "1%-diffaug": [fake("1%-diffaug", 0, 25.5), fake("1%-diffaug", 1, 25.5)],  # closes 5.5 of 11
        "1%-ada": [fake("1%-ada", 0, 36.5, p=0.44), fake("1%-ada", 1, 36.5, p=0.5)],  # widens it by 5.5
        "1%-translation": [fake("1%-translation", 1, 27.0)],  # seed 1 alone: closes 5 of seed 1's gap of 12
        "10%-none": [fake("10%-none", 0, 19.0)],  # no gap
        "10%-diffaug": [fake("10%-diffaug", 0, 25.0)],
    }
    assert bench.recovered(results, "1%-diffaug") == "50% (0: 45%, 1: 54%)"  # each seed: 4.5 of 10, 6.5 of 12
    assert bench.recovered(results, "1%-ada") == "-50% (0: -65%, 1: -38%)"
    assert bench.recovered(results, "1%-translation") == "42%"  # against seed 1's 32, not the mean 31 (36%)
    assert bench.recovered(results, "10%-diffaug") == "no gap"
    assert bench.recovered(results, "1%-none") == ""  # no augmentation: nothing to close
    rows = bench.table(results).splitlines()
    assert rows[2].startswith("| 60,000 (all) | none | 1 | 20,000 | 20.00 ± 0.00 |")
    one_percent = next(row for row in rows if row.startswith("| 1% (600) | none"))
    assert "| 2 | 20,000 | 31.00 ± 1.00 |" in one_percent and "0: 30.00 / 6.00, 1: 32.00 / 6.00" in one_percent
    ada = next(row for row in rows if row.startswith("| 1% (600) | ada"))
    assert "| -50% (0: -65%, 1: -38%) | 0.44, 0.50 |" in ada and ada.endswith("| 10.0-10.0 min |  |")  # no copy score given
    copies = bench.table(results, {"full": 0.2, "1%": 1.04}).splitlines()
    assert copies[2].endswith("min | 0.20 |") and all(row.endswith("min | 1.04 |") for row in copies if "| 1% (600) |" in row)
    assert all(row.count("|") == copies[0].count("|") for row in copies)


def test_the_gap_compares_runs_of_the_arms_own_length(bench):
    """An --out holding runs continued with --extend beside shorter ones: each arm is judged against the runs of
    its own length, and an arm whose runs differ in length against none."""
    results = {
        "full-none": [fake("full-none", 1, 15.0), fake("full-none", 1, 12.0, steps=40_000)],
        "0.2%-none": [fake("0.2%-none", 1, 21.0), fake("0.2%-none", 1, 26.0, steps=40_000)],
        "0.2%-diffaug": [fake("0.2%-diffaug", 1, 17.5, steps=40_000)],  # closes 8.5 of 14 at 40,000
        "0.2%-lecam": [fake("0.2%-lecam", 1, 18.0)],  # closes 3 of 6 at 20,000
        "0.2%-ada": [fake("0.2%-ada", 1, 18.0), fake("0.2%-ada", 1, 17.0, steps=40_000)],
        "0.2%-bcr": [fake("0.2%-bcr", 1, 20.0, steps=30_000)],  # nothing else that long
    }
    assert bench.recovered(results, "0.2%-diffaug") == "61%"
    assert bench.recovered(results, "0.2%-lecam") == "50%"
    assert bench.recovered(results, "0.2%-ada") == "runs of different lengths"
    assert bench.recovered(results, "0.2%-bcr") == ""
    ada = next(row for row in bench.table(results).splitlines() if "| ada |" in row)
    assert "| 2 | 20,000 / 40,000 |" in ada


def test_each_seed_gets_its_own_share_of_the_gap_beside_the_mean(bench):
    """The 40,000-step runs of 2026-12-02 (docs/augmentation.md): seed 2 closed 50% and seed 3 68% of their own
    gaps to full data's mean, 61% on the means. A seed whose run without augmentation already scores as full
    data has no gap of its own; an arm with a seed that has no run without augmentation gets the mean alone."""
    full = [fake("full-none", 1, 12.61), fake("full-none", 2, 11.61)]  # mean 12.11
    results = {
        "full-none": full,
        "0.2%-none": [fake("0.2%-none", 2, 22.66), fake("0.2%-none", 3, 29.42), fake("0.2%-none", 4, 12.0)],
        "0.2%-diffaug": [fake("0.2%-diffaug", 2, 17.36), fake("0.2%-diffaug", 3, 17.67)],
        "0.2%-ada": [fake("0.2%-ada", 2, 20.0), fake("0.2%-ada", 4, 13.0)],
        "0.2%-lecam": [fake("0.2%-lecam", 2, 20.0), fake("0.2%-lecam", 5, 20.0)],
    }
    assert bench.recovered(results, "0.2%-diffaug") == "61% (2: 50%, 3: 68%)"
    assert bench.recovered(results, "0.2%-ada") == "16% (2: 25%, 4: no gap)"  # 0.83 of 5.22 on the means
    assert bench.recovered(results, "0.2%-lecam") == "25%"  # seed 5 has no run without augmentation: seed 2's gap
    diffaug = next(row for row in bench.table(results).splitlines() if "| diffaug |" in row)
    assert "| 61% (2: 50%, 3: 68%) |" in diffaug


def test_copy_scores_are_kept_and_not_recomputed(bench, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(bench, "copied", lambda fraction, data_dir: calls.append(fraction) or {"full": 0.2, "1%": 1.0}[fraction])
    assert bench.copy_scores(["full", "1%"], tmp_path, "data") == {"full": 0.2, "1%": 1.0}
    assert bench.copy_scores(["1%"], tmp_path, None) == {"full": 0.2, "1%": 1.0} and calls == ["full", "1%"]
    assert bench.copy_scores(["10%"], tmp_path, None) == {"full": 0.2, "1%": 1.0}  # no data: nothing computed


@pytest.mark.slow
def test_copying_fewer_digits_scores_worse(bench, mnist_dir):
    one_percent, tiny = bench.copied("1%", str(mnist_dir)), bench.copied("0.2%", str(mnist_dir))
    assert 0.5 < one_percent < 2.0 < 3.0 < tiny < 7.0  # measured 1.04 and 4.75
