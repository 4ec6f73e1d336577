"""The hooks the next capabilities need: augment, the real batch in G's objective, D's scores in D's penalty."""
import lightning.pytorch as pl
import pytest
import torch

from ganzoo import DiscriminatorStep, Gaussian1D, MaxGeneratorSteps, VanillaGAN


def tiny(cls=VanillaGAN, **kwargs):
    return cls(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], **kwargs)


def fit(model, g_steps, **overrides):
    trainer = pl.Trainer(
        **{"accelerator": "cpu", "devices": 1, "logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
           "enable_model_summary": False, "max_epochs": -1, "limit_val_batches": 0, **overrides},
        callbacks=[MaxGeneratorSteps(g_steps)],
    )  # fmt: skip
    trainer.fit(model, Gaussian1D(batch_size=16, num_train=64, num_val=32))
    return trainer


class Augmented(VanillaGAN):
    """Shifts what D sees by 100 and records each call: (training, whether G's gradient flows through)."""

    def __init__(self, **kwargs):
        self.calls = []
        super().__init__(**kwargs)

    def augment(self, x):
        self.calls.append((self.training, x.requires_grad))
        return x + 100.0


def test_augment_sees_real_and_fake_in_both_steps_and_never_in_validation(tmp_path):
    pl.seed_everything(0)
    model = tiny(Augmented, n_critic=2)
    fit(model, 3, limit_val_batches=2, val_check_interval=2, num_sanity_val_steps=0, default_root_dir=str(tmp_path))
    batches = model.d_steps  # one D update per batch, n_critic=2: a G update on every second
    assert model.g_steps == 3 and batches == 6
    assert len(model.calls) == 2 * batches + model.g_steps  # real and fake for D; fake for G
    assert all(training for training, _ in model.calls)  # validation ran (2 batches) without it
    assert sum(grad for _, grad in model.calls) == model.g_steps  # G's fakes carry G's gradient into it


def test_with_g_steps_per_d_step_d_sees_real_and_fake_only_in_its_own_steps():
    pl.seed_everything(0)
    model = tiny(Augmented, g_steps_per_d_step=2)
    fit(model, 5)
    assert (model.g_steps, model.d_steps) == (5, 3)  # a batch per G step, D's update on batches 1, 3, 5
    assert len(model.calls) == 2 * model.d_steps + model.g_steps
    assert sum(grad for _, grad in model.calls) == model.g_steps


def test_augment_changes_what_d_sees():
    x = torch.full((4, 1), 2.0)
    model = tiny(Augmented)
    shifted = model.augment(x)
    assert torch.equal(shifted, x + 100.0)
    assert torch.equal(tiny().augment(x), x)  # the identity by default


class RealInG(VanillaGAN):
    def generator_objective(self, fake, labels=None, real=None):
        self.seen_real = real
        return super().generator_objective(fake, labels, real=real)


class OldG(VanillaGAN):
    """An override written before G's objective received the real batch."""

    def generator_objective(self, fake, labels=None):
        self.old_called = True
        return super().generator_objective(fake, labels)


def test_generator_objective_receives_the_real_batch_and_old_overrides_still_work():
    pl.seed_everything(0)
    model = tiny(RealInG)
    fit(model, 2)
    assert model.seen_real is not None and model.seen_real.shape == (16, 1)
    assert not model.seen_real.requires_grad
    assert abs(float(model.seen_real.mean()) - 4.0) < 1.5  # Gaussian1D's real samples, mean 4, not fakes
    # on a batch without a D update, G's objective still gets the real batch, augmented as D would see it
    shifted = tiny(type("ShiftedRealInG", (RealInG, Augmented), {}), g_steps_per_d_step=2)
    fit(shifted, 2)
    # batch 1: D's reals and fakes, G's fakes; batch 2, without a D update: G's fakes, then the reals for G's
    # objective (the default objective ignores them and is not given them: the test above counts its calls)
    assert shifted.calls == [(True, False), (True, False), (True, True), (True, True), (True, False)]
    assert shifted.seen_real is not None and not shifted.seen_real.requires_grad
    assert abs(float(shifted.seen_real.mean()) - 104.0) < 1.5  # Gaussian1D's reals, shifted by the augmentation
    old = tiny(OldG)
    fit(old, 2)
    assert old.old_called and old.g_steps == 2


class ScorePenalty(VanillaGAN):
    """A drift penalty on D's own scores (ProGAN's epsilon term), read from the step instead of a second forward."""

    def discriminator_penalty(self, real, fake, labels=None, d_step=None):
        self.steps_seen = getattr(self, "steps_seen", []) + [d_step]
        return 1e-3 * d_step.real_logits.pow(2).mean()


def test_discriminator_penalty_receives_ds_scores():
    pl.seed_everything(0)
    model = tiny(ScorePenalty)
    trainer = fit(model, 2, log_every_n_steps=1)
    assert len(model.steps_seen) == model.d_steps == 2
    assert all(isinstance(step, DiscriminatorStep) and step.real_logits.shape == (16,) for step in model.steps_seen)
    assert trainer.callback_metrics["train/d_penalty"] > 0


@pytest.mark.parametrize("hook", ["generator_objective", "discriminator_penalty"])
def test_overrides_taking_keyword_arguments_get_the_new_ones(hook):
    received = {}

    class Kwargs(VanillaGAN):
        def generator_objective(self, fake, labels=None, **kwargs):
            received.setdefault("generator_objective", kwargs)
            return super().generator_objective(fake, labels)

        def discriminator_penalty(self, real, fake, labels=None, **kwargs):
            received.setdefault("discriminator_penalty", kwargs)
            return None

    fit(tiny(Kwargs), 1)
    assert set(received[hook]) == {"real" if hook == "generator_objective" else "d_step"}
