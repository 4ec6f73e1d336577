"""GANModule's speed options, compile and channels_last: what they change and that checkpoints cross them."""
import pytest
import torch
from lightning.pytorch import Trainer, seed_everything
from torch.utils.data import DataLoader, TensorDataset

from ganzoo import DCGAN, MaxGeneratorSteps, VanillaGAN
from ganzoo.errors import ConfigError
from ganzoo.regularisers import R1


def fit(model, data, g_steps, tmp_path=None):
    trainer = Trainer(
        accelerator="cpu", max_epochs=-1, logger=False, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, limit_val_batches=0, callbacks=[MaxGeneratorSteps(g_steps)],
        default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(model, train_dataloaders=DataLoader(data, batch_size=8))
    return trainer


def tiny_dcgan(**kwargs):
    seed_everything(0)
    return DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=4, d_width=4, ema_decay=0.9, **kwargs)


def images():
    return TensorDataset(torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1)


def conv_weights(module):
    return {name: p for name, p in module.named_parameters() if p.dim() == 4}


def test_channels_last_stores_conv_weights_so_and_trains_as_the_default(tmp_path):
    default, fast = tiny_dcgan(), tiny_dcgan(channels_last=True)
    weights = conv_weights(fast)
    assert {name.split(".")[0] for name in weights} == {"generator", "discriminator", "generator_ema"}
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in weights.values())
    assert any(not p.is_contiguous() for p in weights.values())  # a kernel of width 1 is in both formats at once
    assert all(p.is_contiguous() for p in conv_weights(default).values())
    seed_everything(2)
    fit(default, images(), 3)
    seed_everything(2)
    trainer = fit(fast, images(), 3)
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in conv_weights(fast).values())  # kept by Adam
    for (name, a), b in zip(default.state_dict().items(), fast.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)  # the same arithmetic, other strides
    # A checkpoint crosses the option both ways: the keys are the same, loading copies values into either format.
    trainer.save_checkpoint(tmp_path / "fast.ckpt")
    plain = DCGAN.load_from_checkpoint(tmp_path / "fast.ckpt", channels_last=False)
    assert all(p.is_contiguous() for p in conv_weights(plain).values())
    z = torch.randn(4, 8)
    torch.testing.assert_close(plain.eval()(z), fast.eval()(z), rtol=1e-4, atol=1e-5)


def test_compile_refuses_a_penalty_that_differentiates_d_twice():
    with pytest.raises(ConfigError, match="compile=True cannot train with gradient_penalty.*compile: false"):
        VanillaGAN(data_shape=[2], latent_dim=4, loss="wgan_gp", compile=True)
    with pytest.raises(ConfigError, match="compile=True cannot train with R1"):
        VanillaGAN(data_shape=[2], latent_dim=4, regularisers=[R1(gamma=1.0)], compile=True)


@pytest.mark.slow  # torch.compile's first compilation of G and D: tens of seconds on a busy CPU
def test_compile_trains_compiled_networks_whose_checkpoint_loads_without_compile(tmp_path):
    seed_everything(0)
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], compile=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    compiling = []  # whether dynamo was tracing each time G's Python forward ran: only while compiling, if compiled
    forward = model.generator.forward
    model.generator.forward = lambda z: compiling.append(torch.compiler.is_compiling()) or forward(z)
    trainer = fit(model, TensorDataset(torch.randn(32, 2)), 2, tmp_path)
    assert compiling and all(compiling)
    del model.generator.forward
    assert not torch.equal(before["generator.net.0.weight"], model.state_dict()["generator.net.0.weight"])
    trainer.save_checkpoint(tmp_path / "compiled.ckpt")
    state = torch.load(tmp_path / "compiled.ckpt", weights_only=True)["state_dict"]
    assert set(state) == set(before)  # no "_orig_mod." prefix: in-place compilation keeps the module tree
    plain = VanillaGAN.load_from_checkpoint(tmp_path / "compiled.ckpt", compile=False)
    z = torch.randn(4, 4)
    torch.testing.assert_close(plain.eval()(z), model.eval()(z))
