"""PacGAN packing and the minibatch standard-deviation layer, as options of the MLP and DCGAN discriminators."""
import pytest
import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader, TensorDataset

from ganzoo import DCGAN, ConditionalGAN, ConfigError, VanillaGAN
from ganzoo.callbacks.monitor import _critic
from ganzoo.losses import gradient_penalty
from ganzoo.nets import DCGANDiscriminator, MLPDiscriminator
from ganzoo.nets.packing import MinibatchStd, pack_samples


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_packs_join_consecutive_samples_in_order():
    x = torch.arange(6.0).view(6, 1, 1, 1).expand(6, 2, 2, 2)  # sample i is filled with i, 2 channels
    packed = pack_samples(x, 3)
    assert packed.shape == (2, 6, 2, 2)
    assert packed[:, :, 0, 0].tolist() == [[0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5]]
    assert pack_samples(torch.arange(4.0).view(4, 1), 2).tolist() == [[0, 1], [2, 3]]


@pytest.mark.parametrize("m", [2, 4])
def test_a_packing_d_gives_one_score_per_pack_of_the_joined_samples(m):
    torch.manual_seed(0)
    d = DCGANDiscriminator((3, 8, 8), width=4, norm="none", pack=m).eval()
    x = torch.randn(8, 3, 8, 8)
    scores = d(x)
    assert scores.shape == (8 // m,)
    joined = torch.cat(list(x[m : 2 * m]), dim=0)[None]  # the second pack, by hand
    assert torch.allclose(scores[1], d.head(d.features(joined))[0, 0])
    assert not torch.allclose(d(x.flip(0)).flip(0), scores)  # the order inside a pack matters
    assert MLPDiscriminator((2,), (8,), pack=m)(torch.randn(8, 2)).shape == (8 // m,)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_packing_widens_only_the_first_layer(m):
    dcgan = _count(DCGANDiscriminator((3, 16, 16), width=4, pack=m)) - _count(DCGANDiscriminator((3, 16, 16), width=4))
    assert dcgan == (m - 1) * 3 * 4 * 4 * 4  # (m - 1) * C input channels of a 4x4 conv to `width` channels
    mlp = _count(MLPDiscriminator((1, 8, 8), (16, 8), pack=m)) - _count(MLPDiscriminator((1, 8, 8), (16, 8)))
    assert mlp == (m - 1) * 64 * 16


def test_a_batch_not_divisible_by_the_pack_is_one_line():
    with pytest.raises(ConfigError, match="d_pack=4 makes D judge packs of 4 samples, but a batch holds 6 samples; "
                                          "use a batch_size divisible by 4"):
        MLPDiscriminator((2,), pack=4)(torch.randn(6, 2))
    with pytest.raises(ConfigError, match=r"discriminator pack \(d_pack\) must be a positive integer, got 0; e.g. d_pack=2"):
        DCGAN(data_shape=(1, 8, 8), d_pack=0)


def test_minibatch_std_appends_the_groups_averaged_std():
    torch.manual_seed(1)
    x = torch.randn(6, 2, 3, 3)
    out = MinibatchStd(4)(x)
    assert out.shape == (6, 3, 3, 3) and torch.equal(out[:, :2], x)
    first = x[:4].var(dim=0, unbiased=False).add(1e-8).sqrt().mean()  # samples 0-3
    last = x[4:].var(dim=0, unbiased=False).add(1e-8).sqrt().mean()  # the 2 left over form their own group
    expected = torch.stack([first] * 4 + [last] * 2)
    assert torch.allclose(out[:, 2], expected.view(6, 1, 1).expand(6, 3, 3))
    vectors = MinibatchStd(2)(torch.tensor([[0.0, 0.0], [2.0, 4.0]]))
    assert torch.allclose(vectors[:, 2], torch.tensor([1.5, 1.5]))  # stds 1 and 2, averaged


def test_minibatch_std_adds_one_feature_map_before_the_head():
    base = _count(DCGANDiscriminator((1, 16, 16), width=4))
    with_std = DCGANDiscriminator((1, 16, 16), width=4, minibatch_std=4)
    assert _count(with_std) - base == 4 * 4  # the head reads one more 4x4 map
    assert with_std.feature_dim == (8 + 1) * 16
    assert with_std(torch.randn(8, 1, 16, 16)).shape == (8,)
    mlp = MLPDiscriminator((2,), (8,), minibatch_std=4)
    assert mlp.feature_dim == 9 and mlp(torch.randn(8, 2)).shape == (8,)


def test_the_gradient_penalty_takes_a_pack_as_one_point():
    w = torch.tensor([0.6, 0.0, 0.0, 0.8])  # a linear critic of packs of 2 two-dimensional samples; |w| = 1

    def critic(x):
        return pack_samples(x, 2) @ w

    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    assert float(gradient_penalty(critic, real, fake, pack=2)) == pytest.approx(0.0, abs=1e-10)
    # per sample, the norms would be 0.6 and 0.8: a penalty of (0.16 + 0.04) / 2
    assert float(gradient_penalty(critic, real, fake)) == pytest.approx(0.1)


def test_a_conditional_module_refuses_a_packing_d():
    d = DCGANDiscriminator((1, 8, 8), width=4, pack=2)
    with pytest.raises(ConfigError, match="ConditionalGAN is conditional: its D scores each sample with its own label, "
                                          "so it cannot judge packs of 2 samples"):
        ConditionalGAN(num_classes=3, data_shape=(1, 8, 8), latent_dim=8, g_width=4, d_width=4, discriminator=d)


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_training_and_validation_with_packs_and_a_last_partial_batch(tmp_path):
    model = VanillaGAN(data_shape=(2,), latent_dim=2, g_hidden_dims=[8], d_hidden_dims=[8], d_pack=2,
                       d_minibatch_std=2, loss="wgan_gp")
    train = DataLoader(TensorDataset(torch.randn(32, 2)), batch_size=8, drop_last=True)
    val = DataLoader(TensorDataset(torch.randn(11, 2)), batch_size=4)  # batches of 4, 4, 3: the last judged as 2
    trainer = Trainer(accelerator="cpu", max_steps=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, log_every_n_steps=1, default_root_dir=tmp_path)
    trainer.fit(model, train)
    assert model.d_steps == 2 and "train/d_penalty" in trainer.callback_metrics
    (metrics,) = trainer.validate(model, val, verbose=False)
    assert torch.isfinite(torch.tensor(metrics["val/d_loss"]))


def test_the_monitors_critic_curve_scores_packs_of_copies():
    model = VanillaGAN(data_shape=(1,), latent_dim=2, d_pack=3)
    critic, label = _critic(model, (1,))
    with torch.no_grad():  # as in validation, where the monitor draws
        values = critic(torch.linspace(-1, 1, 7).numpy())
    assert values.shape == (7,) and label == "D(x) = P(real) of 3 copies of x"
