"""``ganzoo generate``: samples from a checkpoint, reproducible by seed, in every output form."""
import numpy as np
import pytest
import torch
from lightning.pytorch import Trainer
from PIL import Image

from ganzoo import DCGAN, DigitsDataModule, Gaussian1D, VanillaGAN
from ganzoo.cli import main


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "dcgan.ckpt"
    trainer = Trainer(accelerator="cpu", max_steps=4, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(path.parent))
    trainer.fit(DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=8, d_width=8), DigitsDataModule(batch_size=16))
    trainer.save_checkpoint(path)
    return path


def generate(*args):
    return main(["generate", *map(str, args)])


def test_npz_holds_rounded_bytes_reproducible_by_seed(checkpoint, tmp_path, capsys):
    generate(checkpoint, "--num_samples", 12, "--seed", 3, "--output", tmp_path / "a.npz", "--device", "cpu")
    generate(checkpoint, "--num_samples", 12, "--seed", 3, "--output", tmp_path / "b.npz", "--batch_size", 5)
    generate(checkpoint, "--num_samples", 12, "--seed", 4, "--output", tmp_path / "c.npz")
    a, b, c = (np.load(tmp_path / f"{k}.npz")["samples"] for k in "abc")
    assert a.shape == (12, 8, 8, 1) and a.dtype == np.uint8  # NHWC bytes, as FID tools read them
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    model = DCGAN.load_from_checkpoint(checkpoint, map_location="cpu")
    expected = ((model.generate(12, seed=3) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    assert np.array_equal(a, expected.permute(0, 2, 3, 1).numpy())
    assert "12 samples of DCGAN after 2 generator steps, seed 3" in capsys.readouterr().out


def test_png_grid_and_directory_of_pngs(checkpoint, tmp_path):
    generate(checkpoint, "--num_samples", 10, "--nrow", 5, "--output", tmp_path / "grid.png")
    assert Image.open(tmp_path / "grid.png").size == (5 * 10 + 2, 2 * 10 + 2)  # 8 px images, 2 px padding, as is
    generate(checkpoint, "--num_samples", 3, "--output", tmp_path / "pngs")
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert Image.open(tmp_path / "pngs" / "000000.png").size == (8, 8)


def test_interpolation_grid(checkpoint, tmp_path):
    generate(checkpoint, "--interpolate", "--num_samples", 3, "--steps", 6, "--output", tmp_path / "walk.png")
    assert Image.open(tmp_path / "walk.png").size == (6 * 10 + 2, 3 * 10 + 2)


def test_pt_keeps_the_generated_floats(checkpoint, tmp_path):
    generate(checkpoint, "--num_samples", 4, "--seed", 1, "--output", tmp_path / "s.pt")
    model = DCGAN.load_from_checkpoint(checkpoint, map_location="cpu")
    assert torch.equal(torch.load(tmp_path / "s.pt"), model.generate(4, seed=1))


def test_vector_samples_go_to_arrays_not_pictures(tmp_path, capsys):
    trainer = Trainer(accelerator="cpu", max_steps=2, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path))
    trainer.fit(VanillaGAN(data_shape=(1,), latent_dim=2, g_hidden_dims=(4,), d_hidden_dims=(4,)),
                Gaussian1D(batch_size=16, num_train=64))
    trainer.save_checkpoint(tmp_path / "v.ckpt")
    generate(tmp_path / "v.ckpt", "--num_samples", 7, "--output", tmp_path / "v.npz")
    assert np.load(tmp_path / "v.npz")["samples"].shape == (7, 1)
    with pytest.raises(SystemExit) as info:
        generate(tmp_path / "v.ckpt", "--output", tmp_path / "v.png")
    assert info.value.code == 2
    assert "shape (64, 1), not images" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["missing.ckpt"], "checkpoint 'missing.ckpt' not found"),
    (["{ckpt}", "--num_samples", "0"], "--num_samples must be an integer >= 1, got '0'"),
    (["{ckpt}", "--output", "x.jpg"], "unknown output type '.jpg'"),
    (["{bad}"], "is not a readable checkpoint (Unsupported operand"),
    pytest.param(["{ckpt}", "--device", "cuda"], "this machine has no CUDA device; use --device cpu",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has CUDA")),
])
def test_bad_input_is_one_line(checkpoint, tmp_path, capsys, args, message):
    (tmp_path / "bad.ckpt").write_bytes(b"not a checkpoint")
    args = [a.format(ckpt=checkpoint, bad=tmp_path / "bad.ckpt") for a in args]
    with pytest.raises(SystemExit) as info:
        generate(*args)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith("ganzoo: error: ") and message in err and err.count("\n") == 1
