"""The benchmark scripts' ``--extend``: runs already in ``--out`` resume from their ``last.ckpt`` to a longer
``--max_g_steps`` (a real ``ganzoo fit``, tiny), and only the runs short of it train again."""
import argparse
import importlib
import json
import sys
from pathlib import Path

import pytest
from helpers import g_steps_in

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("_common")


@pytest.mark.slow
def test_an_extended_run_resumes_in_its_own_directory_and_counts_both_legs(common, tmp_path):
    save_dir = tmp_path / "vanilla_gaussian1d_seed0"
    first, seconds = common.fit("vanilla_gaussian1d", save_dir, ["--max_g_steps", "4", "--seed_everything", "3"], 1, quiet=True)
    assert g_steps_in(first) == 4 and json.loads((save_dir / "fit_seconds.json").read_text()) == [seconds]
    run_dir = first.parent.parent

    longer, total = common.fit("vanilla_gaussian1d", save_dir, ["--max_g_steps", "999"], 1, quiet=True, extend_to=9)
    assert longer == first and g_steps_in(longer) == 9  # the same last.ckpt, 9 G steps: extend_to, not extra's 999
    assert [p for p in (save_dir / "ganzoo").iterdir()] == [run_dir]  # no second run directory
    legs = json.loads((save_dir / "fit_seconds.json").read_text())
    assert len(legs) == 2 and legs[0] == seconds and total == pytest.approx(sum(legs))

    # without extend_to the recipe starts over, in a run directory of its own, and its time alone counts
    again, alone = common.fit("vanilla_gaussian1d", save_dir, ["--max_g_steps", "2"], 1, quiet=True)
    assert again.parent.parent != run_dir and g_steps_in(again) == 2
    assert json.loads((save_dir / "fit_seconds.json").read_text()) == [alone]


@pytest.mark.slow
def test_an_out_moved_away_from_its_data_resumes_with_the_data_dir_given_now(common, mnist_dir, tmp_path):
    """The run's config.yaml names the MNIST folder it was made with; that folder is gone when it is extended."""
    made_with, now = tmp_path / "data_then", tmp_path / "data_now"
    made_with.mkdir()
    (made_with / "MNIST").symlink_to(mnist_dir / "MNIST")
    tiny = ["--model.init_args.g_width", "4", "--model.init_args.d_width", "4", "--data.init_args.batch_size", "8"]
    save_dir = tmp_path / "dcgan_mnist_seed0"
    made = ["--max_g_steps", "2", "--data.data_dir", str(made_with), *tiny]
    first, _ = common.fit("dcgan_mnist", save_dir, made, 1, quiet=True)
    assert str(made_with) in (first.parent.parent / "config.yaml").read_text()
    made_with.rename(now)

    extra = ["--max_g_steps", "2", "--data.data_dir", str(now), *tiny, "--model.init_args.g_width", "8"]
    longer, _ = common.fit("dcgan_mnist", save_dir, extra, 1, quiet=True, extend_to=3)
    assert longer == first and g_steps_in(longer) == 3  # the folder given now; this call's widths 8 not applied


def test_a_resumed_run_is_given_again_only_where_its_data_lies(common):
    extra = ["--seed_everything", "1", "--data.data_dir", "/data/a", "--model.init_args.g_width=64", "--fit_arg",
             "--data.init_args.data_dir=/data/b", "--data.init_args.subset", "0.01"]
    assert common.local_options(extra) == ["--data.data_dir", "/data/a", "--data.init_args.data_dir=/data/b"]
    assert common.local_options(["--seed_everything", "1"]) == []


def test_a_run_from_before_the_time_ledger_counts_the_train_seconds_of_its_result(common, tmp_path):
    save_dir = tmp_path / "toy_seed0"
    save_dir.mkdir()
    (tmp_path / "toy_seed0.json").write_text(json.dumps({"train_seconds": 100.0}))
    assert common.spent(save_dir, 30.0, resumed=True) == 130.0
    assert common.spent(save_dir, 20.0, resumed=True) == 150.0  # now from the ledger
    assert common.spent(save_dir, 5.0, resumed=False) == 5.0  # a fresh start forgets the earlier legs


def result(out: Path, name: str, steps: int) -> None:
    (out / f"{name}.json").write_text(json.dumps({"name": name, "generator_steps": steps}))


def test_extend_trains_only_the_runs_short_of_max_g_steps(common, tmp_path):
    result(tmp_path, "toy_seed0", 10)  # short: resumed
    result(tmp_path, "toy_seed1", 20)  # there: kept
    ran = []

    def run(recipe, seed, args):
        ran.append(seed)
        return {"name": f"{recipe}_seed{seed}", "generator_steps": args.max_g_steps}

    args = argparse.Namespace(out=tmp_path, jobs=1, extend=True, max_g_steps=20)
    results, missing = common.collect(["toy"], [0, 1, 2], tmp_path, False, run, args)
    assert ran == [0, 2] and missing == []  # seed 2 has no result: it trains from the start
    assert [r["generator_steps"] for r in results["toy"]] == [20, 20, 20]

    ran.clear()  # without --extend every run trains again, as before
    common.collect(["toy"], [0, 1], tmp_path, False, run, argparse.Namespace(out=tmp_path, jobs=1, max_g_steps=20))
    assert ran == [0, 1]


def test_extend_refuses_a_run_already_beyond_max_g_steps_before_anything_trains(common, tmp_path):
    result(tmp_path, "toy_seed0", 10)
    result(tmp_path, "toy_seed1", 30)
    args = argparse.Namespace(out=tmp_path, jobs=1, extend=True, max_g_steps=20)
    never = lambda recipe, seed, args: pytest.fail("nothing may train")  # noqa: E731
    with pytest.raises(SystemExit, match=r"toy_seed1.json records 30 G steps, more than --max_g_steps 20: "
                                         r"--extend only lengthens runs; give --max_g_steps 30 or more"):
        common.collect(["toy"], [0, 1], tmp_path, False, never, args)


@pytest.mark.parametrize("argv", [["--extend"], ["--extend", "--max_g_steps", "20", "--reuse"]])
@pytest.mark.parametrize("script", ["stacked_mnist", "data_efficient_mnist"])
def test_extend_without_a_new_length_is_refused_in_one_line(script, argv, monkeypatch, capsys, tmp_path):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module(script)
    monkeypatch.setattr(sys, "argv", [script, "--data_dir", "data", "--out", str(tmp_path / "out"), *argv])
    with pytest.raises(SystemExit) as stop:
        module.main()
    assert stop.value.code == 2 and not (tmp_path / "out").exists()
    assert "--extend resumes the runs in --out to a longer training: give it --max_g_steps N" in capsys.readouterr().err
