"""R1 and R2 against their formula on discriminators whose input gradient is known in closed form."""
import pytest
import torch
from torch import nn

from ganzoo import R1, R2, ConfigError, GANModule


class Quadratic(nn.Module):
    """D(x) = sum(a * x^2) over a sample of any shape: grad_x D = 2 a x, ||grad||^2 = 4 sum(a^2 x^2)."""

    def __init__(self, shape):
        super().__init__()
        self.a = nn.Parameter(torch.rand(shape) + 0.5)

    def forward(self, x):
        return (self.a * x.pow(2)).flatten(1).sum(1)


class ClassLinear(GANModule):
    """A conditional D(x, y) = w_y . x: the input gradient is the row of the sample's class."""

    num_classes = 3

    def discriminate(self, x, labels=None):
        return (self.discriminator.weight[labels] * x).sum(1)


def quadratic_model(shape):
    return GANModule(generator=nn.Sequential(nn.Linear(4, int(torch.tensor(shape).prod())), nn.Unflatten(1, shape)),
                     discriminator=Quadratic(shape), latent_dim=4)  # fmt: skip


def expected(model, x, gamma):
    """gamma / 2 * E ||2 a x||^2, by hand."""
    return gamma / 2 * (4 * model.discriminator.a.detach().pow(2) * x.pow(2)).flatten(1).sum(1).mean()


def penalty(regulariser, model, real, fake, labels=None):
    return regulariser.penalty(model, real, fake, labels, model.discriminator_objective(real, fake, labels))


def value(*args):
    return penalty(*args).detach()


@pytest.mark.parametrize("shape", [(3,), (2, 4, 4)], ids=["vectors", "images"])
def test_r1_and_r2_follow_their_formula_at_real_and_fake_samples(shape):
    torch.manual_seed(0)
    model = quadratic_model(shape)
    real, fake = torch.randn(8, *shape), torch.randn(8, *shape) * 3
    torch.testing.assert_close(penalty(R1(gamma=4.0), model, real, fake), expected(model, real, 4.0))
    torch.testing.assert_close(penalty(R2(gamma=0.5), model, real, fake), expected(model, fake, 0.5))


def test_a_linear_d_has_the_squared_norm_of_its_weights():
    model = GANModule(generator=nn.Linear(2, 5), discriminator=nn.Linear(5, 1), latent_dim=2)
    real = torch.randn(6, 5)
    w = model.discriminator.weight.detach()
    assert float(value(R1(gamma=10.0), model, real, real + 1)) == pytest.approx(5 * float(w.pow(2).sum()), rel=1e-6)


def test_a_packing_d_is_differentiated_per_pack():
    """D judges pairs: its input is the pair (2 x 5 values), so E ||grad||^2 over pairs is ||w||^2 of all 10 weights."""
    from ganzoo.nets import MLPDiscriminator

    torch.manual_seed(0)
    discriminator = MLPDiscriminator((5,), hidden_dims=[], pack=2)
    model = GANModule(generator=nn.Linear(2, 5), discriminator=discriminator, latent_dim=2)
    w = torch.cat([p.detach().flatten() for name, p in discriminator.named_parameters() if "weight" in name])
    assert w.numel() == 10
    real = torch.randn(6, 5)
    assert float(value(R1(gamma=2.0), model, real, real + 1)) == pytest.approx(float(w.pow(2).sum()), rel=1e-5)


def test_a_conditional_d_is_differentiated_for_each_samples_label():
    model = ClassLinear(generator=nn.Linear(2, 4), discriminator=nn.Linear(4, 3, bias=False), latent_dim=2)
    real, labels = torch.randn(6, 4), torch.tensor([0, 1, 2, 2, 2, 1])
    w = model.discriminator.weight.detach()
    by_hand = 1.0 / 2 * w[labels].pow(2).sum(1).mean()
    torch.testing.assert_close(penalty(R1(gamma=1.0), model, real, real, labels), by_hand)


def test_a_lazy_penalty_skips_steps_and_weighs_the_others_by_its_interval():
    torch.manual_seed(0)
    model = quadratic_model((3,))
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    eager = float(value(R1(gamma=2.0), model, real, fake))
    lazy = R1(gamma=2.0, every=3)
    values = []
    for step in range(7):
        model.d_steps = step
        term = penalty(lazy, model, real, fake)
        values.append(None if term is None else float(term))
    assert [v is not None for v in values] == [True, False, False, True, False, False, True]
    assert values[0] == values[3] == values[6] == pytest.approx(3 * eager)


@pytest.mark.parametrize("regulariser", [R1, R2])
def test_rescale_optimizer_scales_ds_learning_rate_and_betas_as_stylegan2(regulariser):
    """every = 4: c = 4 / 5, so D's Adam(2e-3, (0.5, 0.99)) becomes Adam(1.6e-3, (0.5^0.8, 0.99^0.8)); G's stays."""
    adam = lambda params: torch.optim.Adam(params, lr=2e-3, betas=(0.5, 0.99))  # noqa: E731
    model = quadratic_model((3,))
    model = GANModule(generator=model.generator, discriminator=model.discriminator, latent_dim=4,
                      g_optimizer=adam, d_optimizer=adam, regularisers=[regulariser(gamma=1.0, every=4, rescale_optimizer=True)])  # fmt: skip
    (g_opt, d_opt), _ = model.configure_optimizers()
    assert d_opt.param_groups[0]["lr"] == pytest.approx(1.6e-3)
    assert d_opt.param_groups[0]["betas"] == pytest.approx((0.5**0.8, 0.99**0.8))
    assert g_opt.param_groups[0]["lr"] == 2e-3 and g_opt.param_groups[0]["betas"] == (0.5, 0.99)


@pytest.mark.parametrize("kwargs", [{"every": 4}, {"every": 1, "rescale_optimizer": True}], ids=["not asked", "eager"])
def test_without_rescaling_or_laziness_ds_optimizer_is_left_as_configured(kwargs):
    model = quadratic_model((3,))
    model = GANModule(generator=model.generator, discriminator=model.discriminator, latent_dim=4,
                      regularisers=[R1(gamma=1.0, **kwargs)])  # fmt: skip
    (_, d_opt), _ = model.configure_optimizers()
    assert d_opt.param_groups[0]["lr"] == 2e-4 and d_opt.param_groups[0]["betas"] == (0.5, 0.999)


def test_the_gradient_reaches_ds_parameters_only():
    torch.manual_seed(0)
    model = quadratic_model((3,))
    real = torch.randn(8, 3, requires_grad=True)
    fake = model(torch.randn(8, 4))  # still attached to G's graph
    for regulariser, x in ((R1(gamma=2.0), real), (R2(gamma=2.0), fake)):
        model.zero_grad()
        penalty(regulariser, model, real, fake).backward()
        assert all(p.grad is None for p in model.generator.parameters()) and real.grad is None
        a = model.discriminator.a.detach()
        # d/da of gamma/2 * E[4 sum a^2 x^2] = gamma/2 * E[8 a x^2]
        torch.testing.assert_close(model.discriminator.a.grad, (8 * a * x.detach().pow(2)).mean(0))


def tiny_gradient_model():
    """A D whose input gradient (about 4e-8 per coordinate) underflows in float16."""
    critic = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        for layer in (critic[0], critic[2]):
            layer.weight.fill_(1e-4)
            layer.bias.fill_(0.1)
    return GANModule(generator=nn.Linear(2, 4), discriminator=critic, latent_dim=2)


@pytest.mark.parametrize("scale", [2.0**6, 2.0**10])
def test_under_16_mixed_the_grad_scalers_scale_keeps_the_penalty(monkeypatch, scale):
    """Taken at the scaler's scale (as the model reports it under 16-mixed), the float16 penalty matches float32;
    at scale 1 float16 loses it. In float32 any scale gives the same value."""
    model = tiny_gradient_model()
    x = torch.rand(8, 4)
    reference = float(value(R1(gamma=1.0), model, x, x))
    monkeypatch.setattr(model, "gradient_scale", lambda: scale)
    assert float(value(R1(gamma=1.0), model, x, x)) == pytest.approx(reference, rel=1e-5, abs=0)
    with torch.autocast("cpu", dtype=torch.float16):
        scaled = float(value(R1(gamma=1.0), model, x, x))
        monkeypatch.setattr(model, "gradient_scale", lambda: 1.0)
        unscaled = float(value(R1(gamma=1.0), model, x, x))
    assert scaled == pytest.approx(reference, rel=2e-2, abs=0)
    assert unscaled != pytest.approx(reference, rel=2e-2, abs=0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: R1(gamma=-1), "r1 gamma must be"),
        (lambda: R2(gamma=float("nan")), "r2 gamma must be"),
        (lambda: R1(every=0), r"r1 every must be a positive integer, got 0; e.g. R1\(every=16\)"),
    ],
)
def test_bad_settings_are_one_line(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


class InputGradientOfMine(R1):
    """A user's regulariser that differentiates D's input, known only by its flag."""

    name = "mine"


@pytest.mark.parametrize(
    "kwargs, warns",
    [
        ({"regularisers": [R1()]}, "the R1 penalty"),
        ({"regularisers": [R2(), InputGradientOfMine()]}, "the R2 penalty and the InputGradientOfMine penalty"),
        ({"loss": "wgan_gp"}, "the WGAN-GP gradient penalty"),
        ({"loss": "hinge"}, None),
    ],
)
def test_a_penalty_on_input_gradients_warns_about_a_batch_norm_d_in_any_variant(kwargs, warns):
    import warnings

    from ganzoo import VanillaGAN

    def build(norm):
        d = nn.Sequential(nn.Linear(2, 8), norm(8), nn.ReLU(), nn.Linear(8, 1))
        return VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], discriminator=d, **kwargs)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(nn.BatchNorm1d)
    messages = [str(w.message) for w in caught if "BatchNorm" in str(w.message)]
    if warns is None:
        assert messages == []
    else:
        assert len(messages) == 1 and f"discriminator.1) and {warns} differentiates D's input" in messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build(nn.LayerNorm)  # per sample: nothing to say
