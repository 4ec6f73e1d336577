import math

import pytest
import torch

from ganzoo import LOSSES, ConfigError, get_loss
from ganzoo.losses import gradient_penalty

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def sig(x):
    return 1 / (1 + math.exp(-x))


def mean(values):
    return sum(values) / len(values)


R, F = REAL.tolist(), FAKE.tolist()
# Hand computations, written from the papers' formulas rather than from the code.
EXPECTED = {
    "minimax": (
        -mean([math.log(sig(r)) for r in R]) - mean([math.log(1 - sig(f)) for f in F]),
        mean([math.log(1 - sig(f)) for f in F]),
    ),
    "non_saturating": (
        -mean([math.log(sig(r)) for r in R]) - mean([math.log(1 - sig(f)) for f in F]),
        -mean([math.log(sig(f)) for f in F]),
    ),
    "wgan_gp": (mean(F) - mean(R), -mean(F)),
    "hinge": (mean([max(0, 1 - r) for r in R]) + mean([max(0, 1 + f) for f in F]), -mean(F)),
    "lsgan": (0.5 * mean([(r - 1) ** 2 for r in R]) + 0.5 * mean([f**2 for f in F]), 0.5 * mean([(f - 1) ** 2 for f in F])),
}


def test_table_holds_exactly_the_documented_losses():
    assert set(LOSSES) == set(EXPECTED) == {"minimax", "non_saturating", "wgan_gp", "hinge", "lsgan"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_equals_hand_computation(name):
    loss = get_loss(name)
    d_expected, g_expected = EXPECTED[name]
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d_expected, rel=1e-6)
    assert loss.generator(FAKE).item() == pytest.approx(g_expected, rel=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gradients_have_the_right_sign(name):
    """Descending D's loss raises its scores on real and lowers them on fake;
    descending G's loss raises D's scores on fake."""
    loss = get_loss(name)
    # 0.5 lies inside the hinge margins and between the LSGAN targets: no loss is flat there
    real = torch.full((4,), 0.5, requires_grad=True)
    fake = torch.full((4,), 0.5, requires_grad=True)
    loss.discriminator(real, fake).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()
    fake_g = torch.full((4,), 0.5, requires_grad=True)
    loss.generator(fake_g).backward()
    assert (fake_g.grad < 0).all()


def test_minimax_generator_saturates_where_non_saturating_does_not():
    """When D confidently rejects fakes (logit -6), the original G loss has almost no gradient."""
    confident = torch.full((4,), -6.0, requires_grad=True)
    get_loss("minimax").generator(confident).backward()
    saturating = confident.grad.abs().mean().item()
    confident.grad = None
    get_loss("non_saturating").generator(confident).backward()
    assert confident.grad.abs().mean().item() > 100 * saturating


def test_equilibrium_values():
    """With D = 1/2 everywhere (logit 0), -V(D, G) = 2 log 2."""
    zero = torch.zeros(8)
    assert get_loss("minimax").discriminator(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert get_loss("non_saturating").generator(zero).item() == pytest.approx(math.log(2))


def test_unknown_loss_names_the_value_and_the_choices():
    with pytest.raises(ConfigError) as info:
        get_loss("hinj")
    message = str(info.value)
    assert "'hinj'" in message and "\n" not in message
    for name in LOSSES:
        assert name in message


def test_gradient_penalty_matches_hand_computation():
    """For a linear critic w.x the input gradient is w everywhere: penalty (|w| - 1)^2."""
    w = torch.tensor([3.0, 4.0])
    critic = lambda x: x @ w  # noqa: E731
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx((5.0 - 1.0) ** 2)


def test_gradient_penalty_is_differentiable_in_the_critic():
    critic = torch.nn.Linear(2, 1)
    penalty = gradient_penalty(lambda x: critic(x).squeeze(1), torch.randn(8, 2), torch.randn(8, 2))
    penalty.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0
