"""benchmarks/_parallel.py and _common's --jobs: runs side by side in their own processes, each with a log; a
failed run does not stop the others. The runs here are tiny functions that write files; nothing trains."""
import argparse
import importlib
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

#: Runs for the spawned processes, in a module of their own that they import (with the test's sys.path).
#: Seeds 0 and 1 each wait for the other to have started (so they must run at once); seed 2 must start only
#: after one of them has ended (so no more than two run at once); seed 7 fails.
FAKE_RUNS = '''
import json, time
from pathlib import Path

import _parallel

def run(recipe, seed, args):
    out = Path(args.out)
    (out / f"started{seed}").touch()
    print(f"run {recipe} seed {seed} says hello", flush=True)
    if seed == 7:
        raise ValueError("seed 7 is bad")
    if seed in (0, 1):
        other = out / f"started{1 - seed}"
        deadline = time.time() + 60
        while not other.exists():
            assert time.time() < deadline, "the other run never started beside this one"
            time.sleep(0.05)
        time.sleep(0.3)
    result = {"recipe": recipe, "seed": seed, "ended_before_me": sorted(p.name for p in out.glob("ended*")),
              "logged": _parallel.logged()}
    (out / f"{recipe}_seed{seed}.json").write_text(json.dumps(result))
    (out / f"ended{seed}").touch()
    return result
'''


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("_common")


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    (tmp_path / "runs_module").mkdir()
    (tmp_path / "runs_module" / "ganzoo_fake_runs.py").write_text(FAKE_RUNS)
    monkeypatch.syspath_prepend(str(tmp_path / "runs_module"))
    sys.modules.pop("ganzoo_fake_runs", None)
    return importlib.import_module("ganzoo_fake_runs").run


def test_jobs_run_side_by_side_at_most_jobs_at_once_each_with_its_log(common, fake_run, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    args = argparse.Namespace(out=out, jobs=2, threads=1)
    results, missing = common.collect(["toy"], [0, 1, 2], out, False, fake_run, args)
    assert [r["seed"] for r in results["toy"]] == [0, 1, 2] and missing == []
    # seeds 0 and 1 met each other (else their runs fail); seed 2 waited for a free slot
    assert results["toy"][2]["ended_before_me"] != []
    assert all(r["logged"] for r in results["toy"])  # so fit keeps its progress, in the run's log
    for seed in (0, 1, 2):
        assert f"run toy seed {seed} says hello" in (out / f"toy_seed{seed}.log").read_text()
    printed = capsys.readouterr().out
    assert printed.count("started toy seed") == 3 and printed.count("finished toy seed") == 3


def test_a_failed_run_leaves_the_others_and_is_named_in_one_line(common, fake_run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    args = argparse.Namespace(out=out, jobs=2, threads=1)
    with pytest.raises(SystemExit) as failure:
        common.collect(["toy"], [7, 2], out, False, fake_run, args)
    message = str(failure.value)
    assert "\n" not in message and "1 of 2 runs failed: toy seed 7 (exit code 1" in message
    assert str(out / "toy_seed7.log") in message and "--reuse" in message
    assert "ValueError: seed 7 is bad" in (out / "toy_seed7.log").read_text()  # the traceback is in its log
    assert json.loads((out / "toy_seed2.json").read_text())["seed"] == 2  # the other run finished and is kept


def test_one_job_runs_in_this_process_as_before(common, fake_run, tmp_path):
    args = argparse.Namespace(out=tmp_path, jobs=1, threads=1)
    results, _ = common.collect(["toy"], [2], tmp_path, False, fake_run, args)
    assert results["toy"][0]["seed"] == 2 and not (tmp_path / "toy_seed2.log").exists()
    assert not results["toy"][0]["logged"]


def test_a_quiet_fit_keeps_its_progress_only_where_the_run_has_a_log(common, monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(common.subprocess, "run", lambda command, **kwargs: seen.append(kwargs["stdout"]))
    monkeypatch.setattr(common, "last_checkpoint", lambda save_dir: tmp_path / "last.ckpt")
    common.fit("dcgan_digits", tmp_path, [], 1, quiet=True)
    monkeypatch.setattr(importlib.import_module("_parallel"), "_LOG", str(tmp_path / "run.log"))
    common.fit("dcgan_digits", tmp_path, [], 1, quiet=True)
    common.fit("dcgan_digits", tmp_path, [], 1, quiet=False)
    assert seen == [common.subprocess.DEVNULL, None, None]


@pytest.mark.parametrize("script", ["stacked_mnist", "data_efficient_mnist", "mode_coverage"])
def test_jobs_below_one_are_refused_in_one_line(script, common, tmp_path, monkeypatch, capsys):
    bench = importlib.import_module(script)
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", [f"{script}.py", "--jobs", "0", "--out", str(out), "--data_dir", str(tmp_path)]
                        if script != "mode_coverage" else [f"{script}.py", "--jobs", "0", "--out", str(out)])
    with pytest.raises(SystemExit) as refused:
        bench.main()
    assert refused.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "--jobs must be a number of runs at once, 1 or more, got 0; e.g. --jobs 2 on 2 cores")
    assert not out.exists()  # refused before anything was written
