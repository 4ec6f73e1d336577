"""Loading a checkpoint runs nothing the user did not name (issue 14, item 0).

Each attack is a real checkpoint: a genuine one written by ``ganzoo fit``, edited, saved
again, and still loadable with ``torch.load(weights_only=True)``. Each is run against every
loading path; each must fail with exit code 2 (or a ConfigError) and one line naming the key
and the class, and its marker file must never appear.
"""
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ganzoo import DCGAN, ConfigError, GANModule
from ganzoo.cli import main
from ganzoo.registry import create_gan, list_gans

ROOT = Path(__file__).resolve().parents[2]
QUICK_START = ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml"
QUIET = ["--trainer.logger=false", "--trainer.limit_val_batches=0"]
FIDELITY = "torch_fidelity.feature_extractor_inceptionv3.FeatureExtractorInceptionV3"


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    """A checkpoint written by ``ganzoo fit`` (hyper_parameters with _class_path and Lightning's _instantiator)."""
    root = tmp_path_factory.mktemp("genuine")
    main(["fit", "--config", str(QUICK_START), "--max_g_steps=2", "--trainer.logger=false", f"--trainer.default_root_dir={root}"])
    return next(root.rglob("last.ckpt"))


def _side_effect_module(folder: Path, name: str, marker: Path) -> None:
    """A module whose import writes ``marker``, with a GAN, a network and an optimizer factory in it."""
    (folder / f"{name}.py").write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("imported")
        import torch
        from ganzoo import VanillaGAN

        class EvilGAN(VanillaGAN):
            pass

        class EvilNet(torch.nn.Module):
            pass

        def make_optimizer(params):
            return torch.optim.SGD(params, lr=0.1)

        def instantiate(cls, config):
            return cls(**config)
    """))


def _payload(path: Path, marker: Path) -> Path:
    """A pickle whose unpickling writes ``marker`` (what torch-fidelity would torch.load with weights_only=False)."""

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (marker, "unpickled"))

    path.write_bytes(pickle.dumps(Payload()))
    return path


def _craft(checkpoint: dict, attack: str, evil: str, folder: Path, marker: Path) -> None:
    hparams = checkpoint["hyper_parameters"]
    if attack == "popen_datamodule":
        checkpoint["ganzoo_datamodule"] = "subprocess.Popen"
        checkpoint["datamodule_hyper_parameters"] = {"args": ["/bin/sh", "-c", f"echo ran > {marker}"]}
    elif attack == "import_side_effect":
        hparams["generator"] = {"class_path": f"{evil}.EvilNet", "init_args": {}}
    elif attack == "torch_fidelity_extractor":
        weights = str(_payload(folder / "weights.pth", marker))
        hparams["generator"] = {"class_path": FIDELITY, "init_args": {
            "name": "inception-v3-compat", "features_list": ["2048"], "feature_extractor_weights_path": weights}}
    elif attack == "class_path_side_effect":
        hparams["_class_path"] = f"{evil}.EvilGAN"
    elif attack == "ganzoo_class_popen":
        checkpoint["ganzoo_class"] = "subprocess.Popen"
    elif attack == "bad_instantiator":
        hparams["_instantiator"] = f"{evil}.instantiate"
    elif attack == "optimizer_import_path":  # jsonargparse imports a dotted string given to a Callable
        hparams["g_optimizer"] = f"{evil}.make_optimizer"
    elif attack == "top_level_class_path":  # LightningCLI would parse it as the model's class_path
        hparams["class_path"] = f"{evil}.EvilGAN"
    elif attack == "wrong_base":  # trusted origin, but not what the argument takes
        hparams["generator"] = {"class_path": "torch.optim.Adam", "init_args": {}}
    elif attack == "nested_scheduler_popen":
        hparams["g_scheduler"]["init_args"]["total_iters"] = {"class_path": "subprocess.Popen", "init_args": {
            "args": ["/bin/sh", "-c", f"echo ran > {marker}"]}}


#: attack -> (the key its message names, the class it names)
ATTACKS = {
    "popen_datamodule": ("ganzoo_datamodule", "subprocess.Popen"),
    "import_side_effect": ("hyper_parameters.generator.class_path", "{evil}.EvilNet"),
    "torch_fidelity_extractor": ("hyper_parameters.generator.class_path", FIDELITY),
    "class_path_side_effect": ("hyper_parameters._class_path", "{evil}.EvilGAN"),
    "ganzoo_class_popen": ("ganzoo_class", "subprocess.Popen"),
    "bad_instantiator": ("hyper_parameters._instantiator", "{evil}.instantiate"),
    "optimizer_import_path": ("hyper_parameters.g_optimizer", "{evil}.make_optimizer"),
    "nested_scheduler_popen": ("hyper_parameters.g_scheduler.init_args.total_iters.class_path", "subprocess.Popen"),
    "top_level_class_path": ("hyper_parameters.class_path", "{evil}.EvilGAN"),
    "wrong_base": ("hyper_parameters.generator.class_path", "torch.optim.Adam"),
}
#: the datamodule is only loaded by evaluate: the other paths never touch it
DATAMODULE_ONLY = {"popen_datamodule"}
PATHS = ["load_from_checkpoint", "generate", "evaluate", "fit --ckpt_path", "test --ckpt_path"]
#: the pairs also run as a separate `python -m ganzoo` process (the rest run in-process through ganzoo.cli.main)
SUBPROCESS = {("popen_datamodule", "evaluate"), ("import_side_effect", "generate"), ("import_side_effect", "evaluate"),
              ("class_path_side_effect", "fit --ckpt_path"), ("torch_fidelity_extractor", "test --ckpt_path")}
CASES = [(attack, path) for attack in ATTACKS for path in PATHS if attack not in DATAMODULE_ONLY or path == "evaluate"]


def _command(path: str, checkpoint: Path, out: Path) -> list[str]:
    if path == "generate":
        return ["generate", str(checkpoint), "--num_samples", "4", "--output", str(out / "s.npz")]
    if path == "evaluate":
        return ["evaluate", str(checkpoint), "--metrics", "fd_classifier", "--classifier", "digits", "--num_fake", "16",
                "--output", str(out / "m.json")]
    subcommand = path.split()[0]
    return [subcommand, "--config", str(QUICK_START), "--max_g_steps=4", *QUIET, f"--trainer.default_root_dir={out}",
            f"--ckpt_path={checkpoint}"]


@pytest.mark.parametrize("attack, path", CASES, ids=[f"{a}-{p.split()[0]}" for a, p in CASES])
def test_a_crafted_checkpoint_runs_nothing(attack, path, genuine, tmp_path, monkeypatch, capsys):
    evil = f"evil_{attack}_{path.split()[0]}"  # one module name per case: no case sees another's import
    marker = tmp_path / "MARKER"
    _side_effect_module(tmp_path, evil, marker)
    checkpoint = torch.load(genuine, weights_only=True)
    _craft(checkpoint, attack, evil, tmp_path, marker)
    crafted = tmp_path / "crafted.ckpt"
    torch.save(checkpoint, crafted)
    torch.load(crafted, weights_only=True)  # the file itself passes the safe loader
    key, named = (s.format(evil=evil) for s in ATTACKS[attack])
    monkeypatch.chdir(tmp_path)  # the evil module is importable from here, as a downloaded one would be
    monkeypatch.syspath_prepend(str(tmp_path))
    import torch_fidelity.feature_extractor_inceptionv3  # noqa: F401  imported: only its origin refuses it

    if path == "load_from_checkpoint":
        with pytest.raises(ConfigError) as info:
            GANModule.load_from_checkpoint(crafted)
        errors = [str(info.value)]
    elif (attack, path) in SUBPROCESS:
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
        result = subprocess.run([sys.executable, "-m", "ganzoo", *_command(path, crafted, tmp_path)], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr[-2000:]
        errors = result.stderr.strip().splitlines()
    else:
        with pytest.raises(SystemExit) as info:
            main(_command(path, crafted, tmp_path))
        assert info.value.code == 2
        errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1, errors
    assert f"names {key} = {named!r}" in errors[0] and "weights_only=False" not in errors[0], errors[0]
    assert not marker.exists() and evil not in sys.modules
    assert not (tmp_path / "s.npz").exists() and not (tmp_path / "m.json").exists()


def test_the_fix_a_refusal_names_works(genuine, tmp_path, monkeypatch, capsys):
    """A class of the user's own module loads once the user names that module: --import, or trusted_modules."""
    (tmp_path / "mine.py").write_text("from ganzoo import VanillaGAN\n\nclass MyGAN(VanillaGAN):\n    pass\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    checkpoint = torch.load(genuine, weights_only=True)
    checkpoint["hyper_parameters"]["_class_path"] = checkpoint["ganzoo_class"] = "mine.MyGAN"
    torch.save(checkpoint, tmp_path / "mine.ckpt")
    with pytest.raises(SystemExit):
        main(["generate", str(tmp_path / "mine.ckpt"), "--output", str(tmp_path / "s.npz")])
    assert "a module not imported" in capsys.readouterr().err and "mine" not in sys.modules
    main(["generate", str(tmp_path / "mine.ckpt"), "--import", "mine", "--output", str(tmp_path / "s.npz")])
    assert "samples of MyGAN" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="comes from 'mine'.*trusted_modules"):
        GANModule.load_from_checkpoint(tmp_path / "mine.ckpt", trusted_modules=[])
    assert type(GANModule.load_from_checkpoint(tmp_path / "mine.ckpt", trusted_modules=["mine"])).__name__ == "MyGAN"
    assert type(GANModule.load_from_checkpoint(tmp_path / "mine.ckpt")).__name__ == "MyGAN"  # your own code, imported
    with pytest.raises(SystemExit) as info:
        main(["generate", str(tmp_path / "mine.ckpt"), "--import", "not_a_module_here"])
    assert info.value.code == 2 and "--import not_a_module_here failed (ModuleNotFoundError" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    (b"", "is empty (0 bytes)"),
    (b"not a checkpoint at all", "is not a readable checkpoint (Unsupported operand"),
    ("truncated", "is not a readable checkpoint (OSError: [Errno 22] Invalid argument); the file is truncated or corrupt"),
    ("pickle", "carries pickled Python objects (it names pathlib.PosixPath), which ganzoo never loads"),
], ids=["empty", "garbage", "truncated", "pickle"])
def test_unreadable_files_fail_with_one_line_that_never_advises_weights_only_false(genuine, tmp_path, capsys,
                                                                                  content, message):
    bad = tmp_path / "bad.ckpt"
    if content == "truncated":
        content = genuine.read_bytes()[:5000]  # cut inside the tensors: torch's own error is only "[Errno 22]"
    elif content == "pickle":
        torch.save({"state_dict": {}, "x": Path("unpicklable")}, bad)
        content = bad.read_bytes()
    bad.write_bytes(content)
    for command in (["generate", str(bad)], ["fit", "--config", str(QUICK_START), *QUIET, f"--ckpt_path={bad}"]):
        with pytest.raises(SystemExit) as info:
            main(command)
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.count("\n") == 1 and message in err, err
        assert "weights_only" not in err
    with pytest.raises(ConfigError, match=message.split(" (")[0]):
        GANModule.load_from_checkpoint(bad)


def test_genuine_checkpoints_still_load_through_every_path(genuine, tmp_path, capsys):
    assert type(GANModule.load_from_checkpoint(genuine, trusted_modules=[])).__name__ == "VanillaGAN"
    main(["generate", str(genuine), "--num_samples", "4", "--output", str(tmp_path / "s.npz")])
    main(["fit", "--config", str(QUICK_START), "--max_g_steps=3", *QUIET, f"--trainer.default_root_dir={tmp_path}",
          f"--ckpt_path={genuine}"])
    assert "4 samples of VanillaGAN after 2 generator steps" in capsys.readouterr().out


@pytest.mark.parametrize("name", list_gans())
def test_every_zoo_variant_reloads_from_its_checkpoint(name, tmp_path, trainer_kwargs):
    from lightning.pytorch import Trainer

    model = create_gan(name, tiny=True)
    trainer = Trainer(**trainer_kwargs)
    trainer.strategy.connect(model)
    model.trainer = trainer
    trainer.save_checkpoint(tmp_path / "zoo.ckpt")
    injected = {"generator": model.generator, "discriminator": model.discriminator} if name == "gan" else {}
    loaded = GANModule.load_from_checkpoint(tmp_path / "zoo.ckpt", trusted_modules=[], **injected)
    assert type(loaded) is type(model)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_file_objects_are_checked_too_and_urls_are_not_fetched(genuine, tmp_path):
    import io

    buffer = io.BytesIO(genuine.read_bytes())
    assert GANModule.load_from_checkpoint(buffer).g_steps == 2  # read for the checks, rewound for Lightning
    checkpoint = torch.load(genuine, weights_only=True)
    checkpoint["ganzoo_class"] = "subprocess.Popen"
    crafted = io.BytesIO()
    torch.save(checkpoint, crafted)
    crafted.seek(0)
    with pytest.raises(ConfigError, match="names ganzoo_class = 'subprocess.Popen', which comes from 'subprocess'"):
        GANModule.load_from_checkpoint(crafted)
    with pytest.raises(ConfigError, match="is not a local file; download it first"):
        GANModule.load_from_checkpoint("https://example.com/gan.ckpt")


def test_a_class_of_the_wrong_kind_is_named_with_the_kind_expected(genuine, tmp_path):
    checkpoint = torch.load(genuine, weights_only=True)
    checkpoint["hyper_parameters"]["d_optimizer"] = {"class_path": "torch.nn.Linear", "init_args": {}}
    checkpoint["ganzoo_datamodule"] = "ganzoo.VanillaGAN"
    torch.save(checkpoint, tmp_path / "kinds.ckpt")
    with pytest.raises(ConfigError, match=r"hyper_parameters.d_optimizer.class_path = 'torch.nn.Linear', which is not "
                                          r"a subclass of torch.optim.Optimizer; the file was not written for this"):
        GANModule.load_from_checkpoint(tmp_path / "kinds.ckpt")
    with pytest.raises(ConfigError, match=r"names ganzoo_class = 'ganzoo.modules.vanilla.VanillaGAN', which is not a "
                                          r"subclass of ganzoo.modules.dcgan.DCGAN; it is a checkpoint of another kind"):
        DCGAN.load_from_checkpoint(genuine)
    from ganzoo.evaluate import load_datamodule

    with pytest.raises(ConfigError, match="names ganzoo_datamodule = 'ganzoo.VanillaGAN', which is not a subclass of "
                                          "lightning.pytorch.core.datamodule.LightningDataModule"):
        load_datamodule(str(tmp_path / "kinds.ckpt"))
    checkpoint = torch.load(genuine, weights_only=True)
    checkpoint["hyper_parameters"]["g_optimizer"] = "ganzoo.cli.main"  # a ganzoo function, called with G's parameters
    torch.save(checkpoint, tmp_path / "function.ckpt")
    with pytest.raises(ConfigError, match="is a function of 'ganzoo.cli'; a function must come from a module you named"):
        GANModule.load_from_checkpoint(tmp_path / "function.ckpt")


LOAD_IN_A_FRESH_PROCESS = """
import sys
from ganzoo import GANModule
print(type(GANModule.load_from_checkpoint(sys.argv[1])).__name__)
"""


@pytest.mark.slow  # starts a fresh interpreter
def test_the_python_api_loads_a_cli_checkpoint_naming_a_lazily_exported_class(genuine, tmp_path):
    """The CLI records ``_class_path: ganzoo.VanillaGAN``; in a fresh process that name is not yet in
    ganzoo's namespace (exports are imported on first use), and the checks must still find it."""
    result = subprocess.run([sys.executable, "-c", LOAD_IN_A_FRESH_PROCESS, str(genuine)], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": ""})  # fmt: skip
    assert result.returncode == 0, result.stderr[-1000:]
    assert result.stdout.split("\n")[-2] == "VanillaGAN"
