"""How regularisers and an augmentation plug into GANModule (the components themselves have their own tests)."""
import pytest
import torch
from lightning.pytorch import Trainer

from ganzoo import ConfigError, VanillaGAN
from ganzoo.augmentation import Augmentation
from ganzoo.data import Gaussian1D
from ganzoo.regularisers import Regulariser


class Constant(Regulariser):
    """Adds a fixed value; records what it was given."""

    name = "constant"

    def __init__(self, value: float = 3.0, skip_odd: bool = False):
        super().__init__()
        self.value, self.skip_odd, self.calls = value, skip_odd, []

    def penalty(self, gan, real, fake, labels, d_step):
        self.calls.append((gan.d_steps, real.shape, fake.requires_grad, d_step.real_logits.shape))
        if self.skip_odd and gan.d_steps % 2:
            return None
        return torch.tensor(self.value)


class Shift(Augmentation):
    """Adds a learnable-free offset and counts the D steps it observed."""

    def __init__(self, offset: float = 100.0):
        super().__init__()
        self.offset = offset
        self.register_buffer("observed", torch.zeros(()))

    def forward(self, x):
        return x + self.offset

    def observe(self, gan, d_step):
        self.observed += 1

    def log_values(self):
        return {"augment_observed": self.observed}


def _model(**kwargs):
    return VanillaGAN(data_shape=(1,), latent_dim=2, g_hidden_dims=[4], d_hidden_dims=[4], **kwargs)


def _batch():
    return torch.randn(8, 1)


def test_regularisers_are_summed_into_the_penalty_and_lazy_ones_skip():
    constant, lazy = Constant(3.0), Constant(0.5, skip_odd=True)
    lazy.name = "lazy"
    model = _model(regularisers=[constant, lazy])
    real, fake = _batch(), _batch()
    d_step = model.discriminator_objective(real, fake)
    model.d_steps = 0
    assert float(model.discriminator_penalty(real, fake, None, d_step)) == pytest.approx(3.5)
    assert set(model._penalty_logs) == {"train/d_constant", "train/d_lazy"}
    model.d_steps = 1
    assert float(model.discriminator_penalty(real, fake, None, d_step)) == pytest.approx(3.0)
    assert set(model._penalty_logs) == {"train/d_constant"}


def test_no_regulariser_and_no_gradient_penalty_is_no_penalty():
    model = _model()
    real, fake = _batch(), _batch()
    assert model.discriminator_penalty(real, fake, None, model.discriminator_objective(real, fake)) is None


def test_bad_regularisers_are_one_line():
    with pytest.raises(ConfigError, match="not a ganzoo.regularisers.Regulariser"):
        _model(regularisers=[torch.nn.Identity()])
    with pytest.raises(ConfigError, match="two regularisers log as train/d_constant"):
        _model(regularisers=[Constant(), Constant()])


def test_training_uses_both_and_logs_them(tmp_path):
    constant, shift = Constant(3.0), Shift()
    model = _model(regularisers=[constant], augmentation=shift)
    trainer = Trainer(
        max_steps=8, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, log_every_n_steps=1, limit_val_batches=0, default_root_dir=tmp_path,
    )
    trainer.fit(model, Gaussian1D(batch_size=8, num_train=64, num_val=16))
    assert model.d_steps == 4 and float(shift.observed) == 4
    assert [call[0] for call in constant.calls] == [0, 1, 2, 3]
    assert all(not requires_grad for _, _, requires_grad, _ in constant.calls)  # fakes reach it detached from G
    metrics = trainer.callback_metrics
    assert float(metrics["train/d_constant"]) == pytest.approx(3.0)
    assert float(metrics["train/augment_observed"]) == 4
    # the D loss is logged without the penalty; the penalty beside it
    assert float(metrics["train/d_penalty"]) == pytest.approx(3.0)


def test_augmentation_applies_in_training_only():
    model = _model(augmentation=Shift(100.0))
    x = _batch()
    assert torch.equal(model.augment(x), x + 100.0)
    assert torch.equal(_model().augment(x), x)


def test_components_from_python_stay_out_of_the_hyperparameters():
    model = _model(regularisers=[Constant()], augmentation=Shift())
    assert "regularisers" not in model.hparams and "augmentation" not in model.hparams
    assert set(model.state_dict()) >= {"augmentation.observed"}
