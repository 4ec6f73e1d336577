"""A user's own classes, in ./mygans.py, through every command of the ``ganzoo`` console script (issue 14, item 2).

Run from a clean directory holding only ``mygans.py`` and a folder of images, with
PYTHONPATH naming ganzoo's source alone: the working directory must be importable as
``python -m ganzoo`` makes it.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

MYGANS = '''
"""My GANs: a DCGAN with the R1 penalty, and an image folder with an option of its own."""
from ganzoo import DCGAN, ImageFolderDataModule
from ganzoo.losses import critic_input_gradients


class R1DCGAN(DCGAN):
    """DCGAN with the R1 gradient penalty on real images (Mescheder et al. 2018).

    Args:
        r1_gamma: weight gamma of (gamma / 2) E ||grad_x D(x)||^2.
    """

    def __init__(self, r1_gamma: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.r1_gamma = r1_gamma

    def discriminator_penalty(self, real, fake, labels=None):
        real = real.detach().requires_grad_(True)
        grad = critic_input_gradients(lambda x: self.discriminate(x, labels), real, self.gradient_scale())
        return self.r1_gamma / 2 * grad.flatten(1).pow(2).sum(1).mean()


class MyFolder(ImageFolderDataModule):
    """ImageFolderDataModule; everything but ``note`` goes to it through **kwargs (data_dir too)."""

    def __init__(self, note: str = "mine", **kwargs):
        super().__init__(**kwargs)
        self.note = note
'''


def _digit_images(folder: Path, n: int = 48) -> None:
    from sklearn.datasets import load_digits

    folder.mkdir()
    for i, image in enumerate(load_digits().images[:n]):
        Image.fromarray((image * 255 / 16).astype(np.uint8), mode="L").save(folder / f"{i:03d}.png")


def _ganzoo(*args, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([str(Path(sys.executable).with_name("ganzoo")), *map(str, args)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == expect, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_fit_resume_generate_evaluate_a_class_of_my_own_module(tmp_path):
    (tmp_path / "mygans.py").write_text(textwrap.dedent(MYGANS))
    _digit_images(tmp_path / "digits")
    fit = ["fit", "--model", "mygans.R1DCGAN", "--model.init_args.r1_gamma", "0.1", "--model.init_args.latent_dim", "8",
           "--model.init_args.g_width", "8", "--model.init_args.d_width", "8", "--data", "mygans.MyFolder",
           "--data.init_args.data_dir", "digits", "--data.init_args.image_size", "8", "--data.init_args.channels", "1",
           "--data.init_args.batch_size", "8", "--data.init_args.note", "kept", "--trainer.logger", "false",
           "--trainer.limit_val_batches", "0", "--trainer.enable_progress_bar", "false", "--seed_everything", "0"]
    _ganzoo(*fit, "--max_g_steps", "3", "--trainer.default_root_dir", "first", cwd=tmp_path)
    first = next((tmp_path / "first").rglob("*.ckpt"))
    _ganzoo(*fit, "--max_g_steps", "5", "--trainer.default_root_dir", "resumed", "--ckpt_path", first, cwd=tmp_path)
    resumed = next((tmp_path / "resumed").rglob("*.ckpt"))

    out = _ganzoo("generate", resumed, "--import", "mygans", "--num_samples", "4", "--output", "s.npz", cwd=tmp_path).stdout
    assert "4 samples of R1DCGAN after 5 generator steps" in out
    assert np.load(tmp_path / "s.npz")["samples"].shape == (4, 8, 8, 1)

    (tmp_path / "digits").rename(tmp_path / "moved")  # the recorded data_dir is gone: --data_dir points at the files
    evaluate = ["evaluate", resumed, "--import", "mygans", "--metrics", "fd_classifier", "--classifier", "digits",
                "--num_fake", "32", "--output", "m.json"]
    _ganzoo(*evaluate, "--data_dir", "moved", cwd=tmp_path)
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["model"] == "R1DCGAN" and report["generator_steps"] == 5
    assert report["protocol"]["num_real"] == 47  # the 48 moved images less the one held out (val_fraction 0.01)
    assert list(report["metrics"]) == ["fd_digits_32_train"] and np.isfinite(report["metrics"]["fd_digits_32_train"])

    refused = _ganzoo("generate", resumed, "--output", "t.npz", cwd=tmp_path, expect=2).stderr.strip().splitlines()
    assert len(refused) == 1 and "names ganzoo_class = 'mygans.R1DCGAN', which lives in 'mygans', a module not imported" in refused[0]
    assert refused[0].endswith("pass --import mygans") and not (tmp_path / "t.npz").exists()


def test_evaluate_rebuilds_a_kwargs_datamodule_with_every_recorded_argument(tmp_path, monkeypatch):
    """The datamodule gets ``data_dir`` and its own ``note`` back, though both pass through **kwargs."""
    import torch

    from ganzoo.evaluate import load_datamodule

    (tmp_path / "mygans_kw.py").write_text(textwrap.dedent(MYGANS))
    _digit_images(tmp_path / "digits", n=8)
    monkeypatch.syspath_prepend(str(tmp_path))
    checkpoint = {"state_dict": {}, "ganzoo_datamodule": "mygans_kw.MyFolder", "datamodule_hyper_parameters": {
        "_class_path": "mygans_kw.MyFolder", "_instantiator": "lightning.pytorch.cli.instantiate_module",
        "note": "kept", "data_dir": str(tmp_path / "digits"), "image_size": 8, "channels": 1}}
    torch.save(checkpoint, tmp_path / "dm.ckpt")
    datamodule = load_datamodule(str(tmp_path / "dm.ckpt"), imports=["mygans_kw"])
    assert (datamodule.note, datamodule.data_dir, datamodule.image_shape) == ("kept", str(tmp_path / "digits"), (1, 8, 8))
    (tmp_path / "digits").rename(tmp_path / "moved")
    assert load_datamodule(str(tmp_path / "dm.ckpt"), data_dir=str(tmp_path / "moved"), imports=["mygans_kw"]).note == "kept"
