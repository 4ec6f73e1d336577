"""Every ``ganzoo`` command answers ``--help``, fails on a bad argument with one line, and accepts
its options' old dashed spellings with one deprecation line (as do the benchmark scripts)."""
import subprocess
import sys
from pathlib import Path

import pytest

from ganzoo.argparsing import dashed, respell
from ganzoo.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]

#: each command with an argument it refuses, and what its one error line says.
BAD_ARGUMENT = {
    "fit": (["--no_such_option", "1"], "unknown option no_such_option"),
    "validate": (["--no_such_option", "1"], "unknown option no_such_option"),
    "test": (["--no_such_option", "1"], "unknown option no_such_option"),
    "predict": (["--no_such_option", "1"], "unknown option no_such_option"),
    "generate": (["model.ckpt", "--num_samples", "0"], "--num_samples must be an integer >= 1, got '0'"),
    "evaluate": (["model.ckpt", "--num_fake", "x"], "--num_fake must be an integer >= 1, got 'x'"),
    "train-classifier": (["--data", "digits", "--out", "c.pt", "--epochs", "-1"], "--epochs must be an integer >= 1"),
    "animate": (["runs/x", "--fps", "0"], "--fps must be a finite number > 0, got '0'"),
}


def test_the_table_covers_every_command():
    assert set(BAD_ARGUMENT) == {"fit", "validate", "test", "predict", *COMMANDS}


@pytest.mark.parametrize("command", list(BAD_ARGUMENT))
def test_every_command_answers_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_ganzoo_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert all(name in out for name in ["fit", "validate", "test", "predict", *COMMANDS])


@pytest.mark.parametrize("command", list(BAD_ARGUMENT))
def test_a_bad_argument_is_one_line_and_exit_code_2(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args, message = BAD_ARGUMENT[command]
    with pytest.raises(SystemExit) as exit_:
        main([command, *args])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2
    assert err.startswith("ganzoo: error: ") and "\n" not in err, err
    assert message in err
    assert not (tmp_path / "c.pt").exists()


@pytest.mark.parametrize("old, new", list(dashed("--data_dir", "--image_size", "--batch_size").items()))
def test_train_classifier_takes_its_old_spellings_with_a_deprecation_line(old, new, capsys):
    from ganzoo.commands.train_classifier import parser

    value = "8"
    for args in ([old, value], [f"{old}={value}"]):
        parsed = parser().parse_args(["--data", "digits", "--out", "c.pt", *args])
        assert str(getattr(parsed, new[2:])) == value
        assert capsys.readouterr().err == f"ganzoo: {old} is deprecated; use {new}\n"


def test_an_old_spelling_through_ganzoo_names_the_new_one(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train-classifier", "--data", "mnist", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "c.pt")])
    lines = capsys.readouterr().err.splitlines()
    assert exit_.value.code == 2
    assert lines[0] == "ganzoo: --data-dir is deprecated; use --data_dir"
    assert len(lines) == 2 and lines[1].startswith(f"ganzoo: error: --data_dir '{tmp_path / 'none'}' holds no MNIST")


def test_respell_leaves_other_options_and_what_follows_double_dash(capsys):
    renamed = dashed("--data_dir")
    assert respell(["--data-dir", "x", "--data-dir=y", "--", "--data-dir"], renamed) == ["--data_dir", "x", "--data_dir=y", "--", "--data-dir"]
    assert capsys.readouterr().err == "ganzoo: --data-dir is deprecated; use --data_dir\n"  # once per spelling
    assert respell(["--data-dirs", "x"], renamed) == ["--data-dirs", "x"]


#: each benchmark's options that were spelled with dashes, given in their old spelling with a value.
BENCHMARK_OLD_SPELLINGS = {
    "fid_throughput.py": ["--batch-size", "4", "--data-dir", "d", "--inception-weights", "w.pth"],
    "mnist_quality.py": ["--data-dir", "d", "--max-g-steps", "3", "--num-fake", "5", "--inception-weights", "w.pth"],
    "training_throughput.py": ["--data-dir", "d", "--latent-dim", "2", "--batch-size", "4", "--log-dir", "l"],
}


@pytest.mark.parametrize("script", list(BENCHMARK_OLD_SPELLINGS))
def test_benchmarks_take_their_old_spellings_with_a_deprecation_line(script):
    """The old spellings parse (argparse then refuses only the unknown ``--zzz``, so nothing runs)."""
    old = BENCHMARK_OLD_SPELLINGS[script]
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *old, "--zzz"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    flags = old[::2]
    assert result.returncode == 2
    assert result.stderr.strip().endswith("error: unrecognized arguments: --zzz"), result.stderr[-1000:]
    for flag in flags:
        assert f"ganzoo: {flag} is deprecated; use {flag.replace('-', '_').replace('__', '--', 1)}" in result.stderr
