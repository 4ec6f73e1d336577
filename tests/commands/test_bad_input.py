"""Every bad input of issue 14 fails before the work with one line: the option, the bad value, the fix; exit code 2.

One table, :data:`CASES`: each row is run as a user would (``ganzoo ...``, in this process
through :func:`ganzoo.cli.main`, or as a subprocess of the console script where marked) and
must end with exit code 2 and exactly one line on stderr, ``ganzoo: error: ...``, holding
the row's fragments. docs/cli.md ("Bad input: the cases ganzoo checks") lists every row.
"""
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Trainer
from PIL import Image

from ganzoo import DCGAN, DigitsDataModule
from ganzoo.cli import main

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml")
RING = str(ROOT / "zoo_configs" / "vanilla_ring8.yaml")
DIGITS = str(ROOT / "zoo_configs" / "dcgan_digits.yaml")
MNIST = str(ROOT / "zoo_configs" / "dcgan_mnist.yaml")
FOLDER = str(ROOT / "zoo_configs" / "dcgan_celeba64.yaml")
#: a fit that would train two G steps, quietly, in the test's own folder
FIT = ["--trainer.logger=false", "--max_g_steps=2", "--trainer.enable_progress_bar=false", "--trainer.default_root_dir={tmp}/run"]
TINY_IMAGES = ["--data.init_args.image_size=8", "--data.init_args.batch_size=4", "--model.init_args.g_width=4",
               "--model.init_args.d_width=4"]  # fmt: skip
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a GPU")
NO_TENSORBOARD = pytest.mark.skipif(bool(find_spec("tensorboard") or find_spec("tensorboardX")), reason="installed")


@dataclass
class Case:
    """One bad input: ``ganzoo`` arguments (``{name}`` stands for a file of :func:`files`) and fragments of the line."""

    args: list
    fragments: tuple
    subprocess: bool = False  # run the console script, as a user would


def fit(*args: str, config: str = QUICK) -> list:
    return ["fit", "--config", config, *FIT, *args]


CASES = {
    # --config files
    "config-binary": Case(["fit", "--config", "{binary}"], ("--config", "binary.yaml", "not a text file"), subprocess=True),
    "config-empty": Case(["fit", "--config", "{empty}"], ("--config", "empty.yaml", "is empty")),
    # NaN, inf and absurd numbers
    "gradient-penalty-nan": Case(fit("--model.init_args.gradient_penalty=.nan"), ("gradient_penalty", "finite", "nan")),
    "gradient-clip-norm-inf": Case(fit("--model.init_args.gradient_clip_norm=.inf"), ("gradient_clip_norm", "inf")),
    "ema-decay-nan": Case(fit("--model.init_args.ema_decay=.nan"), ("ema_decay", "nan", "ema_decay=0.999")),
    "lr-nan": Case(fit("--model.init_args.g_optimizer.init_args.lr=.nan"), ("g_optimizer", "learning rate", "nan")),
    "lr-inf": Case(fit("--model.init_args.d_optimizer.init_args.lr=.inf"), ("d_optimizer lr", "inf", "lr: 0.0002")),
    "lr-1e300": Case(fit("--model.init_args.g_optimizer.init_args.lr=1e300"), ("g_optimizer lr", "<= 10000", "1e+300")),
    "weight-decay-inf": Case(fit("--model.init_args.d_optimizer.init_args.weight_decay=.inf"), ("d_optimizer weight_decay", "inf")),
    "scheduler-nan": Case(fit("--model.init_args.g_scheduler.init_args.end_factor=.nan"), ("g_scheduler end_factor", "nan")),
    "d-dropout-nan": Case(fit("--model.init_args.d_dropout=.nan"), ("d_dropout", "nan")),
    "data-std-inf": Case(fit("--data.init_args.std=.inf"), ("std", "finite", "inf")),
    "data-mean-nan": Case(fit("--data.init_args.mean=.nan"), ("mean", "nan", "mean=4.0")),
    "val-fraction-nan": Case(fit("--data.init_args.val_fraction=.nan", config=DIGITS), ("val_fraction", "nan")),
    # networks that do not fit each other or the data
    "generator-latent-size": Case(["fit", "--config", "{injected_g}", *FIT], ("generator", "latent_dim=8", "(N, 8)")),
    "discriminator-input-size": Case(["fit", "--config", "{injected_d}", *FIT], ("discriminator", "(N, 1)", "data shape")),
    "latent-dim-huge": Case(fit("--model.init_args.latent_dim=1000000000"), ("do not fit in memory", "latent_dim=1000000000")),
    "width-huge": Case(fit("--model.init_args.g_width=100000", config=DIGITS), ("do not fit in memory", "g_width=100000")),
    "dcgan-depth": Case(fit("--model.init_args.depth=5", config=DIGITS), ("DCGAN depth", "from 1 to 4 for 16x16", "got 5")),
    "ckpt-garbage": Case(fit("--ckpt_path={garbage_ckpt}"), ("--ckpt_path", "garbage.ckpt", "not a readable checkpoint")),
    "ckpt-truncated": Case(fit("--ckpt_path={truncated_ckpt}"), ("--ckpt_path", "truncated.ckpt", "truncated")),
    "ckpt-of-another-model": Case(fit("--ckpt_path={gaussian_ckpt}", config=RING), ("checkpoint", "shape", "generator.")),
    # unreadable data
    "mnist-garbage": Case(fit("--data.init_args.data_dir={garbage_mnist}", *TINY_IMAGES, config=MNIST),
                          ("MNIST file", "train-images-idx3-ubyte", "download it again")),
    "image-empty-file": Case(fit("--data.init_args.data_dir={folder_empty}", *TINY_IMAGES, config=FOLDER),
                             ("image file", "empty.png", "empty")),
    "image-not-an-image": Case(fit("--data.init_args.data_dir={folder_garbage}", *TINY_IMAGES, config=FOLDER),
                               ("image file", "garbage.jpg", "cannot identify")),
    "image-truncated-png": Case(fit("--data.init_args.data_dir={folder_truncated_png}", *TINY_IMAGES, config=FOLDER),
                                ("image file", "truncated.png", "cannot be read")),
    "image-truncated-jpeg": Case(fit("--data.init_args.data_dir={folder_truncated_jpg}", "--data.init_args.num_workers=1",
                                     *TINY_IMAGES, config=FOLDER), ("image file", "truncated.jpg", "cannot be decoded")),
    "image-folder-missing": Case(fit("--data.init_args.data_dir={tmp}/nowhere", config=FOLDER), ("nowhere", "does not exist")),
    # Trainer settings Lightning refuses
    "accelerator-gpu": pytest.param(Case(fit("--trainer.accelerator=gpu"), ("trainer.accelerator='gpu'",)), marks=NO_CUDA),
    "val-check-interval-0": Case(fit("--trainer.val_check_interval=0"), ("trainer.val_check_interval", "got 0")),
    "check-val-every-0": Case(fit("--trainer.check_val_every_n_epoch=0"), ("trainer.check_val_every_n_epoch", "got 0")),
    "max-epochs-negative": Case(fit("--trainer.max_epochs=-5"), ("trainer.max_epochs=-5", "max_epochs")),
    "checkpointing-off": Case(fit("--trainer.enable_checkpointing=false"), ("trainer.enable_checkpointing=false", "GANCheckpoint")),
    "devices-0": Case(fit("--trainer.devices=0"), ("trainer.devices='0'",)),
    "strategy-unknown": Case(fit("--trainer.strategy=nope"), ("trainer.strategy='nope'",)),
    "precision-unknown": Case(fit("--trainer.precision=bad"), ("trainer.precision", "'bad'")),
    "root-dir-unwritable": Case(fit("--trainer.default_root_dir={a_file}/run"), ("trainer.default_root_dir", "is a file")),
    "logger-save-dir-unwritable": Case(["fit", "--config", QUICK, "--max_g_steps=2", "--trainer.default_root_dir={tmp}/run",
                                        "--trainer.logger.init_args.save_dir={a_file}/runs"],
                                       ("trainer.logger.init_args.save_dir", "is a file")),
    "tensorboard-missing": pytest.param(Case(fit("--trainer.logger=lightning.pytorch.loggers.TensorBoardLogger",
                                                 "--trainer.logger.init_args.save_dir={tmp}/tb"),
                                             ("TensorBoardLogger", "pip install 'ganzoo[tensorboard]'")), marks=NO_TENSORBOARD),
    # more of the model's and the data's options
    "seed-not-a-number": Case(fit("--seed_everything=abc"), ("seed_everything", "'abc'")),
    "batch-size-negative": Case(fit("--data.init_args.batch_size=-4"), ("batch_size", "-4")),
    "num-workers-negative": Case(fit("--data.init_args.num_workers=-1", config=DIGITS), ("num_workers", "-1")),
    "n-critic-0": Case(fit("--model.init_args.n_critic=0"), ("n_critic", "got 0")),
    "n-critic-and-g-steps-per-d-step": Case(fit("--model.init_args.n_critic=2", "--model.init_args.g_steps_per_d_step=2"),
                                            ("n_critic=2 and g_steps_per_d_step=2", "set one of them to 1")),
    "prior-unknown": Case(fit("--model.init_args.prior=cauchy"), ("prior 'cauchy'", "normal, uniform")),
    # ganzoo's own commands: arguments and output paths, checked before the work
    "generate-num-samples-word": Case(["generate", "{dcgan_ckpt}", "--num_samples", "ten"],
                                      ("--num_samples must be an integer >= 1, got 'ten'",), subprocess=True),
    "generate-num-samples-negative": Case(["generate", "{dcgan_ckpt}", "--num_samples", "-1"], ("--num_samples", "'-1'")),
    "generate-output-unwritable": Case(["generate", "{dcgan_ckpt}", "--output", "{a_file}/samples.png"],
                                       ("--output", "cannot be written", "nothing was computed")),
    "generate-output-type": Case(["generate", "{dcgan_ckpt}", "--output", "{tmp}/samples.jpg"], ("'.jpg'", ".png")),
    "evaluate-num-fake-0": Case(["evaluate", "{dcgan_ckpt}", "--num_fake", "0"], ("--num_fake", "'0'")),
    "evaluate-output-unwritable": Case(["evaluate", "{dcgan_ckpt}", "--output", "{a_file}/metrics.json"],
                                       ("--output", "cannot be written")),
    "evaluate-intra-fd-unconditional": Case(["evaluate", "{dcgan_ckpt}", "--metrics", "intra_fd_classifier",
                                             "--classifier", "digits"], ("['intra_fd_classifier']", "DCGAN is unconditional")),
    "train-classifier-out-unwritable": Case(["train-classifier", "--data", "digits", "--out", "{a_file}/c.pt"],
                                            ("--out", "cannot be written")),
    "train-classifier-lr-nan": Case(["train-classifier", "--data", "digits", "--out", "{tmp}/c.pt", "--lr", "nan"],
                                    ("--lr must be a finite number > 0, got 'nan'",)),
    "train-classifier-no-out": Case(["train-classifier", "--data", "digits"], ("required", "--out")),
    "animate-not-a-folder": Case(["animate", "{tmp}/nowhere"], ("run directory", "nowhere", "is not a folder")),
    "animate-no-frames": Case(["animate", "{tmp}"], ("no frames in", "samples/grid_g*.png", "figures/distribution_g*.png")),
    "animate-output-type": Case(["animate", "{tmp}", "--output", "{tmp}/run.png"], ("--output", "run.png", ".gif or .mp4")),
    "animate-output-unwritable": Case(["animate", "{tmp}", "--output", "{a_file}/run.gif"], ("--output", "cannot be written")),
    "animate-format-mismatch": Case(["animate", "{tmp}", "--format", "gif", "--output", "{tmp}/run.mp4"],
                                    ("--format gif", "run.mp4")),
    "animate-fps-0": Case(["animate", "{tmp}", "--fps", "0"], ("--fps must be a finite number > 0, got '0'",)),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """The files the table's rows name: broken configs, data and checkpoints, written once."""
    tmp = tmp_path_factory.mktemp("bad_input")
    paths = {"binary": tmp / "binary.yaml", "empty": tmp / "empty.yaml", "a_file": tmp / "a_file"}
    paths["binary"].write_bytes(bytes(range(128, 256)) * 4)
    paths["empty"].write_text("# nothing but a comment\n")
    paths["a_file"].write_text("precious")
    for name, latent, in_shape in (("injected_g", 16, 1), ("injected_d", 8, 3)):
        paths[name] = tmp / f"{name}.yaml"
        paths[name].write_text(INJECTED.format(latent=latent, in_shape=in_shape))
    paths["garbage_mnist"] = tmp / "mnist"
    (tmp / "mnist" / "MNIST" / "raw").mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp / "mnist" / "MNIST" / "raw" / name).write_bytes(b"not MNIST" * 100)
    paths.update(_image_folders(tmp))
    paths["gaussian_ckpt"], paths["dcgan_ckpt"] = _checkpoints(tmp)
    paths["garbage_ckpt"], paths["truncated_ckpt"] = tmp / "garbage.ckpt", tmp / "truncated.ckpt"
    paths["garbage_ckpt"].write_bytes(b"\x80\x04\x95 not a checkpoint")
    paths["truncated_ckpt"].write_bytes(paths["gaussian_ckpt"].read_bytes()[:20_000])
    return paths


INJECTED = """
model:
  class_path: ganzoo.GANModule
  init_args:
    latent_dim: 8
    generator: {{class_path: ganzoo.nets.mlp.MLPGenerator, init_args: {{latent_dim: {latent}, out_shape: [1], hidden_dims: [8]}}}}
    discriminator: {{class_path: ganzoo.nets.mlp.MLPDiscriminator, init_args: {{in_shape: [{in_shape}], hidden_dims: [8]}}}}
data: {{class_path: ganzoo.Gaussian1D, init_args: {{batch_size: 16, num_train: 64, num_val: 16}}}}
trainer: {{accelerator: cpu, enable_model_summary: false}}
"""


def _image_folders(tmp: Path) -> dict:
    """Folders of 12 good images and one bad: empty, not an image, a truncated PNG, a truncated JPEG."""
    good = tmp / "good"
    good.mkdir()
    for i in range(12):
        Image.new("RGB", (12, 12), (20 * i, 0, 0)).save(good / f"{i}.png")
    noise = Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))
    noise.save(tmp / "full.png")
    noise.save(tmp / "full.jpg", quality=95)
    bad = {
        "folder_empty": ("empty.png", b""),
        "folder_garbage": ("garbage.jpg", b"this is no JPEG" * 20),
        "folder_truncated_png": ("truncated.png", (tmp / "full.png").read_bytes()[:3000]),
        "folder_truncated_jpg": ("truncated.jpg", (tmp / "full.jpg").read_bytes()[:3000]),
    }
    folders = {}
    for key, (name, content) in bad.items():
        folders[key] = tmp / key
        shutil.copytree(good, folders[key])
        (folders[key] / name).write_bytes(content)
    return folders


def _checkpoints(tmp: Path) -> tuple[Path, Path]:
    """The quick start's last.ckpt after two G steps (written by ganzoo fit), and a tiny DCGAN on digits."""
    main(["fit", "--config", QUICK, *[arg.format(tmp=tmp / "quick") for arg in FIT]])
    trainer = Trainer(accelerator="cpu", max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=str(tmp))
    trainer.fit(DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=4, d_width=4), DigitsDataModule(batch_size=16))
    trainer.save_checkpoint(tmp / "dcgan.ckpt")
    return tmp / "quick" / "run" / "checkpoints" / "last.ckpt", tmp / "dcgan.ckpt"


def _snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes: what a failed command must leave as it was."""
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(args: list, via_subprocess: bool, capsys) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``ganzoo ARGS``."""
    if via_subprocess:
        script = Path(sys.executable).with_name("ganzoo")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "ganzoo"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run(command + args, capture_output=True, text=True, timeout=120, env=env)
        return done.returncode, done.stdout, done.stderr
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_fails_before_the_work_with_one_line(case, files, tmp_path, capsys):
    names = {key: str(value) for key, value in files.items()} | {"tmp": str(tmp_path)}
    args = [arg.format(**names) for arg in case.args]
    before = _snapshot(files["a_file"].parent), _snapshot(tmp_path)
    code, _, err = _run(args, case.subprocess, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ganzoo: error: "), err[-3000:]
    for fragment in case.fragments:
        assert fragment in lines[0]
    assert "weights_only" not in lines[0]  # never torch's advice to unpickle an untrusted file
    assert _snapshot(files["a_file"].parent) == before[0]  # nothing the rows share was changed or added
    written = [p for p in _snapshot(tmp_path) if p not in before[1] and "run" not in p.relative_to(tmp_path).parts[:1]]
    assert written == []  # no output, not even a partial one
    assert not list(tmp_path.rglob("*.ckpt")) and not list(tmp_path.rglob("*.pt"))


def test_evaluate_prints_its_figures_when_the_json_cannot_be_written(files, tmp_path, capsys, monkeypatch):
    """The folder is checked before the work; should the write still fail after it, the figures are on stdout."""
    import ganzoo.evaluate

    output = files["a_file"] / "metrics.json"  # a_file is a file: no folder can be made there
    monkeypatch.setattr(ganzoo.evaluate, "check_output_path", lambda option, path: Path(path))  # as if it broke later
    args = ["evaluate", str(files["dcgan_ckpt"]), "--metrics", "classifier_score", "--classifier", "digits",
            "--num_fake", "16", "--batch_size", "16", "--device", "cpu", "--no_cache", "--output", str(output)]
    code, out, err = _run(args, False, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ganzoo: error: --output"), err
    assert "the figures are printed above" in lines[0]
    assert re.search(r"classifier_score\S*\s+\d", out), out  # the metric's name and value
    assert files["a_file"].read_text() == "precious"


def test_a_read_only_filesystem_is_found_before_the_work(files, tmp_path, capsys):
    """The write probe tells a read-only mount, to root as well (os.access would say yes)."""
    mount = tmp_path / "read_only"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("mounting a read-only tmpfs needs root")
    try:
        code, _, err = _run(["generate", str(files["dcgan_ckpt"]), "--output", str(mount / "sub" / "s.png")], False, capsys)
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    assert code == 2 and err.strip() == (
        f"ganzoo: error: --output '{mount / 'sub' / 's.png'}' cannot be written (Read-only file system in '{mount}'); "
        "choose a folder you can write to, nothing was computed"
    )


def test_a_checkpoint_of_other_tensors_is_named_before_it_loads():
    """Another shape fails any load; a tensor only one side has fails the strict load of fit/test --ckpt_path."""
    from ganzoo import ConfigError, VanillaGAN
    from ganzoo.modules.checks import check_checkpoint_fits

    small = {"state_dict": VanillaGAN(g_hidden_dims=[8], d_hidden_dims=[8]).state_dict(), "ganzoo_class": "ganzoo.VanillaGAN"}
    plain = {"state_dict": VanillaGAN(g_hidden_dims=[16], d_hidden_dims=[16]).state_dict(), "ganzoo_class": "x.VanillaGAN"}
    averaged = VanillaGAN(g_hidden_dims=[16], d_hidden_dims=[16], ema_decay=0.9)
    with pytest.raises(ConfigError, match=r"^the checkpoint's VanillaGAN does not match this one \(generator\.net\.0\.weight "
                                          r"has shape \(8, 64\) there, \(16, 64\) here\); build the model it was trained with"):
        check_checkpoint_fits(averaged, small)
    check_checkpoint_fits(averaged, plain)  # only missing tensors: a non-strict load may take it
    with pytest.raises(ConfigError, match=r"\(it lacks generator_ema\.net\.0\.weight\)"):
        check_checkpoint_fits(averaged, plain, strict=True)


def test_the_cli_page_lists_every_case():
    """docs/cli.md's table of bad inputs has one row per case here, and no other."""
    page = (ROOT / "docs" / "cli.md").read_text()
    section = page.split("## Bad input: the cases ganzoo checks", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([\w-]+)` \|", section, flags=re.M)
    assert sorted(listed) == sorted([*CASES, "evaluate-json-unwritable", "generate-output-read-only"])
