import inspect

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import ganzoo.modules
from ganzoo import ConfigError, GANModule, MaxGeneratorSteps, Ring2D, create_gan, list_gans
from ganzoo.registry import ZOO


def smoke_data(shape, num_classes=0):
    """``Trainer.fit`` data: Ring2D for 2-D variants, else random samples in [-1, 1] of their shape (images),
    with random labels for the conditional variants."""
    if shape == (2,):
        return {"datamodule": Ring2D(batch_size=32)}

    def dataset(n):
        samples = torch.rand(n, *shape) * 2 - 1
        return TensorDataset(samples, torch.randint(num_classes, (n,))) if num_classes else TensorDataset(samples)

    train, val = dataset(64), dataset(16)
    return {"train_dataloaders": DataLoader(train, batch_size=8, shuffle=True), "val_dataloaders": DataLoader(val, 8)}


@pytest.mark.parametrize("name", list_gans())
def test_every_zoo_variant_trains_a_few_steps_without_nan(name, trainer_kwargs):
    pl.seed_everything(0)
    model = create_gan(name, tiny=True)
    shape = tuple(model.generate(1).shape[1:])
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=1, val_check_interval=3,
                         check_val_every_n_epoch=None, log_every_n_steps=1, callbacks=[MaxGeneratorSteps(6)])
    trainer.fit(model, **smoke_data(shape, model.num_classes))
    assert model.g_steps == 6
    samples = model.generate(50, seed=0)
    assert samples.shape == (50, *shape) and torch.isfinite(samples).all()
    losses = {k: v for k, v in trainer.callback_metrics.items() if "loss" in k or "/d_" in k}
    assert "train/d_loss" in losses and "val/g_loss" in losses
    assert all(torch.isfinite(v) for v in losses.values())


def test_every_ganmodule_in_the_package_is_registered():
    classes = {obj for _, obj in inspect.getmembers(ganzoo.modules, inspect.isclass) if issubclass(obj, GANModule)}
    assert classes == {entry.cls for entry in ZOO.values()}


def test_unknown_variant_lists_the_zoo():
    with pytest.raises(ConfigError, match="unknown GAN 'dcgam'; choose one of: acgan, cgan, dcgan, gan, projgan, selfcond, sngan, vanilla"):
        create_gan("dcgam")
