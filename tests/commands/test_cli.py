import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from ganzoo import ConfigError, GANModule, MaxGeneratorSteps, VanillaGAN
from ganzoo.cli import GANZooCLI, main
from ganzoo.registry import ZOO

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "zoo_configs").glob("*.yaml"))
# the benchmarks' own configs are run by users too (their commands are in docs/): parsed like the recipes
BENCHMARK_CONFIGS = sorted((ROOT / "benchmarks" / "configs").glob("*.yaml"))
QUICK_START = ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml"


def quiet_run_args(tmp_path, steps):
    return [
        f"--max_g_steps={steps}",
        f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}",  # a ganzoo/ folder in the cwd would shadow the package
        f"--trainer.default_root_dir={tmp_path}",
    ]


def test_there_are_recipes():
    assert {p.name for p in CONFIGS} >= {
        "vanilla_gaussian1d.yaml", "vanilla_ring8.yaml", "vanilla_grid25.yaml", "dcgan_digits.yaml", "dcgan_mnist.yaml",
        "dcgan_fashion_mnist.yaml", "dcgan_cifar10.yaml", "dcgan_celeba64.yaml", "cgan_digits.yaml",
        "cgan_mnist.yaml", "acgan_mnist.yaml", "projgan_mnist.yaml", "projgan_cifar10.yaml", "sngan_mnist.yaml",
        "sngan_stacked_mnist.yaml", "sngan_cifar10.yaml", "projgan_resnet_cifar10.yaml",
    }


@pytest.mark.parametrize("config", CONFIGS + BENCHMARK_CONFIGS, ids=lambda p: p.name)
def test_every_zoo_config_parses_and_instantiates_through_the_cli(config, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(config), "--print_config"])
    assert info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["class_path"].startswith("ganzoo.")
    assert printed["data"]["class_path"].startswith("ganzoo.")

    extra = []
    if printed["data"]["class_path"] == "ganzoo.ImageFolderDataModule":  # it lists its folder when built
        folder = tmp_path / "images"
        folder.mkdir()
        Image.new("RGB", (80, 60)).save(folder / "a.png")
        extra = [f"--data.init_args.data_dir={folder}"]
    cli = GANZooCLI(args=["--config", str(config), *quiet_run_args(tmp_path, 3), *extra], run=False)
    assert isinstance(cli.model, GANModule)
    shape = "image_shape" if "image_shape" in cli.model.hparams else "data_shape"
    assert tuple(cli.model.hparams[shape]) == tuple(cli.datamodule.data_shape)  # linked from the data
    if "num_classes" in cli.model.hparams:  # a conditional GAN: as many classes as the data has
        assert cli.model.num_classes == cli.datamodule.num_classes == 10


def test_max_g_steps_means_generator_updates(tmp_path):
    args = ["--config", str(QUICK_START), *quiet_run_args(tmp_path, 4), "--model.init_args.n_critic=2"]
    args += ["--trainer.limit_val_batches=0", "--trainer.enable_checkpointing=false", "--trainer.callbacks=[]"]
    cli = GANZooCLI(args=["fit", *args])
    assert any(isinstance(c, MaxGeneratorSteps) for c in cli.trainer.callbacks)
    assert cli.trainer.max_epochs == -1
    assert (cli.model.g_steps, cli.model.d_steps, cli.trainer.global_step) == (4, 8, 12)
    args[args.index("--model.init_args.n_critic=2")] = "--model.init_args.g_steps_per_d_step=3"
    cli = GANZooCLI(args=["fit", *args])
    assert (cli.model.g_steps, cli.model.d_steps, cli.trainer.global_step) == (4, 2, 6)  # D's updates open G's 1st and 4th


def test_the_dcgan_layout_options_reach_both_networks_through_the_cli(tmp_path):
    # PacGAN's networks on Stacked MNIST are one pair of options on the recipe (docs/images.md)
    config = ROOT / "zoo_configs" / "dcgan_stacked_mnist.yaml"
    layout = ["--model.init_args.depth=4", "--model.init_args.kernel_size=5", "--data.init_args.data_dir=unused"]
    cli = GANZooCLI(args=["--config", str(config), *quiet_run_args(tmp_path, 3), *layout], run=False)
    convs = [m for m in cli.model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(convs) == 9 and all(m.kernel_size == (5, 5) for m in convs if m.stride == (2, 2))
    assert cli.model.discriminator.feature_dim == 8 * 32 * 2 * 2  # 2x2 maps of 8 x d_width channels
    assert (cli.model.hparams.depth, cli.model.hparams.kernel_size) == (4, 5)


@pytest.mark.parametrize(
    "override, message",
    [
        ("--model.init_args.loss=hinj", "unknown loss 'hinj'; choose one of: hinge, lsgan, minimax, non_saturating, wgan_gp"),
        ("--model.init_args.prior=gauss", "unknown prior 'gauss'; choose one of: normal, uniform"),
        ("--model.init_args.latent_dim=0", "latent_dim must be a positive integer, got 0"),
        ("--model.init_args.n_critic=0", "n_critic must be a positive integer, got 0"),
        ("--data.init_args.std=-1", "std must be a number > 0, got -1.0"),
        ("--data.init_args.batch_size=100000", "batch_size 100000 is larger than num_train 50000"),
        ("--trainer.gradient_clip_val=1.0", "trainer.gradient_clip_val=1.0 does not apply: GANs train by manual "
         "optimization; set model.init_args.gradient_clip_norm: 1.0"),
        ("--trainer.accumulate_grad_batches=4", "trainer.accumulate_grad_batches=4 does not apply"),
        ("--model.init_args.gradient_clip_norm=0", "gradient_clip_norm must be a number > 0, got 0.0"),
        ("--model.init_args.g_optimizer.init_args.lr=-0.1", "g_optimizer cannot be built: Invalid learning rate: -0.1"),
        ("--model.init_args.d_optimizer.init_args.betas=[0.5, 1.5]", "d_optimizer cannot be built: Invalid beta parameter"),
    ],
)
def test_bad_values_fail_before_training_with_one_line(override, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(QUICK_START), *quiet_run_args(tmp_path, 3), override])
    assert info.value.code == 2
    err_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganzoo: error:")]
    assert len(err_lines) == 1 and message in err_lines[0]
    assert not list(tmp_path.rglob("*.ckpt"))


REGISTERED_GANS = ", ".join(sorted(f"ganzoo.{entry.cls.__name__}" for entry in ZOO.values()))


@pytest.mark.parametrize(
    "override, message",
    [
        ("--model.class_path=ganzoo.VanilaGAN", "model.class_path 'ganzoo.VanilaGAN' is not accepted (module 'ganzoo' has "
         f"no attribute 'VanilaGAN'); did you mean 'ganzoo.VanillaGAN'? model takes a subclass of GANModule: {REGISTERED_GANS}"),
        ("--data.class_path=ganzoo.Nope", "data.class_path 'ganzoo.Nope' is not accepted (module 'ganzoo' has no attribute "
         "'Nope'); data takes a subclass of LightningDataModule: ganzoo.CIFAR10DataModule, ganzoo.DigitsDataModule"),
        ("--model.init_args.g_optimizer.class_path=torch.optim.Adamm", "model.init_args.g_optimizer.class_path "
         "'torch.optim.Adamm' is not accepted (module 'torch.optim' has no attribute 'Adamm'); did you mean "
         "'torch.optim.Adam'? model.init_args.g_optimizer takes a subclass of Optimizer: torch.optim.ASGD"),
        ("--model.init_args.latent_dim=abc", "model.init_args.latent_dim must be int, got 'abc'"),
        ("--model.init_args.n_critic=1.5", "model.init_args.n_critic must be int, got '1.5'"),
        ("--data.init_args.batch_size=ten", "data.init_args.batch_size must be int, got 'ten'"),
        ("--trainer.max_epochs=xyz", "trainer.max_epochs must be int or null, got 'xyz'"),
        ("--max_g_steps=-3", "max_g_steps must be PositiveInt or null, got '-3' (not of type PositiveInt: does not "
         "conform to restriction v>0)"),
        ("--model.init_args.latnt_dim=4", "unknown option model.init_args.latnt_dim=4 of ganzoo.VanillaGAN; "
         "did you mean model.init_args.latent_dim?"),
        ("--model.init_args.g_optimizer.init_args.lrr=3", "unknown option model.init_args.g_optimizer.init_args.lrr=3 "
         "of torch.optim.Adam; did you mean model.init_args.g_optimizer.init_args.lr?"),
        ("--trainer.max_epoks=3", "unknown option trainer.max_epoks=3; did you mean trainer.max_epochs?"),
        ("--config={tmp}/nope.yaml", "--config: File does not exist: '{tmp}/nope.yaml'; pass the path of an existing "
         "YAML file"),
        ("--config={tmp}/broken.yaml", "--config {tmp}/broken.yaml is not valid YAML: while parsing a flow sequence "
         "(line 1, column 8); did not find expected ',' or ']' (line 2, column 16)"),
    ],
)
def test_values_jsonargparse_cannot_parse_fail_with_one_line(override, message, capsys, tmp_path):
    """Unknown classes and options, wrong types and bad --config files: one line naming key, value and fix."""
    (tmp_path / "broken.yaml").write_text("model: [unclosed\nseed_everything: 1\n")
    override, message = override.format(tmp=tmp_path), message.format(tmp=tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(QUICK_START), *quiet_run_args(tmp_path, 3), override])
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganzoo: error: {message}"), lines  # no usage, no traceback
    assert not list(tmp_path.rglob("*.ckpt"))


def test_parse_errors_raise_a_config_error_from_python():
    with pytest.raises(ConfigError, match=r"^model\.init_args\.latent_dim must be int, got 'abc'$"):
        GANZooCLI(args=["--config", str(QUICK_START), "--model.init_args.latent_dim=abc"], run=False)


@pytest.mark.slow
def test_a_parse_error_through_the_console_script_is_one_line_on_stderr(tmp_path):
    args = ["fit", "--config", str(QUICK_START), *quiet_run_args(tmp_path, 3), "--model.class_path=ganzoo.VanilaGAN"]
    result = subprocess.run([sys.executable, "-m", "ganzoo", *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ganzoo: error: model.class_path 'ganzoo.VanilaGAN' is not accepted (module 'ganzoo' has no attribute "
        f"'VanilaGAN'); did you mean 'ganzoo.VanillaGAN'? model takes a subclass of GANModule: {REGISTERED_GANS}"
    ]
    assert result.stdout == "" and not list(tmp_path.rglob("*.ckpt"))


def run(*args, cwd):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_quick_start_recipe_end_to_end_through_the_console_script(tmp_path):
    """fit prints its final figures and picture; the checkpoint then serves test and predict."""
    ganzoo = str(Path(sys.executable).with_name("ganzoo"))
    out = run(ganzoo, "fit", "--config", str(QUICK_START), *quiet_run_args(tmp_path, 300), cwd=tmp_path)
    assert "Gaussian1D after 300 generator steps" in out
    picture = Path(out.split("picture: ")[1].split()[0])
    picture = picture if picture.is_absolute() else tmp_path / picture
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run_dir = picture.parent.parent
    report = json.loads((run_dir / "final_metrics.json").read_text())
    assert report["generator_steps"] == 300 and set(report["metrics"]) == {"mean", "std", "ks", "w1"}
    assert report["metrics"]["ks"] < 0.5  # 300 steps already pull G most of the way from 0 to N(4, 1.25^2)
    assert (run_dir / "config.yaml").exists()

    checkpoint = next(run_dir.rglob("*.ckpt"))
    model = GANModule.load_from_checkpoint(checkpoint)  # the base class rebuilds the recorded variant
    assert type(model) is VanillaGAN and model.g_steps == 300
    assert torch.equal(model.generate(16, seed=1), model.generate(16, seed=1))

    out = run(sys.executable, "-m", "ganzoo", "test", "--config", str(QUICK_START), *quiet_run_args(tmp_path, 300),
              f"--ckpt_path={checkpoint}", cwd=tmp_path)
    assert "test/ks" in out and "test/d_loss" in out
    run(ganzoo, "predict", "--config", str(QUICK_START), *quiet_run_args(tmp_path, 300), f"--ckpt_path={checkpoint}",
        cwd=tmp_path)


@pytest.mark.slow
def test_python_dash_m_is_the_same_cli():
    out = run(sys.executable, "-m", "ganzoo", "--help", cwd=ROOT)
    for subcommand in ("fit", "validate", "test", "predict", "generate"):
        assert subcommand in out


def test_a_bad_ckpt_path_fails_with_one_line_and_the_good_checkpoint_stays_usable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    main(["fit", "--config", str(QUICK_START), *quiet_run_args(tmp_path / "first", 3)])
    good = next((tmp_path / "first").rglob("last.ckpt"))
    data = good.read_bytes()
    truncated, garbage = tmp_path / "truncated.ckpt", tmp_path / "garbage.ckpt"
    truncated.write_bytes(data[: len(data) // 2])
    garbage.write_bytes(b"not a checkpoint at all")
    cases = [
        (truncated, f"--ckpt_path '{truncated}' is not a readable checkpoint ("),
        (garbage, f"--ckpt_path '{garbage}' is not a readable checkpoint"),
        (tmp_path / "missing.ckpt", f"--ckpt_path '{tmp_path / 'missing.ckpt'}' not found"),
    ]
    for path, message in cases:
        with pytest.raises(SystemExit) as info:
            main(["fit", "--config", str(QUICK_START), *quiet_run_args(tmp_path / "bad", 6), f"--ckpt_path={path}"])
        err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganzoo: error:")]
        assert info.value.code == 2 and len(err) == 1 and message in err[0], err
    assert not list((tmp_path / "bad").rglob("*.ckpt"))  # nothing ran
    assert good.read_bytes() == data and GANModule.load_from_checkpoint(good).g_steps == 3

    main(["fit", "--config", str(QUICK_START), *quiet_run_args(tmp_path / "resumed", 6), f"--ckpt_path={good}"])
    assert GANModule.load_from_checkpoint(next((tmp_path / "resumed").rglob("last.ckpt"))).g_steps == 6
