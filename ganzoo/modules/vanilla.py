"""VanillaGAN: MLP generator and discriminator (Goodfellow et al. 2014)."""
from __future__ import annotations

from typing import Optional, Sequence

from torch import nn

from ganzoo.errors import check_number
from ganzoo.modules.gan import GANModule
from ganzoo.nets.mlp import MLPDiscriminator, MLPGenerator


class VanillaGAN(GANModule):
    """A GAN whose G and D are multilayer perceptrons, for vectors and small flattened images.

    Args:
        data_shape: shape of one sample, e.g. ``[1]`` for the 1-D Gaussian or
            ``[1, 8, 8]`` for 8x8 digits; linked from the datamodule by the CLI.
        g_hidden_dims: widths of G's hidden layers.
        d_hidden_dims: widths of D's hidden layers.
        g_activation: G's hidden activation.
        d_activation: D's hidden activation.
        output_activation: G's output activation: ``None`` for unbounded data,
            ``"tanh"`` for images in [-1, 1].
        g_batch_norm: BatchNorm1d in G's hidden layers.
        d_dropout: dropout in D's hidden layers.
        d_norm: ``"none"``, or ``"spectral"`` for spectral norm on D's linear layers.
        d_pack: samples D judges at once (PacGAN, Lin et al. 2018): D scores packs of
            ``d_pack`` samples joined along features, ``batch_size / d_pack`` scores per
            batch; the batch size must be divisible by it. 1 judges each sample alone.
        d_minibatch_std: group size of a minibatch standard-deviation feature appended to
            D's last hidden layer (Karras et al. 2018; 4 in the paper); 0 for none.
        **kwargs: everything else of :class:`~ganzoo.GANModule` (latent_dim,
            prior, loss, n_critic, optimizers, ...).
    """

    def __init__(
        self,
        data_shape: Sequence[int] = (1,),
        g_hidden_dims: Sequence[int] = (128, 128),
        d_hidden_dims: Sequence[int] = (128, 128),
        g_activation: str = "relu",
        d_activation: str = "leaky_relu",
        output_activation: Optional[str] = None,
        g_batch_norm: bool = False,
        d_dropout: float = 0.0,
        d_norm: str = "none",
        d_pack: int = 1,
        d_minibatch_std: int = 0,
        **kwargs,
    ):
        check_number("d_dropout", d_dropout, "d_dropout=0.3", low=0, high=1, high_open=True)
        super().__init__(**kwargs)

    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return MLPGenerator(
            self.latent_dim, hp.data_shape, hp.g_hidden_dims, hp.g_activation, hp.output_activation, hp.g_batch_norm
        )

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        return MLPDiscriminator(
            hp.data_shape, hp.d_hidden_dims, hp.d_activation, hp.d_dropout, hp.get("d_norm", "none"),
            pack=hp.get("d_pack", 1), minibatch_std=hp.get("d_minibatch_std", 0),
        )
