"""SNGAN's ResNet networks, checked against the published architecture."""
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganzoo.errors import ConfigError
from ganzoo.nets.resnet import (
    LAYOUTS,
    ConditionalBatchNorm2d,
    DBlock,
    GBlock,
    OptimizedDBlock,
    ResNetDiscriminator,
    ResNetGenerator,
)


def count(module):
    return sum(p.numel() for p in module.parameters())


def conv(c_in, c_out, k):
    return c_in * c_out * k * k + c_out


# The reference: SNGAN's CIFAR-10 ResNets (Miyato et al. 2018, Appendix B; the authors'
# Chainer code sngan_projection, gen_models/resnet_32.py and dis_models/snresnet_32.py; mimicry's
# SNGANGenerator32 / SNGANDiscriminator32, reported there as 4.3M and 1.0M parameters). By hand:
# G, z of 128, ngf 256, RGB at 32 px
#   linear 128 -> 4*4*256:                    128*4096 + 4096                          =   528,384
#   3 up-blocks 256 -> 256, each: BN 512 + conv3x3 590,080 + BN 512 + conv3x3 590,080
#                                 + shortcut conv1x1 65,792 = 1,246,976;  x3          = 3,740,928
#   BN 512 + conv3x3 256 -> 3: 6,912 + 3                                              =     7,427
#   total                                                                             = 4,276,739
# D, ndf 128, RGB at 32 px
#   optimized block 3 -> 128: conv3x3 3,584 + conv3x3 147,584 + shortcut conv1x1 512  =   151,680
#   block 128 -> 128 down: 147,584 + 147,584 + shortcut 16,512                        =   311,680
#   2 blocks 128 -> 128, identity shortcuts: 295,168 each                             =   590,336
#   linear 128 -> 1                                                                   =       129
#   total                                                                             = 1,053,825
SNGAN32_G, SNGAN32_D = 4_276_739, 1_053_825


def test_the_32px_networks_have_sngans_parameter_counts():
    assert count(ResNetGenerator(128, (3, 32, 32))) == SNGAN32_G
    assert count(ResNetDiscriminator((3, 32, 32))) == SNGAN32_D
    assert count(ResNetGenerator(128, (3, 32, 32), width=256)) == SNGAN32_G  # the paper's widths are the defaults


def gblock(c_in, c_out, k=0):
    norms = 2 * k * (c_in + c_out) if k else 2 * (c_in + c_out)
    return norms + conv(c_in, c_out, 3) + conv(c_out, c_out, 3) + conv(c_in, c_out, 1)


def dblock(c_in, c_out, down):
    return conv(c_in, c_in, 3) + conv(c_in, c_out, 3) + (conv(c_in, c_out, 1) if down or c_in != c_out else 0)


def test_the_48_and_64px_networks_have_the_stl10_and_mimicry_layouts():
    """SNGAN's STL-10 nets (48 px, 6x6 start; mimicry's SNGANGenerator48/Discriminator48, ngf 512, ndf 1024)
    and mimicry's 64-px nets (ngf 1024, ndf 1024): channels halve per G block and double per D block."""
    g48 = 128 * 36 * 512 + 36 * 512 + gblock(512, 256) + gblock(256, 128) + gblock(128, 64) + 128 + conv(64, 3, 3)
    d48 = (conv(3, 64, 3) + conv(64, 64, 3) + conv(3, 64, 1) + dblock(64, 128, True) + dblock(128, 256, True)
           + dblock(256, 512, True) + dblock(512, 1024, False) + 1025)  # fmt: skip
    g64 = 128 * 16 * 1024 + 16 * 1024 + sum(gblock(c, c // 2) for c in (1024, 512, 256, 128)) + 128 + conv(64, 3, 3)
    d64 = d48 - dblock(512, 1024, False) + dblock(512, 1024, True)
    assert (count(ResNetGenerator(128, (3, 48, 48))), count(ResNetDiscriminator((3, 48, 48)))) == (g48, d48)
    assert (count(ResNetGenerator(128, (3, 64, 64))), count(ResNetDiscriminator((3, 64, 64)))) == (g64, d64)
    assert (g48, d48, g64, d64) == (4_878_083, 10_141_441, 12_220_675, 10_141_441)


def shapes_through(blocks, x, *args):
    shapes = []
    for block in blocks:
        x = block(x, *args)
        shapes.append(tuple(x.shape[1:]))
    return shapes


@pytest.mark.parametrize(
    "size, g_shapes, d_shapes",
    [
        (28, [(32, 14, 14), (32, 28, 28)], [(16, 14, 14), (16, 7, 7), (16, 7, 7), (16, 7, 7)]),
        (32, [(32, 8, 8), (32, 16, 16), (32, 32, 32)], [(16, 16, 16), (16, 8, 8), (16, 8, 8), (16, 8, 8)]),
        (48, [(16, 12, 12), (8, 24, 24), (4, 48, 48)], [(1, 24, 24), (2, 12, 12), (4, 6, 6), (8, 3, 3), (16, 3, 3)]),
        (64, [(16, 8, 8), (8, 16, 16), (4, 32, 32), (2, 64, 64)],
         [(1, 32, 32), (2, 16, 16), (4, 8, 8), (8, 4, 4), (16, 2, 2)]),
    ],
)
def test_feature_maps_have_the_published_shapes(size, g_shapes, d_shapes):
    torch.manual_seed(0)
    g = ResNetGenerator(16, (3, size, size), width=32)
    d = ResNetDiscriminator((3, size, size), width=16)
    z = torch.randn(2, 16)
    first = g.linear(z).reshape(2, -1, g.base, g.base)
    assert first.shape[1:] == (32, LAYOUTS[size].base, LAYOUTS[size].base)
    assert shapes_through(g.blocks, first) == g_shapes
    images = g(z)
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    assert isinstance(d.features[0], OptimizedDBlock) and all(isinstance(b, DBlock) for b in d.features[1:-1])
    assert shapes_through(d.features[:-1], images) == d_shapes
    assert d.features(images).shape == (2, d.feature_dim) == (2, 16) and d(images).shape == (2,)


def test_d_sum_pools_relu_features_and_every_layer_is_spectrally_normalised():
    torch.manual_seed(0)
    d = ResNetDiscriminator((1, 28, 28), width=8).eval()  # eval: no power iteration between the two calls
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 3 + 3 + 2 + 2 + 1  # two shortcuts: the optimized block's and the downsampling block's
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    x = torch.randn(3, 1, 28, 28)
    maps = d.features[:-1](x)
    torch.testing.assert_close(d.features(x), maps.clamp(min=0).sum(dim=(2, 3)))
    plain = ResNetDiscriminator((1, 28, 28), width=8, norm="none")
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())


def test_blocks_add_the_residual_to_the_shortcut():
    torch.manual_seed(0)
    block = DBlock(4, 4, downsample=False)
    assert block.shortcut is None  # same channels and side: the identity, as in the paper
    x = torch.randn(2, 4, 6, 6)
    for conv_ in (block.conv1, block.conv2):
        nn.init.zeros_(conv_.weight), nn.init.zeros_(conv_.bias)
    torch.testing.assert_close(block(x), x)
    up = GBlock(4, 2)
    for conv_ in (up.conv1, up.conv2):
        nn.init.zeros_(conv_.weight), nn.init.zeros_(conv_.bias)
    torch.testing.assert_close(up(x), up.shortcut(x.repeat_interleave(2, 2).repeat_interleave(2, 3)))


def test_conditional_batch_norm_scales_and_shifts_by_class():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, num_classes=4)
    assert count(cbn) == 2 * 4 * 3
    with torch.no_grad():
        cbn.scale.weight.copy_(torch.arange(12.0).reshape(4, 3))
        cbn.shift.weight.fill_(-1.0)
    x, labels = torch.randn(5, 3, 2, 2) * 3 + 2, torch.tensor([0, 1, 2, 3, 1])
    normed = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    expected = cbn.scale.weight[labels][:, :, None, None] * normed - 1.0
    torch.testing.assert_close(cbn(x, labels), expected, rtol=1e-4, atol=1e-4)


def test_a_conditional_generator_reads_the_label_through_its_block_norms():
    torch.manual_seed(0)
    g = ResNetGenerator(8, (1, 16, 16), width=8, num_classes=3).eval()
    unconditional = ResNetGenerator(8, (1, 16, 16), width=8)
    # Each of the 2 up-blocks swaps two affine BatchNorms (2 * 8 * 2 parameters) for two conditional ones (2 * 3 * 8 * 2).
    assert count(g) - count(unconditional) == 2 * (2 * 3 * 8 * 2 - 2 * 8 * 2)
    assert sum(isinstance(m, ConditionalBatchNorm2d) for m in g.modules()) == 4
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                m.shift.weight.normal_()
    z = torch.randn(4, 8)
    assert not torch.allclose(g(z, torch.zeros(4, dtype=torch.long)), g(z, torch.full((4,), 2)))
    with pytest.raises(ConfigError, match="conditional: pass the class labels"):
        g(z)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ResNetGenerator(8, (3, 40, 40)), "ResNet image size 40x40 is not supported; use a square size in "
         "8, 16, 28, 32, 48, 64 (resize the data with image_size=...)"),
        (lambda: ResNetDiscriminator((3, 32, 28)), "ResNet image size 32x28 is not supported"),
        (lambda: ResNetDiscriminator((32, 32)), "ResNet data_shape must be (channels, height, width), got (32, 32)"),
        (lambda: ResNetDiscriminator((3, 48, 48), width=100), "ResNet d_width 100 must be a multiple of 16 at this "
         "size (a block has d_width/16 channels); e.g. d_width=1024"),
        (lambda: ResNetGenerator(8, (3, 32, 32), width=0), "ResNet g_width must be a positive integer, got 0"),
        (lambda: ResNetDiscriminator((3, 32, 32), norm="batch"), "unknown ResNet d_norm 'batch'; choose one of: "
         "none, spectral"),
    ],
)
def test_bad_shapes_widths_and_norms_fail_with_one_line(build, message):
    with pytest.raises(ConfigError) as error:
        build()
    assert message in str(error.value) and "\n" not in str(error.value)
