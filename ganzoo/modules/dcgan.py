"""DCGAN: convolutional generator and discriminator for images (Radford et al. 2015)."""
from __future__ import annotations

from typing import Optional, Sequence

from torch import nn

from ganzoo.modules.gan import GANModule
from ganzoo.modules.checks import renamed_argument
from ganzoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator


class DCGAN(GANModule):
    """A GAN whose G and D are the all-convolutional networks of DCGAN, for square images.

    G reads z as a 1x1 image and grows it with stride-2 transposed convolutions,
    BatchNorm and ReLU to a ``tanh`` image in [-1, 1]; D mirrors it with stride-2
    convolutions and LeakyReLU(0.2), no normalisation on its first layer, down to
    one raw score per image. Both start from the paper's N(0, 0.02) weights. See
    :class:`~ganzoo.nets.DCGANGenerator` and :class:`~ganzoo.nets.DCGANDiscriminator`.

    The paper's recipe is Adam with lr 2e-4 and beta1 0.5, which is already
    :class:`~ganzoo.GANModule`'s default optimizer, with z of size 100 and the
    non-saturating loss. Real images must be scaled to [-1, 1].

    Args:
        data_shape: shape ``(C, S, S)`` of one image, S in
            :data:`~ganzoo.nets.SUPPORTED_SIZES` (8, 16, 28, 32, 64, 128); linked
            from the datamodule by the CLI; ``None`` means ``(1, 28, 28)``.
        g_width: channels of G's last hidden layer (``ngf``); its first has
            ``g_width * 2**(depth - 1)``, in the native layout ``g_width * S / 8``
            (``* S / 14`` at 28 px).
        d_width: channels of D's first layer (``ndf``); its last has ``d_width * 2**(depth - 1)``.
        d_norm: D's normalisation: ``"batch"`` (the paper's), ``"layer"`` (per
            sample; use it with ``wgan_gp``), ``"spectral"`` or ``"none"``.
        d_pack: images D judges at once (PacGAN, Lin et al. 2018): D scores packs of
            ``d_pack`` images joined along channels, ``batch_size / d_pack`` scores per
            batch; the batch size must be divisible by it. 1 judges each image alone.
        d_minibatch_std: group size of a minibatch standard-deviation map appended to D's
            last features (Karras et al. 2018; 4 in the paper); 0 for none.
        depth: stride-2 layers of G and of D, each halving the side (rounding up) in D and
            doubling it in G; ``None`` for the native layout (2 at 28 px, 7x7 maps; 4 at
            64 px). At 28 px, ``depth: 4`` with ``kernel_size: 5`` gives DCGAN-TensorFlow's
            networks, those of PacGAN's Stacked MNIST code (2x2 maps of ``8 * width`` channels).
        kernel_size: of the stride-2 layers: 4 (PyTorch's DCGAN example) or 5 (DCGAN-TensorFlow).
        latent_dim: size of z; 100 as in the paper.
        image_shape: the former name of ``data_shape``; still accepted, with a
            deprecation warning.
        **kwargs: everything else of :class:`~ganzoo.GANModule` (prior, loss,
            n_critic, optimizers, ...).
    """

    def __init__(
        self,
        data_shape: Optional[Sequence[int]] = None,
        g_width: int = 64,
        d_width: int = 64,
        d_norm: str = "batch",
        d_pack: int = 1,
        d_minibatch_std: int = 0,
        depth: Optional[int] = None,
        kernel_size: int = 4,
        latent_dim: int = 100,
        image_shape: Optional[Sequence[int]] = None,
        **kwargs,
    ):
        # Read by build_generator and build_discriminator, which GANModule's constructor calls.
        self.data_shape = tuple(renamed_argument("image_shape", image_shape, "data_shape", data_shape) or (1, 28, 28))
        super().__init__(latent_dim=latent_dim, **kwargs)
        # A checkpoint records the one name, so reloading it warns about nothing.
        self.hparams["data_shape"] = self.data_shape
        self.hparams.pop("image_shape", None)

    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return DCGANGenerator(self.latent_dim, self.data_shape, hp.g_width, **self._layout_options())

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        return DCGANDiscriminator(
            self.data_shape,
            hp.d_width,
            hp.d_norm,
            pack=hp.get("d_pack", 1),
            minibatch_std=hp.get("d_minibatch_std", 0),
            **self._layout_options(),
        )

    def _layout_options(self) -> dict:
        # Checkpoints saved before these options existed hold neither: the native layout.
        return {"depth": self.hparams.get("depth"), "kernel_size": self.hparams.get("kernel_size", 4)}
