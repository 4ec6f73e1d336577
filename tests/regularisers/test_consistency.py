"""Balanced consistency regularisation against its formula, on a linear D and a fixed shift."""
import pytest
import torch
from torch import nn

from ganzoo import BalancedConsistency, ConfigError, DiffAugment, GANModule, VanillaGAN
from ganzoo.augmentation import Augmentation
from ganzoo.nets import MLPGenerator


class Shift(Augmentation):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        return x + self.c


def _linear_gan(bcr):
    d = nn.Linear(4, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[1.0, -2.0, 0.5, 3.0]]))  # sum 2.5
        d.bias.fill_(0.7)
    return GANModule(generator=MLPGenerator(2, (4,), (4,)), discriminator=d, latent_dim=2, regularisers=[bcr])


@pytest.mark.parametrize("lambda_real, lambda_fake", [(10.0, 10.0), (2.0, 0.0), (0.0, 5.0)])
def test_bcr_is_lambda_times_the_squared_change_of_d(lambda_real, lambda_fake):
    bcr = BalancedConsistency(lambda_real, lambda_fake, transform=Shift(0.2))
    gan = _linear_gan(bcr)
    real, fake = torch.randn(8, 4), torch.randn(8, 4)
    d_step = gan.discriminator_objective(real, fake)
    value = gan.discriminator_penalty(real, fake, None, d_step)
    # D(x + c) - D(x) = c * sum(w) = 0.2 * 2.5 for every sample
    assert float(value.detach()) == pytest.approx((lambda_real + lambda_fake) * 0.5**2)
    assert set(gan._penalty_logs) == {"train/d_bcr"}


def test_bcr_trains_d_through_both_scores():
    gan = _linear_gan(BalancedConsistency(1.0, 0.0, transform=Shift(0.2)))
    real = torch.randn(8, 4)
    gan.discriminator_penalty(real, real, None, gan.discriminator_objective(real, real)).backward()
    # d/dw (c * sum(w))^2 = 2 * c * sum(w) * c for each weight; the bias cancels
    assert torch.allclose(gan.discriminator.weight.grad, torch.full((1, 4), 2 * 0.2 * 2.5 * 0.2))
    assert float(gan.discriminator.bias.grad) == pytest.approx(0.0)


def test_the_default_transform_is_the_papers_flip_and_translation():
    transform = BalancedConsistency().transform
    assert isinstance(transform, DiffAugment) and transform.ops == ["flip", "translation"]
    assert transform.translation_ratio == 0.125
    with pytest.raises(ConfigError, match="bCR lambda_real must be"):
        BalancedConsistency(lambda_real=-1)


def test_bcr_on_images_in_a_training_step():
    from lightning.pytorch import Trainer

    from ganzoo import DCGAN, DigitsDataModule

    model = DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=4, d_width=4, d_norm="none",
                  regularisers=[BalancedConsistency()])
    trainer = Trainer(accelerator="cpu", max_steps=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, log_every_n_steps=1, limit_val_batches=0)
    trainer.fit(model, DigitsDataModule(batch_size=16))
    assert float(trainer.callback_metrics["train/d_bcr"]) > 0


def test_bcr_on_vectors_takes_a_transform_of_vectors_and_the_default_says_it_needs_images():
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    model = VanillaGAN(data_shape=(2,), latent_dim=2, regularisers=[BalancedConsistency(transform=Shift(0.1))])
    value = model.discriminator_penalty(real, fake, None, model.discriminator_objective(real, fake))
    assert float(value.detach()) > 0 and value.requires_grad
    model = VanillaGAN(data_shape=(2,), latent_dim=2, regularisers=[BalancedConsistency()])
    with pytest.raises(ConfigError, match=r"DiffAugment augments images \(N, C, H, W\), got samples of shape \(4, 2\)"):
        model.discriminator_penalty(real, fake, None, model.discriminator_objective(real, fake))
