"""SNGAN and the ResNet recipes: the paper's defaults, a checkpoint round trip, the CIFAR-10 recipes."""
from pathlib import Path
from types import SimpleNamespace

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from ganzoo import CIFAR10DataModule, GANModule, MaxGeneratorSteps, ProjectionGAN, SNGAN
from ganzoo.cli import GANZooCLI
from ganzoo.nets import ProjectionDiscriminator, ResNetDiscriminator, ResNetGenerator

ROOT = Path(__file__).resolve().parents[2]
CIFAR_RECIPES = {"sngan_cifar10": SNGAN, "projgan_resnet_cifar10": ProjectionGAN}


def test_sngan_defaults_are_the_papers_cifar10_setting():
    model = SNGAN()
    assert (model.hparams.loss, model.n_critic, model.latent_dim, model.data_shape) == ("hinge", 5, 128, (3, 32, 32))
    assert isinstance(model.generator, ResNetGenerator) and isinstance(model.discriminator, ResNetDiscriminator)
    assert sum(p.numel() for p in model.generator.parameters()) == 4_276_739  # tests/nets/test_resnet.py counts it
    g_opt, d_opt = model.configure_optimizers()[0]
    for opt in (g_opt, d_opt):
        assert type(opt) is torch.optim.Adam
        assert opt.defaults["lr"] == 2e-4 and tuple(opt.defaults["betas"]) == (0.0, 0.9)


def test_a_trained_sngan_reloads_to_the_same_samples(trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = SNGAN(data_shape=(1, 16, 16), g_width=8, d_width=8, latent_dim=8, n_critic=2)
    images = torch.utils.data.TensorDataset(torch.rand(32, 1, 16, 16) * 2 - 1)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(3)])
    loader = torch.utils.data.DataLoader(images, batch_size=8)
    trainer.fit(model, loader, val_dataloaders=loader)  # validation is off; the loader spares Lightning's warning
    assert (model.g_steps, model.d_steps) == (3, 6)
    trainer.save_checkpoint(tmp_path / "sngan.ckpt")
    loaded = GANModule.load_from_checkpoint(tmp_path / "sngan.ckpt", map_location="cpu")
    assert type(loaded) is SNGAN and loaded.hparams.g_width == 8 and loaded.data_shape == (1, 16, 16)
    assert torch.equal(loaded.generate(6, seed=1), model.generate(6, seed=1))


def fake_cifar(monkeypatch, n=80):
    """No copy of CIFAR-10 is at hand: random (N, 32, 32, 3) bytes and labels stand in for it."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    targets = (np.arange(n) % 10).tolist()
    monkeypatch.setattr(CIFAR10DataModule, "_dataset", lambda self, train: SimpleNamespace(data=data, targets=targets))


@pytest.mark.slow  # builds the paper's networks, then trains through the CLI: 4-13 s each here
@pytest.mark.parametrize("recipe", sorted(CIFAR_RECIPES))
def test_cifar10_recipes_have_the_papers_settings_and_train_on_random_images(recipe, monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_MODE", "offline")
    fake_cifar(monkeypatch)
    config = ["--config", str(ROOT / "zoo_configs" / f"{recipe}.yaml"), f"--trainer.default_root_dir={tmp_path}",
              "--trainer.logger=false"]  # fmt: skip
    paper = GANZooCLI(args=config, run=False)
    model = paper.model
    assert type(model) is CIFAR_RECIPES[recipe] and paper.datamodule.batch_size == 64
    assert (model.hparams.loss, model.n_critic, model.latent_dim) == ("hinge", 5, 128)
    assert (model.hparams.g_width, model.hparams.d_width) == (256, 128)
    assert sum(p.numel() for p in model.discriminator.parameters()) >= 1_053_825  # SNGAN's 32-px D, plus a class embedding
    if recipe == "projgan_resnet_cifar10":
        assert type(model.discriminator) is ProjectionDiscriminator and model.generator.num_classes == 10
    (g_opt, d_opt), (g_decay, d_decay) = model.configure_optimizers()
    assert all(opt.defaults["lr"] == 2e-4 and tuple(opt.defaults["betas"]) == (0.0, 0.9) for opt in (g_opt, d_opt))
    # Linear decay to 0 at the last step of each player: 50,000 G updates, 5 D updates per G update.
    assert (g_decay.total_iters, d_decay.total_iters, g_decay.end_factor) == (50_000, 250_000, 0.0)

    small = ["--model.init_args.g_width=16", "--model.init_args.d_width=16", "--data.init_args.batch_size=8",
             "--max_g_steps=2", "--trainer.callbacks=[]", "--trainer.callbacks+=ganzoo.GANCheckpoint"]  # fmt: skip
    cli = GANZooCLI(args=["fit", *config, *small])  # FID needs InceptionV3's weights: the metrics callback is left out
    assert (cli.model.g_steps, cli.model.d_steps) == (2, 10)
    assert cli.trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - 2 / 50_000))
    loaded = GANModule.load_from_checkpoint(next(tmp_path.rglob("last.ckpt")), map_location="cpu")
    labels = torch.arange(10) if loaded.num_classes else None
    samples = loaded.generate(10, seed=0, labels=labels)
    assert samples.shape == (10, 3, 32, 32) and torch.isfinite(samples).all()
