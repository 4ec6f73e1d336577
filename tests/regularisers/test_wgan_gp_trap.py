"""The trap of docs/regularisers.md: WGAN-GP's penalty weight 10 on 1-D data sends G away; weight 1 does not.

In one dimension D's input gradient is a signed slope, and a critic can reverse its slope
only through slope 0, where the two-sided penalty costs ``gradient_penalty``: G then runs
past the data until the gap between the real and the generated means pays for it (about
twice the weight, in data units). Both runs start alike (seed 1, whose D starts with the
wrong slope) and differ only in the weight.
"""
import functools

import lightning.pytorch as pl
import pytest
import torch

from ganzoo import Gaussian1D, MaxGeneratorSteps, VanillaGAN


def generated_mean(gradient_penalty, trainer_kwargs):
    pl.seed_everything(1)
    adam = functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))  # GANModule's default
    model = VanillaGAN(data_shape=[1], latent_dim=8, prior="uniform", loss="wgan_gp", gradient_penalty=gradient_penalty,
                       g_hidden_dims=[64, 64], d_hidden_dims=[64, 64], g_optimizer=adam, d_optimizer=adam)  # fmt: skip
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(300)])
    trainer.fit(model, Gaussian1D(batch_size=256, num_train=25_600))
    return float(model.generate(2000, seed=0).mean())


@pytest.mark.slow
def test_wgan_gp_with_weight_10_leaves_1d_data_and_weight_1_stays(trainer_kwargs):
    assert abs(generated_mean(None, trainer_kwargs) - 4.0) > 8  # the default weight, 10: G runs the wrong way (-9.2)
    assert abs(generated_mean(1.0, trainer_kwargs) - 4.0) < 3.5  # it swings about the data by about 2 (6.4 here)
