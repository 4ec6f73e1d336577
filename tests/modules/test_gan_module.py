import csv
import math

import lightning.pytorch as pl
import pytest
import torch
import torch.nn.functional as F
from helpers import adam, linear_decay
from lightning.pytorch import Callback
from lightning.pytorch.loggers import CSVLogger

from ganzoo import (
    ConfigError,
    GANCheckpoint,
    GANModule,
    Gaussian1D,
    MaxGeneratorSteps,
    MLPDiscriminator,
    MLPGenerator,
    Ring2D,
    VanillaGAN,
)

TARGET_MEAN, TARGET_STD = 4.0, 1.25


def gaussian_gan(
    steps, loss="non_saturating", lr=1e-3, n_critic=1, betas=(0.5, 0.999), width=32, end_factor=0.01, **kwargs
):
    """An MLP GAN for the 1-D Gaussian, with the LR decayed linearly over the run."""
    return VanillaGAN(
        data_shape=[1],
        latent_dim=8,
        prior="uniform",
        loss=loss,
        n_critic=n_critic,
        g_hidden_dims=[width, width],
        d_hidden_dims=[width, width],
        g_optimizer=adam(lr, betas),
        d_optimizer=adam(lr, betas),
        g_scheduler=linear_decay(steps, end_factor),
        d_scheduler=linear_decay(steps * n_critic, end_factor),
        **kwargs,
    )


def fit(model, datamodule, g_steps, trainer_kwargs, callbacks=(), **overrides):
    trainer = pl.Trainer(
        **{**trainer_kwargs, "max_epochs": -1, "limit_val_batches": 0, **overrides},
        callbacks=[MaxGeneratorSteps(g_steps), *callbacks],
    )
    trainer.fit(model, datamodule)
    return trainer


def test_seeded_run_moves_uniform_noise_onto_the_gaussian(trainer_kwargs):
    pl.seed_everything(0)
    model, data = gaussian_gan(2000), Gaussian1D(mean=TARGET_MEAN, std=TARGET_STD)
    data.setup()
    before = data.evaluate(model.generate(10_000, seed=0))
    assert before["ks"] > 0.9  # an untrained G puts everything near 0
    fit(model, data, 2000, trainer_kwargs, limit_val_batches=None, val_check_interval=1.0)
    after = data.evaluate(model.generate(10_000, seed=0))
    assert after["ks"] < 0.06, after
    assert abs(after["mean"] - TARGET_MEAN) < 0.15, after
    assert abs(after["std"] - TARGET_STD) < 0.2, after
    # At the equilibrium D cannot tell real from fake: it is right about half the time.
    logged = model.trainer.callback_metrics
    balanced = (logged["val/d_acc_real"] + logged["val/d_acc_fake"]) / 2
    assert abs(balanced.item() - 0.5) < 0.15
    assert 0.3 < logged["val/d_real"].item() < 0.7 and 0.3 < logged["val/d_fake"].item() < 0.7
    assert 0 <= logged["val/ks"].item() < 0.2  # logged at the last validation, a little before the end


SHORT_RUN = {"steps": 800, "width": 64, "end_factor": 0.1}
LOSS_SETTINGS = {
    "minimax": SHORT_RUN,
    "non_saturating": SHORT_RUN,
    "hinge": SHORT_RUN,
    "lsgan": SHORT_RUN,
    # WGAN-GP's recipe: 5 critic updates per G update, Adam's beta2 0.9. In 1-D the two-sided
    # penalty (|grad D| - 1)^2 has wells at slope +1 and -1 and a critic cannot rotate from one
    # to the other: with lambda=10 a critic that starts with a negative slope stays there and
    # pushes G away from the data. lambda=1 is below that barrier here.
    "wgan_gp": {"steps": 300, "width": 64, "end_factor": 0.1, "n_critic": 5, "betas": (0.5, 0.9), "gradient_penalty": 1.0},
}


@pytest.mark.parametrize("loss", sorted(LOSS_SETTINGS))
def test_each_loss_moves_the_distribution_to_the_target(loss, trainer_kwargs):
    # 800 steps is short: some seeds stop while G's spread still swings (seed 1 ends with std 1.84-1.87
    # for minimax and non_saturating); seeds 0 and 2 end inside these bounds for every loss.
    pl.seed_everything(0)
    settings = dict(LOSS_SETTINGS[loss])
    steps = settings.pop("steps")
    model, data = gaussian_gan(steps, loss=loss, **settings), Gaussian1D(mean=TARGET_MEAN, std=TARGET_STD)
    data.setup()
    start = data.evaluate(model.generate(10_000, seed=0))
    fit(model, data, steps, trainer_kwargs)
    result = data.evaluate(model.generate(10_000, seed=0))
    assert start["w1"] > 3.5 and start["ks"] > 0.9  # G starts near 0, far from N(4, 1.25^2)
    if loss == "wgan_gp":  # the Wasserstein game moves G more slowly
        assert result["w1"] < 1.5 and abs(result["mean"] - TARGET_MEAN) < 1.5, result
    else:
        assert result["ks"] < 0.2, result
        assert abs(result["mean"] - TARGET_MEAN) < 0.6, result
        assert abs(result["std"] - TARGET_STD) < 0.6, result


class OneSidedSmoothing(VanillaGAN):
    """A user's idea in one hook: one-sided label smoothing (Salimans et al. 2016), real label 0.9."""

    def discriminator_loss(self, real_logits, fake_logits):
        real_target = torch.full_like(real_logits, 0.9)
        return F.binary_cross_entropy_with_logits(real_logits, real_target) + F.softplus(fake_logits).mean()


def test_subclass_overriding_one_hook_trains_and_round_trips(trainer_kwargs, tmp_path):
    pl.seed_everything(2)
    model = OneSidedSmoothing(
        data_shape=[1], latent_dim=8, prior="uniform", g_optimizer=adam(1e-3), d_optimizer=adam(1e-3), g_hidden_dims=[32]
    )
    data = Gaussian1D(mean=TARGET_MEAN, std=TARGET_STD)
    checkpoint = GANCheckpoint(dirpath=tmp_path / "ckpt")
    fit(model, data, 600, {**trainer_kwargs, "enable_checkpointing": True}, callbacks=[checkpoint])
    trained = data.evaluate(model.generate(10_000, seed=0))
    assert abs(trained["mean"] - TARGET_MEAN) < 0.5, trained

    assert type(OneSidedSmoothing.load_from_checkpoint(checkpoint.last_model_path)) is OneSidedSmoothing
    loaded = GANModule.load_from_checkpoint(checkpoint.last_model_path)  # the base class finds the variant
    assert type(loaded) is OneSidedSmoothing
    assert torch.equal(loaded.generate(64, seed=7), model.generate(64, seed=7))
    assert not torch.equal(loaded.generate(64, seed=7), loaded.generate(64, seed=8))
    assert (loaded.g_steps, loaded.d_steps) == (600, 600)


def test_generate_is_reproducible_and_leaves_global_state_alone():
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], g_batch_norm=True)
    model.train()
    torch.manual_seed(0)
    state = torch.get_rng_state()
    first = model.generate(10, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.shape == (10, 2)
    assert torch.equal(first, model.generate(10, seed=3))
    assert torch.allclose(first, model.generate(10, seed=3, batch_size=3), atol=1e-6)  # chunks: same samples
    assert model.generator.training  # eval only while generating


@pytest.mark.parametrize("prior, low, high", [("uniform", -1.0, 1.0), ("normal", -math.inf, math.inf)])
def test_priors(prior, low, high):
    model = VanillaGAN(latent_dim=3, prior=prior)
    z = model.sample_prior(20_000, torch.Generator().manual_seed(0))
    assert z.shape == (20_000, 3)
    assert z.min() >= low and z.max() <= high
    expected_std = 1 / math.sqrt(3) if prior == "uniform" else 1.0
    assert z.std().item() == pytest.approx(expected_std, rel=0.03)


@pytest.mark.parametrize("n_critic, g_steps", [(1, 7), (3, 5)])
def test_max_generator_steps_counts_generator_updates(n_critic, g_steps, trainer_kwargs):
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], n_critic=n_critic)
    trainer = fit(model, Ring2D(batch_size=16), g_steps, trainer_kwargs)
    assert model.g_steps == g_steps
    assert model.d_steps == g_steps * n_critic
    assert trainer.global_step == g_steps * (n_critic + 1)


class Rhythm(Callback):
    """Records (G updates, D updates, whether D's weights changed) after each batch."""

    def __init__(self):
        self.batches, self._d = [], None

    def on_train_batch_start(self, trainer, pl_module, *args):
        self._d = [p.detach().clone() for p in pl_module.discriminator.parameters()]

    def on_train_batch_end(self, trainer, pl_module, *args):
        moved = any(not torch.equal(p, q) for p, q in zip(pl_module.discriminator.parameters(), self._d))
        self.batches.append((pl_module.g_steps, pl_module.d_steps, moved))


@pytest.mark.parametrize("k, g_steps", [(2, 7), (3, 6)])
def test_g_steps_per_d_step_makes_k_generator_updates_per_discriminator_update(k, g_steps, trainer_kwargs):
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], g_steps_per_d_step=k)
    rhythm = Rhythm()
    trainer = fit(model, Ring2D(batch_size=16), g_steps, trainer_kwargs, callbacks=[rhythm])
    # one G update per batch; D's update opens each round of k, and D's weights move only then
    assert rhythm.batches == [(b + 1, b // k + 1, b % k == 0) for b in range(g_steps)]
    d_steps = -(-g_steps // k)
    assert (model.g_steps, model.d_steps, trainer.global_step) == (g_steps, d_steps, g_steps + d_steps)
    assert model.optimizer_steps_after(g_steps) == g_steps + d_steps
    assert model.optimizer_steps_per_g_step == pytest.approx(1 + 1 / k)


def test_training_logs_ds_latest_values_on_batches_without_a_d_update(trainer_kwargs, tmp_path):
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], g_steps_per_d_step=2)
    fit(model, Ring2D(batch_size=16), 4, trainer_kwargs, log_every_n_steps=1, logger=CSVLogger(tmp_path))
    with open(tmp_path / "lightning_logs" / "version_0" / "metrics.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["train/g_loss"]]
    assert [int(float(r["step"])) for r in rows] == [1, 2, 3, 4]  # a row per batch, each a G step
    d_loss, g_loss = [r["train/d_loss"] for r in rows], [r["train/g_loss"] for r in rows]
    # batches 2 and 4 made no D update: they repeat D's values of batches 1 and 3; G's are new at each
    assert d_loss[0] == d_loss[1] != d_loss[2] == d_loss[3] and "" not in d_loss
    assert [r["train/d_real"] for r in rows][1] == rows[0]["train/d_real"]
    assert len(set(g_loss)) == 4


def test_n_critic_and_g_steps_per_d_step_are_not_both_above_one():
    with pytest.raises(ConfigError, match=r"^n_critic=2 and g_steps_per_d_step=3 are both above 1; set one of them to 1"):
        VanillaGAN(data_shape=[2], n_critic=2, g_steps_per_d_step=3)
    with pytest.raises(ConfigError, match="g_steps_per_d_step must be a positive integer, got 0"):
        VanillaGAN(data_shape=[2], g_steps_per_d_step=0)


def test_max_generator_steps_refuses_a_conflicting_max_steps(trainer_kwargs):
    model = VanillaGAN(data_shape=[2], latent_dim=4)
    with pytest.raises(ConfigError, match="max_g_steps=5 and trainer.max_steps=3"):
        fit(model, Ring2D(batch_size=16), 5, trainer_kwargs, max_steps=3)


def test_schedulers_step_once_per_update_of_their_optimizer(trainer_kwargs):
    halve = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    model = VanillaGAN(
        data_shape=[2], latent_dim=4, n_critic=2, g_optimizer=adam(1.0), d_optimizer=adam(1.0), g_scheduler=halve,
        d_scheduler=halve,
    )
    fit(model, Ring2D(batch_size=16), 3, trainer_kwargs)
    g_opt, d_opt = model.optimizers()
    assert g_opt.param_groups[0]["lr"] == pytest.approx(0.5**3)
    assert d_opt.param_groups[0]["lr"] == pytest.approx(0.5**6)


def test_training_logs_losses_and_discriminator_statistics(trainer_kwargs):
    model = VanillaGAN(data_shape=[2], latent_dim=4, loss="wgan_gp", n_critic=2)
    trainer = fit(model, Ring2D(batch_size=16), 3, trainer_kwargs, log_every_n_steps=1)
    logged = trainer.callback_metrics
    for key in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "train/d_penalty"):
        assert key in logged and torch.isfinite(logged[key])
    assert "train/d_acc_real" not in logged  # a WGAN critic has no decision level

    model = VanillaGAN(data_shape=[2], latent_dim=4, loss="minimax")
    logged = fit(model, Ring2D(batch_size=16), 3, trainer_kwargs, log_every_n_steps=1).callback_metrics
    assert "train/d_penalty" not in logged

    # A D that outputs the logit 0.7 for every sample, frozen (lr 0): the minimax loss scores it sigmoid(0.7),
    # and D calls every sample real (decision level 0), so it is right on all reals and wrong on all fakes.
    model = VanillaGAN(data_shape=[2], latent_dim=4, loss="minimax", discriminator=ConstantLogit(0.7),
                       d_optimizer=adam(0.0))  # fmt: skip
    logged = fit(model, Ring2D(batch_size=16), 3, trainer_kwargs, log_every_n_steps=1).callback_metrics
    assert logged["train/d_real"].item() == pytest.approx(1 / (1 + math.exp(-0.7)))
    assert logged["train/d_fake"].item() == pytest.approx(1 / (1 + math.exp(-0.7)))
    assert logged["train/d_acc_real"].item() == 1 and logged["train/d_acc_fake"].item() == 0


class ConstantLogit(torch.nn.Module):
    """A discriminator of 2-D samples whose output, shape (N, 1), is ``logit`` for every input while its weights
    stay where they start (zero weights on the input keep G's loss differentiable)."""

    def __init__(self, logit: float):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(2, 1))
        self.logit = torch.nn.Parameter(torch.tensor(logit))

    def forward(self, x):
        return x @ self.weight + self.logit


def test_discriminator_and_generator_update_only_their_own_parameters(trainer_kwargs):
    model = VanillaGAN(data_shape=[2], latent_dim=4, n_critic=2)
    g_before = [p.clone() for p in model.generator.parameters()]
    d_before = [p.clone() for p in model.discriminator.parameters()]
    trainer = pl.Trainer(**trainer_kwargs, max_steps=1, limit_val_batches=0)  # one D step, no G step
    trainer.fit(model, Ring2D(batch_size=16))
    assert all(torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"loss": "hinj"}, "unknown loss 'hinj'; choose one of: hinge, lsgan, minimax, non_saturating, wgan_gp"),
        ({"prior": "gaussian"}, "unknown prior 'gaussian'; choose one of: normal, uniform"),
        ({"latent_dim": 0}, "latent_dim must be a positive integer, got 0"),
        ({"latent_dim": -3}, "latent_dim must be a positive integer, got -3"),
        ({"n_critic": 0}, "n_critic must be a positive integer, got 0"),
        ({"gradient_penalty": -1.0}, "gradient_penalty must be a number >= 0, got -1.0"),
        ({"g_hidden_dims": [16, 0]}, "hidden_dims must be positive integers, got [16, 0]"),
    ],
)
def test_bad_arguments_fail_at_construction_with_one_line(kwargs, fragment):
    with pytest.raises(ConfigError) as info:
        VanillaGAN(**kwargs)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_generator_that_does_not_fit_the_data_fails_before_training(trainer_kwargs):
    model = VanillaGAN(data_shape=[2], latent_dim=4)  # 2-D samples for 1-D data
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ConfigError) as info:
        fit(model, Gaussian1D(), 5, trainer_kwargs)
    assert str(info.value) == (
        "generator output shape (N, 2) does not match the shape (N, 1) of Gaussian1D; "
        "make the generator's output shape equal the data shape"
    )
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_discriminator_with_several_outputs_per_sample_is_refused(trainer_kwargs):
    model = GANModule(
        generator=MLPGenerator(4, (1,), (8,)),
        discriminator=torch.nn.Sequential(MLPDiscriminator((1,), (8,)), torch.nn.Unflatten(0, (-1, 1)), torch.nn.Linear(1, 3)),
        latent_dim=4,
    )
    with pytest.raises(ConfigError, match=r"discriminator output shape \(2, 3\) for 2 samples"):
        fit(model, Gaussian1D(), 5, trainer_kwargs)


def test_base_module_without_networks_says_what_to_pass():
    with pytest.raises(ConfigError, match="GANModule got no generator; pass generator=<nn.Module>"):
        GANModule()


def test_injected_networks_are_not_pickled_into_hyperparameters():
    model = GANModule(generator=MLPGenerator(4, (2,)), discriminator=MLPDiscriminator((2,)), latent_dim=4, g_optimizer=adam(1e-3))
    assert "generator" not in model.hparams and "g_optimizer" not in model.hparams
    assert model.hparams["latent_dim"] == 4


def test_step_values_are_built_only_on_the_batches_lightning_writes(trainer_kwargs, tmp_path):
    model = VanillaGAN(data_shape=[2], latent_dim=4)
    calls = []
    original = model.log_dict
    model.log_dict = lambda logs, **kw: (calls.append(set(logs)), original(logs, **kw))[-1]
    logger = pl.loggers.CSVLogger(tmp_path)
    fit(model, Ring2D(batch_size=16), 20, {**trainer_kwargs, "logger": logger}, log_every_n_steps=5)
    assert len(calls) == 4  # batches 5, 10, 15, 20
    rows = (tmp_path / "lightning_logs" / "version_0" / "metrics.csv").read_text().splitlines()
    assert "train/g_loss" in rows[0] and len(rows) == 5


def test_last_checkpoint_holds_the_end_of_training_between_validations(trainer_kwargs, tmp_path):
    """Lightning saves at validations (every 10 batches here); training stops at batch 15."""
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    checkpoint = GANCheckpoint(dirpath=tmp_path / "ckpt")
    fit(model, Ring2D(batch_size=16), 15, {**trainer_kwargs, "enable_checkpointing": True}, callbacks=[checkpoint],
        limit_val_batches=1, val_check_interval=10, check_val_every_n_epoch=None)
    loaded = GANModule.load_from_checkpoint(checkpoint.last_model_path)
    assert loaded.g_steps == 15
    assert torch.equal(loaded.generate(8, seed=0), model.generate(8, seed=0))


class ThreeCodeGAN(GANModule):
    """A subclass whose prior, not latent_dim, sets the code's width: the shape check must use the hook."""

    def sample_prior(self, n, rng=None):
        return torch.rand(n, 3, generator=rng, device=self.device)


def test_shape_check_draws_codes_through_the_sample_prior_hook(trainer_kwargs):
    model = ThreeCodeGAN(generator=MLPGenerator(3, (2,), (8,)), discriminator=MLPDiscriminator((2,), (8,)), latent_dim=8)
    fit(model, Ring2D(batch_size=16), 2, trainer_kwargs)
    assert model.g_steps == 2
