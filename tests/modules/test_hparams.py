"""What a logger receives as the model's hyperparameters."""
import torch
import yaml
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from ganzoo import GANModule
from ganzoo.data import Gaussian1D


def _big_networks():
    # 2 million weights each: a logger that dumps them as YAML takes seconds
    generator = nn.Sequential(nn.Linear(4, 1400), nn.ReLU(), nn.Linear(1400, 1400), nn.ReLU(), nn.Linear(1400, 1))
    discriminator = nn.Sequential(nn.Linear(1, 1400), nn.ReLU(), nn.Linear(1400, 1400), nn.ReLU(), nn.Linear(1400, 1))
    return generator, discriminator


def test_injected_networks_and_optimizers_never_reach_the_loggers(tmp_path):
    generator, discriminator = _big_networks()
    assert sum(p.numel() for p in generator.parameters()) > 1_900_000
    model = GANModule(generator, discriminator, latent_dim=4, g_optimizer=lambda p: torch.optim.SGD(p, lr=0.01))
    for hparams in (model.hparams, model.hparams_initial):
        assert not {"generator", "discriminator", "g_optimizer"} & set(hparams)
        assert hparams["latent_dim"] == 4
    trainer = Trainer(
        max_steps=2, logger=CSVLogger(tmp_path), enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, limit_val_batches=0,
    )
    trainer.fit(model, Gaussian1D(batch_size=8, num_train=32, num_val=8))
    written = tmp_path / "lightning_logs" / "version_0" / "hparams.yaml"
    saved = yaml.safe_load(written.read_text())
    assert saved["latent_dim"] == 4 and not {"generator", "discriminator", "g_optimizer"} & set(saved)
    assert written.stat().st_size < 2_000
