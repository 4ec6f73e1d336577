import copy
import warnings

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.utils.data import DataLoader, TensorDataset

from ganzoo.errors import ConfigError
from ganzoo.modules import DCGAN, GANModule
from ganzoo.nets import SUPPORTED_SIZES, DCGANDiscriminator, DCGANGenerator

SIZES_LISTED = "8, 16, 28, 32, 64, 128"


def tiny_dcgan(size, channels=1, **kwargs):
    return DCGAN(data_shape=(channels, size, size), g_width=4, d_width=4, latent_dim=8, **kwargs)


def random_images(n, size, channels=1, batch_size=8):
    images = torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(n)) * 2 - 1
    return DataLoader(TensorDataset(images), batch_size=batch_size, shuffle=True)


def fit(model, loader, trainer_kwargs, max_steps=6):
    trainer = pl.Trainer(**trainer_kwargs, max_steps=max_steps, max_epochs=-1, limit_val_batches=0)
    # Validation is off (limit_val_batches=0); a val loader only spares Lightning's "no val_dataloader" warning.
    trainer.fit(model, loader, val_dataloaders=loader)
    return trainer


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", SUPPORTED_SIZES)
def test_networks_produce_and_score_images_of_every_supported_size(size, channels):
    torch.manual_seed(0)
    g = DCGANGenerator(8, (channels, size, size), width=4)
    d = DCGANDiscriminator((channels, size, size), width=4)
    images = g(torch.randn(5, 8))
    assert images.shape == (5, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0
    scores = d(images)
    assert scores.shape == (5,) and torch.isfinite(scores).all()


def map_sides(net: nn.Module, x) -> list[int]:
    """The side of the map after each (transposed) convolution of ``net`` on ``x``.

    Runs a copy in eval mode: a forward in training mode would move BatchNorm's running statistics.
    """
    net = copy.deepcopy(net).eval()
    sides = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: sides.append(out.shape[-1]))
        for m in net.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    net(x)
    for hook in hooks:
        hook.remove()
    return sides


@pytest.mark.parametrize("kernel_size", [4, 5])
@pytest.mark.parametrize("size", SUPPORTED_SIZES)
def test_every_depth_halves_the_side_rounding_up(size, kernel_size):
    torch.manual_seed(0)
    deepest = (size - 1).bit_length()
    for depth in range(1, deepest + 1):
        sides = [size]
        for _ in range(depth):
            sides.append((sides[-1] + 1) // 2)
        g = DCGANGenerator(8, (3, size, size), width=2, depth=depth, kernel_size=kernel_size)
        d = DCGANDiscriminator((3, size, size), width=2, depth=depth, kernel_size=kernel_size)
        z = torch.randn(2, 8)
        assert map_sides(g, z) == sides[::-1], (size, depth)  # the first map, then each doubling
        images = g(z)
        assert map_sides(d, images) == sides[1:], (size, depth)
        assert d(images).shape == (2,)
        assert d.feature_dim == 2 * 2 ** (depth - 1) * sides[-1] ** 2
        widths = [m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
        assert widths == [2 * 2 ** (depth - 1 - i) for i in range(depth)] + [3]


def test_the_native_layout_is_the_default_and_unchanged():
    # The PyTorch DCGAN example's layout at 28 px: z -> 7x7 -> 14 -> 28 and back, 4x4 kernels.
    # Parameter names and shapes must not move: checkpoints saved before depth existed load as they were.
    for size, native in [(8, 1), (16, 2), (28, 2), (32, 3), (64, 4), (128, 5)]:
        for build in (
            lambda **kw: DCGANGenerator(100, (3, size, size), 8, **kw),
            lambda **kw: DCGANDiscriminator((3, size, size), 8, **kw),
        ):
            default, explicit = build().state_dict(), build(depth=native, kernel_size=4).state_dict()
            assert {k: v.shape for k, v in default.items()} == {k: v.shape for k, v in explicit.items()}
    g, d = DCGANGenerator(100, (3, 28, 28), 64), DCGANDiscriminator((3, 28, 28), 64)
    count = lambda net: sum(p.numel() for p in net.parameters())
    # G: 100 -> 128 x 7 x 7 (no bias) + BN, 128 -> 64 (4x4, no bias) + BN, 64 -> 3 (4x4) + bias
    assert count(g) == 100 * 128 * 49 + 2 * 128 + 128 * 64 * 16 + 2 * 64 + 64 * 3 * 16 + 3
    # D: 3 -> 64 (4x4) + bias, 64 -> 128 (4x4, no bias) + BN, linear 128 x 7 x 7 -> 1
    assert count(d) == 3 * 64 * 16 + 64 + 64 * 128 * 16 + 2 * 128 + 128 * 49 + 1
    assert map_sides(g, torch.randn(2, 100)) == [7, 14, 28]


def test_depth_4_and_5x5_kernels_at_28_px_are_dcgan_tensorflows_networks():
    # PacGAN's Stacked MNIST code (DCGAN-TensorFlow): G projects z to 2x2x512, then 5x5 transposed
    # convs to 4x4x256, 7x7x128, 14x14x64 and 28x28x3; D mirrors it with 5x5 convs, 64 to 512 channels.
    g = DCGANGenerator(100, (3, 28, 28), 64, depth=4, kernel_size=5)
    d = DCGANDiscriminator((3, 28, 28), 64, depth=4, kernel_size=5)
    assert map_sides(g, torch.randn(2, 100)) == [2, 4, 7, 14, 28]
    assert map_sides(d, torch.rand(2, 3, 28, 28)) == [14, 7, 4, 2]
    count = lambda net: sum(p.numel() for p in net.parameters())
    bn = lambda c: 2 * c
    # DCGAN-TensorFlow's G has a bias on its projection that its BatchNorm cancels; ganzoo's has none.
    assert count(g) == 100 * 2048 + bn(512) + 25 * (512 * 256 + 256 * 128 + 128 * 64) + sum(map(bn, (256, 128, 64))) + (
        25 * 64 * 3 + 3
    )
    assert count(d) == 25 * 3 * 64 + 64 + 25 * (64 * 128 + 128 * 256 + 256 * 512) + sum(map(bn, (128, 256, 512))) + (
        512 * 4 + 1
    )
    model = DCGAN(data_shape=(3, 28, 28), depth=4, kernel_size=5)
    assert count(model.generator) == count(g) and count(model.discriminator) == count(d)
    assert model.generate(3, seed=0).shape == (3, 3, 28, 28)


@pytest.mark.parametrize(
    "build, shown",
    [
        (lambda: DCGANGenerator(8, (1, 28, 28), depth=6), "DCGAN depth must be a number of stride-2 layers from 1 to 5 "
         "for 28x28 images, got 6; e.g. depth=2 (the default at 28 px)"),
        (lambda: DCGANDiscriminator((1, 8, 8), depth=0), "from 1 to 3 for 8x8 images, got 0; e.g. depth=1"),
        (lambda: DCGAN(data_shape=(1, 64, 64), depth="4"), "got '4'; e.g. depth=4 (the default at 64 px)"),
        (lambda: DCGAN(kernel_size=3), "DCGAN kernel_size must be 4 (PyTorch's DCGAN) or 5 (DCGAN-TensorFlow's), got 3"),
    ],
)
def test_bad_depth_or_kernel_size_fails_with_one_line(build, shown):
    with pytest.raises(ConfigError) as error:
        build()
    assert shown in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("shape, shown", [((1, 30, 30), "30x30"), ((1, 28, 32), "28x32"), ((3, 256, 256), "256x256")])
def test_unsupported_size_names_the_shape_and_lists_the_sizes(shape, shown):
    builds = (lambda: DCGANGenerator(8, shape), lambda: DCGANDiscriminator(shape), lambda: DCGAN(data_shape=shape))
    for build in builds:
        with pytest.raises(ConfigError) as error:
            build()
        message = str(error.value)
        assert "\n" not in message
        assert f"DCGAN image size {shown} is not supported" in message and SIZES_LISTED in message


def test_unknown_norm_lists_the_choices():
    with pytest.raises(ConfigError, match="^unknown norm 'bn'; choose one of: batch, layer, none, spectral$"):
        DCGANDiscriminator((1, 8, 8), norm="bn")
    with pytest.raises(ConfigError, match="unknown norm 'group'"):
        DCGAN(data_shape=(1, 8, 8), d_norm="group")


@pytest.mark.parametrize(
    "build, shown",
    [
        (lambda: DCGANGenerator(8, (1, 8, 8), width=0), "got 0; e.g. g_width=64"),
        (lambda: DCGANDiscriminator((1, 8, 8), width=2.5), "got 2.5; e.g. d_width=64"),
        (lambda: DCGANGenerator(-3, (1, 8, 8)), "latent_dim must be a positive integer, got -3"),
        (lambda: DCGANGenerator(8, (0, 8, 8)), "channels must be a positive integer, got 0"),
        (lambda: DCGANDiscriminator((8, 8)), "image_shape must be (channels, height, width), got (8, 8)"),
    ],
)
def test_bad_width_latent_dim_or_channels_fail_with_one_line(build, shown):
    with pytest.raises(ConfigError) as error:
        build()
    assert shown in str(error.value) and "\n" not in str(error.value)


def test_weights_start_as_in_dcgan():
    torch.manual_seed(0)
    g = DCGANGenerator(100, (3, 64, 64), width=32)
    d = DCGANDiscriminator((3, 64, 64), width=32)
    first, last_hidden = g.net[0][0].weight, d.features[3][0].weight  # 410k and 131k weights
    for weight in (first, last_hidden):
        assert abs(weight.mean().item()) < 1e-3 and abs(weight.std().item() - 0.02) < 1e-3
    norms = [m for m in [*g.modules(), *d.modules()] if isinstance(m, nn.BatchNorm2d)]
    weights = torch.cat([m.weight.detach() for m in norms])
    assert len(norms) == 4 + 3 and abs(weights.mean().item() - 1) < 0.005 and abs(weights.std().item() - 0.02) < 0.005
    assert all((m.bias == 0).all() for m in norms)


@pytest.mark.parametrize("norm", ["batch", "layer", "spectral", "none"])
def test_first_discriminator_block_is_not_normalised(norm):
    d = DCGANDiscriminator((1, 32, 32), width=4, norm=norm)
    norm_types = (nn.BatchNorm2d, nn.GroupNorm)
    assert not any(isinstance(m, norm_types) for m in d.features[0].modules())
    has_norm_layers = any(isinstance(m, norm_types) for m in d.features[1].modules())
    assert has_norm_layers == (norm in ("batch", "layer"))


def test_spectral_norm_parametrizes_every_discriminator_layer():
    torch.manual_seed(0)
    d = DCGANDiscriminator((3, 32, 32), width=8, norm="spectral")
    convs = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]  # 3 convs and the linear head
    assert len(convs) == 4 and all(parametrize.is_parametrized(conv, "weight") for conv in convs)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in d.modules())
    d.eval()
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2).item()
        assert abs(sigma - 1) < 0.05, sigma


def test_layer_norm_scores_each_sample_on_its_own():
    torch.manual_seed(0)
    layer = DCGANDiscriminator((1, 16, 16), width=4, norm="layer")
    batch = DCGANDiscriminator((1, 16, 16), width=4, norm="batch")
    assert any(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in layer.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in layer.modules())
    x, others = torch.randn(4, 1, 16, 16), torch.randn(3, 1, 16, 16)
    y = torch.cat([x[:1], others])
    # In training mode BatchNorm makes a sample's score depend on the rest of the batch; GroupNorm does not.
    torch.testing.assert_close(layer(x)[0], layer(y)[0])
    assert (batch(x)[0] - batch(y)[0]).abs() > 1e-4


# ------------------------------------------------------------------ module
@pytest.mark.parametrize("size", SUPPORTED_SIZES)
def test_dcgan_trains_at_every_size(size, trainer_kwargs):
    pl.seed_everything(0)
    model = tiny_dcgan(size)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, random_images(16, size), trainer_kwargs)
    assert model.g_steps == 3 and model.d_steps == 3
    for name, param in model.named_parameters():
        assert torch.isfinite(param).all(), name
    for net in ("generator", "discriminator"):
        params = [(name, p) for name, p in model.named_parameters() if name.startswith(net)]
        assert any(not torch.equal(p, before[name]) for name, p in params), f"no {net} parameter changed"
    assert torch.isfinite(model.generate(4, seed=0)).all()


def test_dcgan_builds_its_networks_from_hparams():
    model = tiny_dcgan(16, channels=3, d_norm="layer")
    assert model.hparams.data_shape == (3, 16, 16) and model.hparams.d_norm == "layer"
    assert model.hparams.latent_dim == 8 and model.hparams.g_width == 4
    assert isinstance(model.generator, DCGANGenerator) and isinstance(model.discriminator, DCGANDiscriminator)
    assert any(isinstance(m, nn.GroupNorm) for m in model.discriminator.modules())
    assert DCGAN().latent_dim == 100 and DCGAN().hparams.data_shape == (1, 28, 28)


def test_generate_is_reproducible_by_seed():
    model = tiny_dcgan(16, channels=3)
    samples = model.generate(4, seed=0)
    assert samples.shape == (4, 3, 16, 16)
    torch.testing.assert_close(samples, model.generate(4, seed=0), rtol=0, atol=0)
    assert not torch.equal(samples, model.generate(4, seed=1))


@pytest.mark.parametrize("d_norm", ["batch", "spectral"])
def test_checkpoint_round_trip_gives_the_same_samples_and_scores(d_norm, trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = tiny_dcgan(8, channels=3, d_norm=d_norm)
    trainer = fit(model, random_images(16, 8, channels=3), trainer_kwargs)
    path = tmp_path / "dcgan.ckpt"
    trainer.save_checkpoint(path)
    loaded = DCGAN.load_from_checkpoint(path)
    assert loaded.hparams.d_norm == d_norm and loaded.g_steps == 3
    torch.testing.assert_close(loaded.generate(4, seed=1), model.generate(4, seed=1), rtol=0, atol=0)
    images = torch.rand(4, 3, 8, 8) * 2 - 1
    model.eval(), loaded.eval()
    torch.testing.assert_close(loaded.discriminator(images), model.discriminator(images), rtol=0, atol=0)
    assert type(GANModule.load_from_checkpoint(path)) is DCGAN


def test_a_checkpoint_keeps_the_layout_and_one_saved_without_it_loads_native(trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = tiny_dcgan(16, channels=3, depth=3, kernel_size=5)
    trainer = fit(model, random_images(16, 16, channels=3), trainer_kwargs, max_steps=2)
    path = tmp_path / "deep.ckpt"
    trainer.save_checkpoint(path)
    loaded = DCGAN.load_from_checkpoint(path)
    assert (loaded.hparams.depth, loaded.hparams.kernel_size) == (3, 5)
    assert map_sides(loaded.generator, torch.randn(2, 8)) == [2, 4, 8, 16]
    torch.testing.assert_close(loaded.generate(4, seed=1), model.generate(4, seed=1), rtol=0, atol=0)
    # A checkpoint written before these options existed has neither in its hyperparameters.
    native = tiny_dcgan(16, channels=3)
    trainer = fit(native, random_images(16, 16, channels=3), trainer_kwargs, max_steps=2)
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=False)
    for key in ("depth", "kernel_size"):
        del checkpoint["hyper_parameters"][key]
    torch.save(checkpoint, path)
    old = DCGAN.load_from_checkpoint(path)
    assert map_sides(old.generator, torch.randn(2, 8)) == [4, 8, 16]
    torch.testing.assert_close(old.generate(4, seed=1), native.generate(4, seed=1), rtol=0, atol=0)


def test_batch_norm_with_gradient_penalty_warns():
    # 16 px: at 8 px D is one convolution and a head, with no BatchNorm to warn about (the warning looks at D's modules)
    with pytest.warns(UserWarning, match="BatchNorm.*use d_norm: layer"):
        tiny_dcgan(16, loss="wgan_gp")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_dcgan(16, loss="wgan_gp", d_norm="layer")
        tiny_dcgan(16, loss="non_saturating")
        tiny_dcgan(8, loss="wgan_gp")


def test_image_shape_is_the_old_name_of_data_shape_and_still_works_with_one_warning():
    from ganzoo.modules import checks

    checks._WARNED.discard("image_shape")
    with pytest.warns(DeprecationWarning, match="the argument image_shape is now data_shape"):
        old = DCGAN(image_shape=(1, 8, 8), g_width=4, d_width=4, latent_dim=8)
    assert old.data_shape == old.hparams.data_shape == (1, 8, 8) and "image_shape" not in old.hparams
    assert old.generate(2, seed=0).shape == (2, 1, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process: the second use is silent
        DCGAN(image_shape=(1, 8, 8), g_width=4, d_width=4, latent_dim=8)
    with pytest.raises(ConfigError, match=r"image_shape=\(1, 8, 8\) and data_shape=\(1, 16, 16\) disagree"):
        DCGAN(image_shape=(1, 8, 8), data_shape=(1, 16, 16))
