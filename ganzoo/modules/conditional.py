"""Class-conditional GANs: cGAN, AC-GAN and the projection discriminator, on any backbone.

All three share G (z joined to a label embedding, :class:`~ganzoo.nets.conditional.ConditionalGenerator`;
conditional BatchNorm on the ``resnet`` backbone) and differ in how D uses the label. Batches are
``(samples, labels)``; G makes the fakes of a batch for the batch's own labels, so D sees the same
classes on both sides.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import ConfigError, check_number, check_positive_int
from ganzoo.modules.gan import DiscriminatorStep, GANModule
from ganzoo.nets.conditional import (
    AuxiliaryClassifierDiscriminator,
    ConcatDiscriminator,
    ConditionalGenerator,
    ProjectionDiscriminator,
    get_backbone,
    joined_shape,
)


class ConditionalGAN(GANModule):
    """cGAN (Mirza & Osindero 2014): G and D both read the class label.

    G maps z joined to the label's embedding (on the ``resnet`` backbone, z alone, the
    label setting its BatchNorm scales and shifts); D scores a sample joined to the
    label's embedding (as constant image channels on the ``dcgan`` and ``resnet``
    backbones, as extra inputs on the ``mlp`` one). Ask for classes with
    ``generate(n, labels=7)``; sample grids show one row per class.

    Args:
        num_classes: number of classes K; linked from the datamodule by the CLI.
        data_shape: shape of one sample, ``(C, S, S)`` for images; linked from the datamodule.
        backbone: the network family, ``"dcgan"`` (convolutional, for square images of
            the DCGAN sizes), ``"resnet"`` (SNGAN's residual networks, 8 to 64 px;
            G reads the label through conditional BatchNorm instead of an embedding
            joined to z) or ``"mlp"``; see :data:`ganzoo.nets.conditional.BACKBONES`.
        embed_dim: size of the label embeddings; ``None`` takes ``num_classes`` (as
            expressive as the paper's one-hot code).
        g_width: ``dcgan``: channels of G's last hidden layer; ``resnet``: of its first
            feature map (256 in SNGAN's 32-px G; :class:`~ganzoo.nets.resnet.ResNetGenerator`).
        d_width: ``dcgan``: channels of D's first layer; ``resnet``: of its last block
            (128 in SNGAN's 32-px D).
        g_hidden_dims: ``mlp``: widths of G's hidden layers (G ends with ``tanh``:
            data in [-1, 1], as the image datamodules give).
        d_hidden_dims: ``mlp``: widths of D's hidden layers.
        g_batch_norm: ``mlp``: BatchNorm1d in G's hidden layers.
        d_dropout: ``mlp``: dropout in D's hidden layers.
        d_norm: D's normalisation; ``"spectral"`` (Miyato et al. 2018) on every
            backbone, also ``"batch"`` or ``"layer"`` on ``dcgan``, ``"none"`` on ``mlp``
            and ``resnet``; ``None``: the backbone's default (``batch`` for dcgan,
            ``none`` for mlp, ``spectral`` for resnet).
        latent_dim: size of z.
        **kwargs: everything else of :class:`~ganzoo.GANModule` (prior, loss,
            n_critic, optimizers, ...).
    """

    def __init__(
        self,
        num_classes: int = 10,
        data_shape: Sequence[int] = (1, 28, 28),
        backbone: str = "dcgan",
        embed_dim: Optional[int] = None,
        g_width: int = 64,
        d_width: int = 64,
        g_hidden_dims: Sequence[int] = (256, 256),
        d_hidden_dims: Sequence[int] = (256, 256),
        g_batch_norm: bool = True,
        d_dropout: float = 0.0,
        d_norm: Optional[str] = None,
        latent_dim: int = 100,
        **kwargs,
    ):
        if isinstance(num_classes, int) and not isinstance(num_classes, bool) and num_classes == 0:
            raise ConfigError(
                f"{type(self).__name__} needs labelled data, but num_classes is 0 (unlabelled images?); use a "
                "labelled datamodule (MNISTDataModule, DigitsDataModule, an ImageFolder with class subfolders)"
            )
        check_positive_int("num_classes", num_classes, "num_classes=10")
        check_number("d_dropout", d_dropout, "d_dropout=0.3", low=0, high=1, high_open=True)
        self._backbone = get_backbone(backbone)
        if self._backbone.spatial and len(tuple(data_shape)) != 3:
            raise ConfigError(
                f"backbone '{backbone}' makes images (C, S, S), but data_shape is {tuple(data_shape)}; "
                "use backbone: mlp for other data"
            )
        self.num_classes = num_classes
        self.embed_dim = check_positive_int("embed_dim", num_classes if embed_dim is None else embed_dim, "embed_dim=10")
        self.d_norm = self._backbone.default_norm if d_norm is None else d_norm
        super().__init__(latent_dim=latent_dim, **kwargs)

    # ----------------------------------------------------------------- networks
    @property
    def _options(self) -> dict:
        return {**self.hparams, "d_norm": self.d_norm}

    def build_generator(self) -> nn.Module:
        hp = self.hparams
        if self._backbone.conditional_generator is not None:
            return self._backbone.conditional_generator(self.latent_dim, hp.data_shape, self.num_classes, self._options)
        backbone = self._backbone.generator(self.latent_dim + self.embed_dim, hp.data_shape, self._options)
        return ConditionalGenerator(backbone, self.num_classes, self.embed_dim)

    def _trunk(self, in_shape: Sequence[int]) -> tuple[nn.Module, int]:
        """D's feature trunk of the backbone for inputs ``in_shape``, and its feature size."""
        d = self._backbone.discriminator(in_shape, self._options)
        return d.features, d.feature_dim

    def build_discriminator(self) -> nn.Module:
        in_shape = joined_shape(self.hparams.data_shape, self.embed_dim, self._backbone.spatial)
        features, feature_dim = self._trunk(in_shape)
        return ConcatDiscriminator(
            features, feature_dim, self.num_classes, self.embed_dim, self._backbone.spatial, self.d_norm == "spectral"
        )

    # -------------------------------------------------------------- the game
    def forward(self, z: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        return self.generator(z, self._require(labels))

    def discriminate(self, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        return self.discriminator(x, self._require(labels)).reshape(-1)

    def batch_labels(self, batch) -> Tensor:
        """The labels ``(N,)`` of a batch ``(samples, labels)``."""
        if not isinstance(batch, (list, tuple)) or len(batch) < 2:
            raise ConfigError(
                f"{type(self).__name__} trains on batches (samples, labels); this datamodule yields "
                f"{type(batch).__name__} batches without labels: use a labelled datamodule"
            )
        return batch[1].long()

    def _require(self, labels: Optional[Tensor]) -> Tensor:
        if labels is None:
            raise ConfigError(f"{type(self).__name__} is conditional: pass the class labels (N,) with the samples")
        return labels


class ACGAN(ConditionalGAN):
    """AC-GAN (Odena et al. 2017): D predicts the class as well as real-or-fake.

    D sees no label: one trunk feeds the real-or-fake score and a class head. D
    minimises its adversarial loss plus ``class_weight`` times the cross-entropy
    of its class head on the real samples (and, with ``fake_class_loss``, on the
    fakes and their requested labels, as in the paper); G minimises its
    adversarial loss plus ``class_weight`` times the cross-entropy of D's class
    head on its fakes. Logged: ``d_class_loss``, ``d_class_acc_real`` (D as a
    classifier of real data), ``g_class_loss`` and ``g_class_acc`` (how often D
    reads the requested class in G's samples).

    Args:
        class_weight: weight of the class losses of both players.
        fake_class_loss: D's class loss also covers the fakes (the paper's); off, D
            learns classes from real data only, which some later work prefers.
        **kwargs: everything of :class:`ConditionalGAN`.
    """

    def __init__(self, class_weight: float = 1.0, fake_class_loss: bool = True, **kwargs):
        self.class_weight = check_number("class_weight", class_weight, "class_weight=1.0", low=0)
        self.fake_class_loss = fake_class_loss
        super().__init__(**kwargs)

    def build_discriminator(self) -> nn.Module:
        features, feature_dim = self._trunk(self.hparams.data_shape)
        return AuxiliaryClassifierDiscriminator(features, feature_dim, self.num_classes, self.d_norm == "spectral")

    def discriminate(self, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        return self.discriminator(x)[0].reshape(-1)

    def discriminator_objective(self, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None) -> DiscriminatorStep:
        labels = self._require(labels)
        (real_logits, real_classes), (fake_logits, fake_classes) = self.discriminator(real), self.discriminator(fake)
        class_loss = F.cross_entropy(real_classes, labels)
        if self.fake_class_loss:
            class_loss = class_loss + F.cross_entropy(fake_classes, labels)
        terms = {"class_loss": class_loss, "class_acc_real": (real_classes.argmax(1) == labels).float().mean()}
        loss = self.discriminator_loss(real_logits, fake_logits) + self.class_weight * class_loss
        return DiscriminatorStep(loss, real_logits, fake_logits, terms)

    def generator_objective(self, fake: Tensor, labels: Optional[Tensor] = None) -> tuple[Tensor, dict[str, Tensor]]:
        labels = self._require(labels)
        fake_logits, fake_classes = self.discriminator(fake)
        class_loss = F.cross_entropy(fake_classes, labels)
        terms = {"class_loss": class_loss, "class_acc": (fake_classes.argmax(1) == labels).float().mean()}
        return self.generator_loss(fake_logits) + self.class_weight * class_loss, terms


class ProjectionGAN(ConditionalGAN):
    """The projection discriminator (Miyato & Koyama 2018), with the hinge loss and spectral norm.

    D's score is ``w . phi(x) + embed(y) . phi(x)``: the label is projected on
    D's features, not joined to its input
    (:class:`~ganzoo.nets.conditional.ProjectionDiscriminator`). The paper's
    setting is the default: hinge loss and spectral norm on every layer of D
    (``d_norm="spectral"``), including the class embedding. On the ``resnet``
    backbone G and D are the paper's (G with conditional BatchNorm, D's features
    sum-pooled); on the others G is the shared conditional G, z joined to an embedding.

    Args:
        loss: the GAN loss; ``hinge`` as in the paper.
        d_norm: D's normalisation; ``spectral`` as in the paper.
        **kwargs: everything of :class:`ConditionalGAN`.
    """

    def __init__(self, loss: str = "hinge", d_norm: Optional[str] = "spectral", **kwargs):
        super().__init__(loss=loss, d_norm=d_norm, **kwargs)

    def build_discriminator(self) -> nn.Module:
        features, feature_dim = self._trunk(self.hparams.data_shape)
        return ProjectionDiscriminator(features, feature_dim, self.num_classes, self.d_norm == "spectral")
