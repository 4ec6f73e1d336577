"""Gradient clipping in manual optimization, mixed precision on the CPU, and faults: NaN losses and SIGTERM."""
import os
import signal

import lightning.pytorch as pl
import pytest
import torch

from ganzoo import ConfigError, DCGAN, MaxGeneratorSteps, Ring2D, VanillaGAN
from ganzoo.errors import NonFiniteLossError
from helpers import nan_model, g_steps_in


class StepSizes(pl.Callback):
    """Records the L2 norm of each network's update (with SGD(lr=1) it is the clipped gradient's norm)."""

    def __init__(self):
        self.sizes = {"generator": [], "discriminator": []}
        self._before = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._before = {name: torch.cat([p.detach().flatten().clone() for p in getattr(pl_module, name).parameters()])
                        for name in self.sizes}  # fmt: skip

    def on_train_batch_end(self, trainer, pl_module, *args):
        for name, before in self._before.items():
            after = torch.cat([p.detach().flatten() for p in getattr(pl_module, name).parameters()])
            self.sizes[name].append((after - before).norm().item())


def sgd(params):
    return torch.optim.SGD(params, lr=1.0)


@pytest.mark.parametrize("clip", [None, 0.01])
def test_gradient_clip_norm_bounds_each_networks_update(clip, trainer_kwargs):
    pl.seed_everything(0)
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16],
                       g_optimizer=sgd, d_optimizer=sgd, gradient_clip_norm=clip)  # fmt: skip
    sizes = StepSizes()
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(5), sizes])
    trainer.fit(model, Ring2D(batch_size=64, num_train=512))
    for name, steps in sizes.sizes.items():
        assert len(steps) == 5 and all(s > 0 for s in steps), name
        if clip is None:  # unclipped SGD(lr=1) moves far more than the clip norm
            assert max(steps) > 10 * 0.01, (name, steps)
        else:
            assert max(steps) <= clip * 1.0001, (name, steps)


def test_bad_clip_norm_fails_with_one_line():
    with pytest.raises(ConfigError, match=r"gradient_clip_norm must be a number > 0, got -1; e.g. gradient_clip_norm=1.0"):
        VanillaGAN(gradient_clip_norm=-1)


def test_bf16_mixed_trains_with_clipping_on_the_cpu(trainer_kwargs):
    pl.seed_everything(0)
    model = DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=4, d_width=4, gradient_clip_norm=1.0)
    data = torch.utils.data.TensorDataset(torch.rand(64, 1, 8, 8) * 2 - 1)
    trainer = pl.Trainer(**trainer_kwargs, precision="bf16-mixed", max_epochs=-1, limit_val_batches=0,
                         log_every_n_steps=1, callbacks=[MaxGeneratorSteps(4)])  # fmt: skip
    trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=16, shuffle=True))
    assert model.g_steps == 4
    assert all(torch.isfinite(trainer.callback_metrics[k]) for k in ("train/d_loss", "train/g_loss"))
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast computes in bf16, weights stay fp32


def test_a_nan_loss_stops_training_with_one_line_and_the_last_checkpoint_loads(trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = nan_model("raise")
    saver = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2, save_top_k=-1)
    trainer = pl.Trainer(**{**trainer_kwargs, "enable_checkpointing": True}, max_epochs=-1, limit_val_batches=0,
                         callbacks=[MaxGeneratorSteps(10), saver])  # fmt: skip
    with pytest.raises(NonFiniteLossError) as error:
        trainer.fit(model, Ring2D(batch_size=32, num_train=512))
    message = str(error.value)
    # Read on the host only at checks: here the checkpoint after each batch (2 optimizer steps each).
    assert message.startswith("D loss is nan at D update 3 (after 2 generator steps); training stopped before writing a "
                              "checkpoint (G's and D's weights are NaN or infinite by then), before any checkpoint held")  # fmt: skip
    assert "\n" not in message and "on_nonfinite_loss: skip" in message
    assert (model.d_steps, model.g_steps) == (3, 3)  # the update was made: the in-memory model holds its weights
    checkpoints = sorted((tmp_path / "ckpt").glob("*.ckpt"))
    assert [g_steps_in(path) for path in checkpoints] == [1, 2]
    loaded = VanillaGAN.load_from_checkpoint(checkpoints[-1])
    assert loaded.g_steps == 2 and all(torch.isfinite(p).all() for p in loaded.parameters())
    assert torch.isfinite(loaded.generate(8, seed=0)).all()


def test_skip_drops_the_nan_update_and_trains_on(trainer_kwargs):
    pl.seed_everything(0)
    model = nan_model("skip")
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(5)])
    trainer.fit(model, Ring2D(batch_size=32, num_train=512))
    assert model.skipped_steps == 1 and (model.g_steps, model.d_steps) == (5, 4)  # G still updated in that batch
    assert all(torch.isfinite(p).all() for p in model.parameters())
    with pytest.raises(ConfigError, match="unknown on_nonfinite_loss 'stop'; choose one of: ignore, raise, skip"):
        nan_model("stop")


class SigtermAt(pl.Callback):
    """Sends this process a SIGTERM after the given generator step, as a cluster's preemption would."""

    def __init__(self, g_step):
        self.g_step = g_step

    def on_train_batch_end(self, trainer, pl_module, *args):
        if pl_module.g_steps == self.g_step and not trainer.received_sigterm:
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_saves_last_ckpt_and_training_resumes_from_it(trainer_kwargs, tmp_path):
    from ganzoo import GANCheckpoint

    pl.seed_everything(0)
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    saver = GANCheckpoint(dirpath=tmp_path / "ckpt")
    trainer = pl.Trainer(**{**trainer_kwargs, "enable_checkpointing": True}, max_epochs=-1, limit_val_batches=0,
                         callbacks=[MaxGeneratorSteps(8), saver, SigtermAt(3)])  # fmt: skip
    with pytest.raises(SystemExit):  # Lightning's SIGTERMException, raised at the end of the batch
        trainer.fit(model, Ring2D(batch_size=32, num_train=512))
    last = tmp_path / "ckpt" / "last.ckpt"
    assert VanillaGAN.load_from_checkpoint(last).g_steps == 3
    resumed = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    trainer = pl.Trainer(**{**trainer_kwargs, "enable_checkpointing": True}, max_epochs=-1, limit_val_batches=0,
                         callbacks=[MaxGeneratorSteps(8), GANCheckpoint(dirpath=tmp_path / "ckpt")])  # fmt: skip
    trainer.fit(resumed, Ring2D(batch_size=32, num_train=512), ckpt_path=last)
    assert resumed.g_steps == 8 and VanillaGAN.load_from_checkpoint(last).g_steps == 8
    assert not list((tmp_path / "ckpt").glob("last-v*.ckpt"))  # the resumed run updated the same last.ckpt


def tiny_gradient_critic():
    """A critic whose input gradient (about 4e-8 per coordinate) underflows in float16."""
    critic = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    with torch.no_grad():
        for layer in (critic[0], critic[2]):
            layer.weight.fill_(1e-4)
            layer.bias.fill_(0.1)
    return lambda x: critic(x).squeeze(1), critic


@pytest.mark.parametrize("scale, close", [(2.0**10, True), (1.0, False)])
def test_d_input_gradients_under_float16_need_the_scaler_scale(scale, close):
    """In float16 the penalty's gradient underflows; scaled first (PyTorch's AMP recipe) it matches float32."""
    from ganzoo.losses import critic_input_gradients

    x = torch.rand(8, 4, requires_grad=True)
    forward, _ = tiny_gradient_critic()
    reference = critic_input_gradients(forward, x)
    with torch.autocast("cpu", dtype=torch.float16):
        amp = critic_input_gradients(forward, x, scale)
    assert reference.abs().min() > 3e-8 and amp.dtype == torch.float32
    assert torch.allclose(amp, reference, rtol=1e-2, atol=0) == close


def test_16_mixed_with_the_gradient_penalty_trains_under_a_grad_scaler(monkeypatch, trainer_kwargs):
    """Lightning's float16 AMP with a GradScaler, on the CPU: the penalty takes the scaler's scale."""
    import ganzoo.modules.gan as gan_module
    from lightning.pytorch.plugins import MixedPrecision

    scales = []
    penalty = gan_module.gradient_penalty

    def recording_penalty(critic, real, fake, scale=1.0, pack=1):
        scales.append(float(scale))
        return penalty(critic, real, fake, scale, pack)

    monkeypatch.setattr(gan_module, "gradient_penalty", recording_penalty)
    pl.seed_everything(0)
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16], loss="wgan_gp", n_critic=2,
                       gradient_clip_norm=10.0)  # fmt: skip
    plugin = MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu", init_scale=2.0**10))
    trainer = pl.Trainer(**trainer_kwargs, plugins=[plugin], max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(5)])
    before = [p.detach().clone() for p in model.discriminator.parameters()]
    trainer.fit(model, Ring2D(batch_size=64, num_train=512))
    assert model.g_steps == 5 and model.d_steps == 10
    assert scales and all(s >= 1.0 for s in scales) and scales[0] == 2.0**10  # the scaler's scale, not 1
    after = list(model.discriminator.parameters())
    assert all(torch.isfinite(p).all() for p in after) and any(not torch.equal(a, b) for a, b in zip(after, before))
