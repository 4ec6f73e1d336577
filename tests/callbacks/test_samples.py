"""Sample grids: fixed codes kept in checkpoints, grid files of the right size, every logger setting."""
import pytest
import torch
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger
from PIL import Image

from ganzoo import DCGAN, DigitsDataModule, GANModule, SampleGrid, VanillaGAN
from ganzoo.errors import ConfigError
from ganzoo.viz import image_grid, to_uint8


def tiny_dcgan(**kwargs):
    return DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=8, d_width=8, **kwargs)


def test_bytes_are_rounded_not_truncated():
    x = torch.tensor([-1.0, -0.999, 0.0, 0.5, 1.0, 1.5])
    # 0.0 -> 127.5 -> 128 (rounded; truncation gives 127); beyond [-1, 1] clamps.
    assert to_uint8(x).tolist() == [0, 0, 128, 191, 255, 255]


@pytest.mark.parametrize("n, size, channels, nrow, upscale, expected", [
    (64, 8, 1, 8, None, (3, 8 * 34 + 2, 8 * 34 + 2)),   # 8 px shown at 32 px
    (10, 28, 3, 4, None, (3, 3 * 58 + 2, 4 * 58 + 2)),  # 28 px doubled; 3 rows, the last partial
    (6, 32, 1, 3, 1, (3, 2 * 34 + 2, 3 * 34 + 2)),
])
def test_grid_has_the_expected_pixel_size(n, size, channels, nrow, upscale, expected):
    grid = image_grid(torch.rand(n, channels, size, size) * 2 - 1, nrow=nrow, upscale=upscale)
    assert tuple(grid.shape) == expected and grid.dtype == torch.uint8


def test_fixed_codes_are_a_buffer_that_survives_checkpoints(tmp_path, trainer_kwargs):
    model = tiny_dcgan()
    z = model.fixed_latents().clone()
    assert z.shape == (GANModule.num_fixed_latents, 8)
    assert torch.equal(tiny_dcgan().fixed_latents(), z)  # drawn from eval_seed: the same for every run
    assert not torch.equal(tiny_dcgan(eval_seed=1).fixed_latents(), z)
    trainer = Trainer(**trainer_kwargs, max_steps=2)
    trainer.fit(model, DigitsDataModule(batch_size=16))
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = GANModule.load_from_checkpoint(tmp_path / "m.ckpt", eval_seed=5)  # another seed would draw other codes
    assert torch.equal(loaded.fixed_z, z)
    assert torch.equal(loaded.decode(loaded.fixed_latents()[:4]), model.decode(z[:4]))


def test_a_checkpoint_without_fixed_codes_still_loads(tmp_path, trainer_kwargs):
    model = tiny_dcgan()
    trainer = Trainer(**trainer_kwargs, max_steps=2)
    trainer.fit(model, DigitsDataModule(batch_size=16))
    path = tmp_path / "old.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=False)
    del checkpoint["state_dict"]["fixed_z"]  # as written before grids existed
    torch.save(checkpoint, path)
    loaded = GANModule.load_from_checkpoint(path)
    assert torch.equal(loaded.fixed_latents(), tiny_dcgan().fixed_latents())


def test_interpolation_walks_from_one_code_to_the_other():
    for prior in ("normal", "uniform"):
        model = tiny_dcgan(prior=prior)
        a, b = model.sample_prior(6, torch.Generator().manual_seed(0)).split(3)
        path = model.interpolate_latents(a, b, 5).view(3, 5, -1)
        assert torch.allclose(path[:, 0], a, atol=1e-5) and torch.allclose(path[:, -1], b, atol=1e-5)
        if prior == "normal":  # spherical: between codes of one norm, the path keeps that norm (a line sags inside)
            b = b / b.norm(dim=-1, keepdim=True) * a.norm(dim=-1, keepdim=True)
            norms = model.interpolate_latents(a, b, 5).view(3, 5, -1).norm(dim=-1)
            assert torch.allclose(norms, a.norm(dim=-1, keepdim=True).expand(3, 5), rtol=1e-4)
        else:
            assert torch.allclose(path[:, 2], (a + b) / 2, atol=1e-5)


def run_with_grid(tmp_path, logger, every=2, steps=4):
    grid = SampleGrid(every_n_steps=every, num_samples=16, nrow=4, interpolation_rows=2, interpolation_steps=5)
    trainer = Trainer(accelerator="cpu", logger=logger, callbacks=[grid], max_steps=2 * steps,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      default_root_dir=str(tmp_path), limit_val_batches=0)
    trainer.fit(tiny_dcgan(), DigitsDataModule(batch_size=16))
    return grid


@pytest.mark.parametrize("make_logger", [
    lambda d: False,
    lambda d: CSVLogger(str(d)),
], ids=["no_logger", "csv"])
def test_grids_are_written_every_n_generator_steps_with_any_logger(tmp_path, make_logger, capsys):
    grid = run_with_grid(tmp_path, make_logger(tmp_path))
    final = next(p for p in grid.written if p.name == "grid_g000004.png")
    assert f"ganzoo: samples after 4 generator steps: {final}" in capsys.readouterr().out
    names = sorted(p.name for p in grid.written)
    assert names == [f"{kind}_g{g:06d}.png" for kind in ("grid", "interpolation") for g in (0, 2, 4)]
    sample = Image.open(next(p for p in grid.written if p.name == "grid_g000004.png"))
    assert sample.size == (4 * 34 + 2, 4 * 34 + 2)  # 4 x 4 images of 8 px shown at 32 px, 2 px padding
    walk = Image.open(next(p for p in grid.written if p.name == "interpolation_g000004.png"))
    assert walk.size == (5 * 34 + 2, 2 * 34 + 2)
    assert all(p.parent.name == "samples" and p.is_file() for p in grid.written)


def test_non_image_generators_are_skipped_with_a_warning(tmp_path):
    from ganzoo import Gaussian1D

    grid = SampleGrid(every_n_steps=1)
    trainer = Trainer(accelerator="cpu", logger=False, callbacks=[grid], max_steps=4, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path))
    with pytest.warns(UserWarning, match=r"SampleGrid draws images .* makes \(1, 1\)"):
        trainer.fit(VanillaGAN(data_shape=(1,), latent_dim=2, g_hidden_dims=(4,), d_hidden_dims=(4,)),
                    Gaussian1D(batch_size=16, num_train=64))
    assert grid.written == []


@pytest.mark.parametrize("kwargs, message", [
    ({"every_n_steps": 0}, "every_n_steps must be a positive integer, got 0"),
    ({"interpolation_rows": -1}, "interpolation_rows must be a non-negative integer, got -1"),
])
def test_bad_grid_settings_fail_with_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SampleGrid(**kwargs)


def test_more_samples_than_fixed_codes_is_refused_before_training(tmp_path):
    trainer = Trainer(accelerator="cpu", logger=False, callbacks=[SampleGrid(num_samples=100)], max_steps=2,
                      enable_checkpointing=False, enable_progress_bar=False, default_root_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="num_samples <= 64"):
        trainer.fit(tiny_dcgan(), DigitsDataModule(batch_size=16))


@pytest.mark.filterwarnings("ignore:You're resuming from a checkpoint that ended before the epoch ended")
def test_a_resumed_run_keeps_its_fixed_codes(tmp_path, trainer_kwargs):
    first = tiny_dcgan()
    trainer = Trainer(**trainer_kwargs, max_steps=2)
    trainer.fit(first, DigitsDataModule(batch_size=16))
    z = first.fixed_latents().clone()
    trainer.save_checkpoint(tmp_path / "run.ckpt")
    resumed = tiny_dcgan(eval_seed=7)  # would draw other codes of its own
    Trainer(**trainer_kwargs, max_steps=4).fit(resumed, DigitsDataModule(batch_size=16), ckpt_path=tmp_path / "run.ckpt")
    assert resumed.g_steps == 2 and torch.equal(resumed.fixed_latents(), z)
