"""The ResNet generator and discriminator of SNGAN (Miyato et al. 2018, Appendix B).

The design of the authors' Chainer code (``sngan_projection``), which mimicry and
StudioGAN follow: G is a linear map to a ``base x base`` feature map, residual
up-blocks (BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, with an upsampled 1x1 conv
shortcut) and BN-ReLU-conv3x3-tanh; D is an "optimized" first block, residual
down-blocks (ReLU-conv3x3-ReLU-conv3x3-avgpool, shortcut conv1x1 then avgpool),
ReLU, global sum pooling and a linear score, with spectral norm on every layer.
One class per role serves every size of :data:`LAYOUTS`; for the conditional
variants G swaps its block norms for conditional BatchNorm. Plain ``nn.Module`` s
that only define ``forward``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.errors import ConfigError, check_nonnegative_int, check_positive_int, choose_from
from ganzoo.nets.dcgan import square_image


@dataclass(frozen=True)
class ResNetLayout:
    """The networks for one image side.

    Attributes:
        base: side of G's first feature map; each up-block doubles it.
        g_divisors: channels of G's first map and of each up-block's output, as
            ``g_width // divisor``.
        d_blocks: ``(divisor, downsample)`` of each D block (the first is the optimized
            block, which always halves the side): ``d_width // divisor`` channels.
        g_width: the paper's G width at this size.
        d_width: the paper's D width.
    """

    base: int
    g_divisors: tuple[int, ...]
    d_blocks: tuple[tuple[int, bool], ...]
    g_width: int
    d_width: int


_FLAT = ((1, True), (1, True), (1, False), (1, False))
#: the supported image sides. 32: SNGAN's CIFAR-10 nets (G 256 channels throughout, D 128);
#: 48: its STL-10 nets (6x6 start, channels halved per block), 64: mimicry's 64-px nets;
#: 28: the 32-px layout from a 7x7 start with two up-blocks, for MNIST; 8 and 16: the 32-px
#: layout with one and two up-blocks, for small data (8x8 digits) and fast tests.
LAYOUTS: dict[int, ResNetLayout] = {
    8: ResNetLayout(4, (1, 1), _FLAT, 256, 128),
    16: ResNetLayout(4, (1, 1, 1), _FLAT, 256, 128),
    28: ResNetLayout(7, (1, 1, 1), _FLAT, 256, 128),
    32: ResNetLayout(4, (1, 1, 1, 1), _FLAT, 256, 128),
    48: ResNetLayout(6, (1, 2, 4, 8), ((16, True), (8, True), (4, True), (2, True), (1, False)), 512, 1024),
    64: ResNetLayout(4, (1, 2, 4, 8, 16), ((16, True), (8, True), (4, True), (2, True), (1, True)), 1024, 1024),
}

#: D's normalisation: spectral norm on every layer (the paper's) or none.
RESNET_NORMS = ("spectral", "none")


def resnet_layout(image_shape: Sequence[int]) -> tuple[int, ResNetLayout]:
    """``(channels, layout)`` of an image shape ``(C, S, S)``; other shapes raise one line."""
    channels, height = square_image("ResNet", "data_shape", image_shape, tuple(LAYOUTS))
    return channels, LAYOUTS[height]


def _widths(name: str, width: Optional[int], default: int, divisors: Sequence[int]) -> list[int]:
    width = default if width is None else width
    check_positive_int(f"ResNet {name}", width, f"{name}={default}")
    largest = max(divisors)
    if width % largest:
        raise ConfigError(
            f"ResNet {name} {width} must be a multiple of {largest} at this size (a block has {name}/{largest} "
            f"channels); e.g. {name}={default}"
        )
    return [width // d for d in divisors]


def _xavier(layer: nn.Module, gain: float) -> nn.Module:
    # The authors' initialisation: Glorot-uniform, gain sqrt(2) inside the residual branches, 1 elsewhere.
    nn.init.xavier_uniform_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def _conv(c_in: int, c_out: int, kernel_size: int = 3, gain: float = math.sqrt(2)) -> nn.Conv2d:
    return _xavier(nn.Conv2d(c_in, c_out, kernel_size, 1, kernel_size // 2), gain)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are looked up by class (de Vries et al. 2017; Miyato & Koyama 2018).

    Args:
        num_features: channels C.
        num_classes: number of classes K; ``2 * K * C`` parameters, scales starting at 1, shifts at 0.
    """

    def __init__(self, num_features: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.scale = nn.Embedding(num_classes, num_features)
        self.shift = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        """Features ``(N, C, H, W)`` and labels int ``(N,)`` in [0, K) -> features ``(N, C, H, W)``."""
        return self.scale(labels)[:, :, None, None] * self.norm(x) + self.shift(labels)[:, :, None, None]


class GBlock(nn.Module):
    """G's residual up-block: BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, plus upsample-conv1x1 of the input.

    Upsampling is nearest-neighbour, as in the authors' code (mimicry uses bilinear).

    Args:
        c_in: input channels.
        c_out: output channels (also the hidden ones).
        num_classes: > 0 makes both norms conditional BatchNorm on the label.
    """

    def __init__(self, c_in: int, c_out: int, num_classes: int = 0):
        super().__init__()
        self.norm1, self.norm2 = (
            ConditionalBatchNorm2d(c, num_classes) if num_classes else nn.BatchNorm2d(c) for c in (c_in, c_out)
        )
        self.conv1, self.conv2 = _conv(c_in, c_out), _conv(c_out, c_out)
        self.shortcut = _conv(c_in, c_out, kernel_size=1, gain=1.0)

    def _norm(self, norm: nn.Module, x: Tensor, labels: Optional[Tensor]) -> Tensor:
        return norm(x, labels) if isinstance(norm, ConditionalBatchNorm2d) else norm(x)

    def forward(self, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """Features ``(N, c_in, S, S)`` (and labels ``(N,)`` when conditional) -> ``(N, c_out, 2S, 2S)``."""
        h = F.interpolate(F.relu(self._norm(self.norm1, x, labels)), scale_factor=2)
        h = self.conv2(F.relu(self._norm(self.norm2, self.conv1(h), labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class ResNetGenerator(nn.Module):
    """SNGAN's ResNet G: linear to ``base x base``, residual up-blocks, BN-ReLU-conv3x3-tanh.

    Args:
        latent_dim: size d of z (128 in the paper).
        image_shape: ``(C, S, S)`` with S in :data:`LAYOUTS` (8, 16, 28, 32, 48, 64).
        width: channels of the first feature map (``ngf``); kept by every block at 28 and
            32 px (and 8, 16), halved by each block at 48 and 64 px. ``None``: the paper's at
            this size (256 up to 32 px, 512 at 48, 1024 at 64).
        num_classes: > 0 conditions G on a label through conditional BatchNorm in every
            up-block (the projection paper's G); 0 for an unconditional G.
    """

    def __init__(
        self, latent_dim: int, image_shape: Sequence[int], width: Optional[int] = None, num_classes: int = 0
    ):
        super().__init__()
        check_positive_int("latent_dim", latent_dim, "latent_dim=128")
        self.num_classes = check_nonnegative_int("num_classes", num_classes, "num_classes=10")
        out_channels, layout = resnet_layout(image_shape)
        channels = _widths("g_width", width, layout.g_width, layout.g_divisors)
        self.base = layout.base
        self.linear = _xavier(nn.Linear(latent_dim, layout.base**2 * channels[0]), 1.0)
        self.blocks = nn.ModuleList(GBlock(a, b, num_classes) for a, b in zip(channels, channels[1:]))
        self.out = nn.Sequential(
            nn.BatchNorm2d(channels[-1]), nn.ReLU(), _conv(channels[-1], out_channels, gain=1.0), nn.Tanh()
        )

    def forward(self, z: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """z ``(N, latent_dim)`` (and labels int ``(N,)`` when conditional) -> images in [-1, 1], ``(N, C, S, S)``."""
        if self.num_classes and labels is None:
            raise ConfigError("this ResNet generator is conditional: pass the class labels (N,) with z")
        h = self.linear(z).reshape(z.shape[0], -1, self.base, self.base)
        for block in self.blocks:
            h = block(h, labels if self.num_classes else None)
        return self.out(h)


class OptimizedDBlock(nn.Module):
    """D's first block: conv3x3-ReLU-conv3x3-avgpool, plus avgpool-conv1x1 of the image (no ReLU on pixels)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1, self.conv2 = _conv(c_in, c_out), _conv(c_out, c_out)
        self.shortcut = _conv(c_in, c_out, kernel_size=1, gain=1.0)

    def forward(self, x: Tensor) -> Tensor:
        """Images ``(N, c_in, S, S)`` -> features ``(N, c_out, S/2, S/2)``."""
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class DBlock(nn.Module):
    """D's residual block: ReLU-conv3x3-ReLU-conv3x3(-avgpool), plus conv1x1(-avgpool) of the input.

    The shortcut is the identity when the block keeps both channels and side.

    Args:
        c_in: input channels (also the hidden ones, as in the authors' code).
        c_out: output channels.
        downsample: halve the side.
    """

    def __init__(self, c_in: int, c_out: int, downsample: bool):
        super().__init__()
        self.conv1, self.conv2 = _conv(c_in, c_in), _conv(c_in, c_out)
        self.shortcut = _conv(c_in, c_out, kernel_size=1, gain=1.0) if downsample or c_in != c_out else None
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        """Features ``(N, c_in, S, S)`` -> ``(N, c_out, S', S')``, S' = S/2 when downsampling, else S."""
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        skip = x if self.shortcut is None else self.shortcut(x)
        if self.downsample:
            h, skip = F.avg_pool2d(h, 2), F.avg_pool2d(skip, 2)
        return h + skip


class SumPool(nn.Module):
    """Global sum pooling: ReLU'd features ``(N, C, H, W)`` -> ``(N, C)``."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x).sum(dim=(2, 3))


class ResNetDiscriminator(nn.Module):
    """SNGAN's ResNet D: optimized block, residual down-blocks, ReLU, global sum pooling, linear score.

    ``features`` maps images to ``(N, feature_dim)`` sum-pooled features (the conditional
    discriminators of :mod:`ganzoo.nets.conditional` reuse it with heads of their own);
    ``head`` is the linear score. No sigmoid: the losses take logits.

    Args:
        image_shape: ``(C, S, S)`` with S in :data:`LAYOUTS`; any C (a cGAN's D reads the
            label as extra channels).
        width: channels of the last block (``ndf``); every block has them up to 32 px, the
            first has ``width / 16`` at 48 and 64 px, doubling per block. ``None``: the
            paper's at this size (128 up to 32 px, 1024 at 48 and 64).
        norm: ``"spectral"`` (spectral norm on every conv and the head, the paper's) or ``"none"``.
    """

    def __init__(self, image_shape: Sequence[int], width: Optional[int] = None, norm: str = "spectral"):
        super().__init__()
        if not isinstance(norm, str) or norm not in RESNET_NORMS:
            raise choose_from("ResNet d_norm", norm, RESNET_NORMS)
        in_channels, layout = resnet_layout(image_shape)
        channels = _widths("d_width", width, layout.d_width, [d for d, _ in layout.d_blocks])
        blocks = [OptimizedDBlock(in_channels, channels[0])]
        blocks += [DBlock(a, b, down) for a, b, (_, down) in zip(channels, channels[1:], layout.d_blocks[1:])]
        self.features = nn.Sequential(*blocks, SumPool())
        #: size of a sample's features, the channels of the last block.
        self.feature_dim = channels[-1]
        self.head = _xavier(nn.Linear(self.feature_dim, 1), 1.0)
        if norm == "spectral":
            for layer in list(self.modules()):
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    spectral_norm(layer)

    def forward(self, x: Tensor) -> Tensor:
        """Images ``(N, C, S, S)`` -> raw scores ``(N,)``."""
        return self.head(self.features(x)).squeeze(1)
