"""SNGAN: the ResNet generator and spectrally normalised ResNet discriminator (Miyato et al. 2018)."""
from __future__ import annotations

import functools
from typing import Optional, Sequence

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import nn

from ganzoo.modules.gan import GANModule
from ganzoo.nets.resnet import ResNetDiscriminator, ResNetGenerator

#: the paper's optimizer for both players: Adam(2e-4, betas (0, 0.9)).
SNGAN_ADAM = functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.0, 0.9))


class SNGAN(GANModule):
    """A GAN whose G and D are SNGAN's ResNets, with its hinge loss and 5 D steps per G step.

    G: a linear map to a ``base x base`` map, residual up-blocks and a ``tanh`` image in
    [-1, 1]; D: residual down-blocks, ReLU, global sum pooling and a linear score, spectral
    norm on every layer. See :class:`~ganzoo.nets.resnet.ResNetGenerator` and
    :class:`~ganzoo.nets.resnet.ResNetDiscriminator`. The defaults are the setting of the
    paper's ResNet runs on CIFAR-10: z of size 128 from N(0, I), hinge loss, ``n_critic=5``,
    Adam(2e-4, betas (0, 0.9)) for both players (``zoo_configs/sngan_cifar10.yaml`` adds
    batch 64 and the linear decay of both learning rates). The class-conditional variants take the same networks with
    ``backbone: resnet`` (:class:`~ganzoo.ConditionalGAN` and its subclasses).

    Args:
        data_shape: shape ``(C, S, S)`` of one image, S in 8, 16, 28, 32, 48 or 64 (the
            paper's are 32 and 48); linked from the datamodule by the CLI; ``None`` means
            ``(3, 32, 32)``.
        g_width: channels of G's first feature map; ``None``: the paper's for the size (256 up
            to 32 px, 512 at 48, 1024 at 64).
        d_width: channels of D's last block; ``None``: the paper's (128 up to 32 px, 1024 at
            48 and 64).
        d_norm: ``"spectral"`` (the paper's) or ``"none"``.
        latent_dim: size of z.
        loss: the GAN loss; ``hinge`` as in the paper.
        n_critic: D updates per G update; 5 as in the paper.
        g_optimizer: ``None`` means Adam(2e-4, betas (0, 0.9)).
        d_optimizer: the same for D.
        **kwargs: everything else of :class:`~ganzoo.GANModule` (prior, schedulers, EMA, ...).
    """

    def __init__(
        self,
        data_shape: Optional[Sequence[int]] = None,
        g_width: Optional[int] = None,
        d_width: Optional[int] = None,
        d_norm: str = "spectral",
        latent_dim: int = 128,
        loss: str = "hinge",
        n_critic: int = 5,
        g_optimizer: Optional[OptimizerCallable] = None,
        d_optimizer: Optional[OptimizerCallable] = None,
        **kwargs,
    ):
        # Read by build_generator and build_discriminator, which GANModule's constructor calls.
        self.data_shape = tuple(data_shape or (3, 32, 32))
        super().__init__(
            latent_dim=latent_dim,
            loss=loss,
            n_critic=n_critic,
            g_optimizer=g_optimizer or SNGAN_ADAM,
            d_optimizer=d_optimizer or SNGAN_ADAM,
            **kwargs,
        )
        self.hparams["data_shape"] = self.data_shape

    def build_generator(self) -> nn.Module:
        return ResNetGenerator(self.latent_dim, self.data_shape, self.hparams.g_width)

    def build_discriminator(self) -> nn.Module:
        return ResNetDiscriminator(self.data_shape, self.hparams.d_width, self.hparams.d_norm)
