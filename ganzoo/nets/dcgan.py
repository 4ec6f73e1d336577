"""Convolutional generator and discriminator after DCGAN (Radford et al. 2015).

One class per role serves every supported resolution: an image side is
``base * 2**k`` with ``base`` 4 (8, 16, 32, 64, 128 px) or 7 (28 px), and ``k``
sets the number of stride-2 layers, the layout of PyTorch's DCGAN example
(4x4 kernels). ``depth`` asks for another number of stride-2 layers: each halves
the side, rounding up (TensorFlow's ``SAME`` padding), so 28 px at depth 4 runs
28, 14, 7, 4, 2, the layout of DCGAN-TensorFlow, whose 5x5 kernels
``kernel_size=5`` gives (the networks of PacGAN's Stacked MNIST code). Plain
``nn.Module`` s that only define ``forward``; they initialise their own weights
as the paper does, and know nothing of training.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.errors import ConfigError, check_nonnegative_int, check_positive_int, choose_from
from ganzoo.nets.packing import MinibatchStd, pack_samples

#: square image sides the DCGAN networks can produce and score.
SUPPORTED_SIZES = (8, 16, 28, 32, 64, 128)

#: D's normalisation layer after every conv but the first and the last, by name.
NORMS: dict[str, Optional[Callable[[int], nn.Module]]] = {
    "batch": nn.BatchNorm2d,  # the paper's
    # One group: per-sample statistics, so WGAN-GP's per-sample gradient penalty stays valid.
    "layer": lambda channels: nn.GroupNorm(1, channels),
    "spectral": None,  # no layer: spectral norm reparametrizes every conv instead
    "none": None,
}


def square_image(network: str, option: str, image_shape: Sequence[int], sizes: Sequence[int]) -> tuple[int, int]:
    """``(channels, side)`` of an image shape ``(C, S, S)`` with S in ``sizes``; any other shape raises one
    line naming the ``network`` (``"DCGAN"``) and its ``option`` (``"image_shape"``)."""
    shape = tuple(image_shape) if isinstance(image_shape, Sequence) and not isinstance(image_shape, str) else None
    if shape is None or len(shape) != 3 or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise ConfigError(
            f"{network} {option} must be (channels, height, width), got {image_shape!r}; e.g. {option}=[1, 28, 28]"
        )
    channels, height, width = shape
    check_positive_int(f"{network} image channels", channels, f"{option}=[3, 32, 32] for RGB")
    if height != width or height not in sizes:
        raise ConfigError(
            f"{network} image size {height}x{width} is not supported; use a square size in "
            f"{', '.join(str(s) for s in sizes)} (resize the data with image_size=...)"
        )
    return channels, height


#: kernel sizes of the stride-2 layers: 4 (PyTorch's DCGAN example) or 5 (DCGAN-TensorFlow, PacGAN's code).
KERNEL_SIZES = (4, 5)


def _layout(image_shape: Sequence[int], depth: Optional[int] = None, kernel_size: int = 4) -> tuple[int, list[int]]:
    """``(channels, sides)``: the image side after each stride-2 layer, from ``S`` down to the first map's.

    ``depth`` stride-2 layers, each halving the side and rounding up; ``None`` takes the
    native layout, ``S = base * 2**k`` with ``base`` 4 or 7 and ``k`` layers.
    """
    channels, height = square_image("DCGAN", "image_shape", image_shape, SUPPORTED_SIZES)
    if kernel_size not in KERNEL_SIZES:
        raise ConfigError(
            f"DCGAN kernel_size must be 4 (PyTorch's DCGAN) or 5 (DCGAN-TensorFlow's), got {kernel_size!r}; "
            "e.g. kernel_size=5"
        )
    native = (height // (7 if height % 7 == 0 else 4)).bit_length() - 1
    deepest = (height - 1).bit_length()  # halvings, rounding up, until the side is 1
    if depth is None:
        depth = native
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= deepest:
        raise ConfigError(
            f"DCGAN depth must be a number of stride-2 layers from 1 to {deepest} for {height}x{height} images, "
            f"got {depth!r}; e.g. depth={native} (the default at {height} px)"
        )
    sides = [height]
    for _ in range(depth):
        sides.append(-(-sides[-1] // 2))
    return channels, sides


def _down_padding(side: int, kernel_size: int) -> int:
    """Padding of a stride-2 conv that takes ``side`` to ``ceil(side / 2)``."""
    return next(p for p in range(kernel_size) if (side + 2 * p - kernel_size) // 2 + 1 == -(-side // 2))


def _up_padding(side: int, out: int, kernel_size: int) -> tuple[int, int]:
    """``(padding, output_padding)`` of a stride-2 transposed conv that takes ``side`` to ``out``."""
    return next(
        (p, extra) for extra in (0, 1) for p in range(kernel_size) if (side - 1) * 2 - 2 * p + kernel_size + extra == out
    )


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN's initialisation, in place: conv and linear weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


class DCGANGenerator(nn.Module):
    """Maps latent codes to images by transposed convolutions that double the side.

    ``z`` is read as a 1x1 image with ``latent_dim`` channels; a ``base x base``
    transposed conv projects it to ``width * 2**(k-1)`` channels, each following
    block halves the channels and doubles the side (to one less where the next
    side is odd, 4 to 7), and a last transposed conv with ``tanh`` gives the image.
    Hidden layers use BatchNorm and ReLU.

    Args:
        latent_dim: size d of z.
        image_shape: ``(C, S, S)`` with S in :data:`SUPPORTED_SIZES`.
        width: channels of the last hidden layer (``ngf`` of the PyTorch example);
            the first has ``width * 2**(k-1)``, e.g. ``8 * width`` at 64 px.
        depth: k, the number of stride-2 layers; ``None`` for the native layout (2 at
            28 px, 7x7 first maps; 4 at 64 px). At 28 px, 4 starts from 2x2 maps as
            DCGAN-TensorFlow does.
        kernel_size: of the stride-2 layers, 4 (PyTorch's DCGAN) or 5 (DCGAN-TensorFlow's).
    """

    def __init__(
        self,
        latent_dim: int,
        image_shape: Sequence[int],
        width: int = 64,
        depth: Optional[int] = None,
        kernel_size: int = 4,
    ):
        super().__init__()
        check_positive_int("latent_dim", latent_dim, "latent_dim=100")
        check_positive_int("DCGAN generator width (g_width)", width, "g_width=64")
        out_channels, sides = _layout(image_shape, depth, kernel_size)
        sides = sides[::-1]  # from the first map's side up to the image's
        channels = width * 2 ** (len(sides) - 2)
        blocks = [_up_block(latent_dim, channels, kernel_size=sides[0], stride=1, padding=0)]
        for side, out in zip(sides[:-2], sides[1:-1]):
            blocks.append(_up_block(channels, channels // 2, kernel_size, 2, *_up_padding(side, out, kernel_size)))
            channels //= 2
        padding, extra = _up_padding(sides[-2], sides[-1], kernel_size)
        last = nn.ConvTranspose2d(channels, out_channels, kernel_size, 2, padding, output_padding=extra)
        blocks.append(nn.Sequential(last, nn.Tanh()))
        self.net = nn.Sequential(*blocks)
        init_dcgan_weights(self)

    def forward(self, z: Tensor) -> Tensor:
        """z of shape ``(N, latent_dim)`` -> images in [-1, 1], shape ``(N, C, S, S)``."""
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


def _up_block(
    c_in: int, c_out: int, kernel_size: int = 4, stride: int = 2, padding: int = 1, output_padding: int = 0
) -> nn.Sequential:
    return nn.Sequential(
        # BatchNorm adds the shift
        nn.ConvTranspose2d(c_in, c_out, kernel_size, stride, padding, output_padding=output_padding, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


class DCGANDiscriminator(nn.Module):
    """Maps images to one raw score each (a logit for the BCE losses), mirroring the generator.

    ``features``: a stride-2 conv with LeakyReLU(0.2) and no normalisation (as in
    the paper), then blocks that double the channels and halve the side down to
    ``base x base``, flattened to ``feature_dim`` values. ``head``: one linear
    score, the paper's last ``base x base`` convolution written as the linear map
    it is. No sigmoid: the losses take logits. The conditional discriminators of
    :mod:`ganzoo.nets.conditional` reuse ``features`` with heads of their own.

    Args:
        image_shape: ``(C, S, S)`` with S in :data:`SUPPORTED_SIZES`.
        width: channels of the first layer (``ndf`` of the PyTorch example).
        norm: normalisation of the hidden blocks: ``"batch"`` (the paper's),
            ``"layer"`` (GroupNorm with one group: per-sample, for WGAN-GP),
            ``"spectral"`` (spectral norm on every conv and on the head, and no
            other normalisation; Miyato et al. 2018) or ``"none"``.
        pack: images judged together (PacGAN, Lin et al. 2018): ``m`` consecutive images are
            joined along channels into one ``m * C``-channel input, and D gives one score per
            pack, ``N / m`` scores; 1 judges each image alone.
        minibatch_std: group size of a minibatch standard-deviation map (Karras et al. 2018)
            appended to the last ``base x base`` features, before the head (so ``feature_dim``
            has ``base * base`` more); 0 for none.
        depth: the number of stride-2 convolutions, as the generator's; ``None`` for the
            native layout (2 at 28 px, down to 7x7). At 28 px, 4 goes down to 2x2 with
            ``8 * width`` channels, as DCGAN-TensorFlow's does.
        kernel_size: of the stride-2 convolutions, 4 (PyTorch's DCGAN) or 5 (DCGAN-TensorFlow's).
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        width: int = 64,
        norm: str = "batch",
        pack: int = 1,
        minibatch_std: int = 0,
        depth: Optional[int] = None,
        kernel_size: int = 4,
    ):
        super().__init__()
        #: images judged by one score (PacGAN's m).
        self.pack = check_positive_int("discriminator pack (d_pack)", pack, "d_pack=2")
        check_nonnegative_int("discriminator minibatch std group (d_minibatch_std)", minibatch_std, "d_minibatch_std=4")
        if not isinstance(norm, str) or norm not in NORMS:
            raise choose_from("norm", norm, NORMS)
        check_positive_int("DCGAN discriminator width (d_width)", width, "d_width=64")
        in_channels, sides = _layout(image_shape, depth, kernel_size)
        base = sides[-1]
        make_norm = NORMS[norm]
        first = nn.Conv2d(pack * in_channels, width, kernel_size, 2, _down_padding(sides[0], kernel_size))
        blocks = [nn.Sequential(first, nn.LeakyReLU(0.2))]
        channels = width
        for side in sides[1:-1]:
            # A conv followed by a normalisation needs no bias: the norm's own shift replaces it.
            padding = _down_padding(side, kernel_size)
            layers = [nn.Conv2d(channels, channels * 2, kernel_size, 2, padding, bias=make_norm is None)]
            if make_norm is not None:
                layers.append(make_norm(channels * 2))
            blocks.append(nn.Sequential(*layers, nn.LeakyReLU(0.2)))
            channels *= 2
        if minibatch_std:
            blocks.append(MinibatchStd(minibatch_std))
            channels += 1
        #: size of a sample's flattened features, ``channels * base * base``.
        self.feature_dim = channels * base * base
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.head = nn.Linear(self.feature_dim, 1)
        init_dcgan_weights(self)
        if norm == "spectral":
            for layer in list(self.modules()):
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    spectral_norm(layer)

    def forward(self, x: Tensor) -> Tensor:
        """Images of shape ``(N, C, S, S)`` -> raw scores of shape ``(N / pack,)``."""
        return self.head(self.features(pack_samples(x, self.pack))).squeeze(1)
