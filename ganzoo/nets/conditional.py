"""Class-conditional generator and discriminators around any backbone.

The conditioning is written once and wraps a backbone's networks: G reads its
label through an embedding joined to z (or, on the ``resnet`` backbone, through
conditional BatchNorm in its blocks); D's label enters in one of three ways:

- :class:`ConcatDiscriminator` (cGAN, Mirza & Osindero 2014): the label's
  embedding is joined to D's input, as constant image channels for a conv
  backbone or as extra inputs for an MLP;
- :class:`AuxiliaryClassifierDiscriminator` (AC-GAN, Odena et al. 2017): D sees
  no label, and a second head predicts the class;
- :class:`ProjectionDiscriminator` (Miyato & Koyama 2018): the score adds the
  inner product of the label's embedding with D's features.

A backbone is an entry of :data:`BACKBONES`: it builds G for a code size and
D's feature trunk (``features``, ``(N, *in_shape) -> (N, feature_dim)``) for an
input shape. Plain ``nn.Module`` s that only define ``forward``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.errors import check_positive_int, choose_from
from ganzoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganzoo.nets.mlp import MLPDiscriminator, MLPGenerator
from ganzoo.nets.resnet import ResNetDiscriminator, ResNetGenerator


@dataclass(frozen=True)
class Backbone:
    """One network family the conditional GANs can be built on.

    Attributes:
        name: the name a conditional module's ``backbone`` takes.
        generator: ``(input_dim, data_shape, options) -> G``, G mapping ``(N, input_dim)``
            codes to samples ``(N, *data_shape)``.
        discriminator: ``(in_shape, options) -> D`` whose ``features`` map ``(N, *in_shape)``
            to ``(N, D.feature_dim)``.
        spatial: whether D's input is an image the label joins as extra channels
            (else the sample is flattened and the label appended).
        default_norm: D's normalisation when none is asked for.
        conditional_generator: ``(latent_dim, data_shape, num_classes, options) -> G`` for a
            backbone whose G reads the label itself (``G(z, labels)``, the ResNet's conditional
            BatchNorm); ``None`` feeds ``generator`` z joined to a label embedding.
    """

    name: str
    generator: Callable[[int, Sequence[int], Mapping[str, Any]], nn.Module]
    discriminator: Callable[[Sequence[int], Mapping[str, Any]], nn.Module]
    spatial: bool
    default_norm: str
    conditional_generator: Optional[Callable[[int, Sequence[int], int, Mapping[str, Any]], nn.Module]] = None


BACKBONES: dict[str, Backbone] = {
    backbone.name: backbone
    for backbone in (
        Backbone(
            "dcgan",
            lambda input_dim, shape, o: DCGANGenerator(input_dim, shape, o["g_width"]),
            lambda shape, o: DCGANDiscriminator(shape, o["d_width"], o["d_norm"]),
            spatial=True,
            default_norm="batch",
        ),
        Backbone(
            "mlp",
            lambda input_dim, shape, o: MLPGenerator(
                input_dim, shape, o["g_hidden_dims"], "relu", "tanh", o["g_batch_norm"]
            ),
            lambda shape, o: MLPDiscriminator(shape, o["d_hidden_dims"], "leaky_relu", o["d_dropout"], o["d_norm"]),
            spatial=False,
            default_norm="none",
        ),
        Backbone(
            "resnet",
            lambda input_dim, shape, o: ResNetGenerator(input_dim, shape, o["g_width"]),
            lambda shape, o: ResNetDiscriminator(shape, o["d_width"], o["d_norm"]),
            spatial=True,
            default_norm="spectral",
            conditional_generator=lambda latent_dim, shape, k, o: ResNetGenerator(latent_dim, shape, o["g_width"], k),
        ),
    )
}


def get_backbone(name: str) -> Backbone:
    """The :data:`BACKBONES` entry for ``name``; an unknown name raises one line listing the valid ones."""
    try:
        return BACKBONES[name]
    except (KeyError, TypeError):
        raise choose_from("backbone", name, BACKBONES) from None


def _maybe_spectral(layer: nn.Module, spectral: bool) -> nn.Module:
    return spectral_norm(layer) if spectral else layer


class ConditionalGenerator(nn.Module):
    """G of a conditional GAN: a backbone G fed with z joined to the label's embedding.

    Args:
        backbone: maps codes ``(N, latent_dim + embed_dim)`` to samples ``(N, *S)``.
        num_classes: number of classes K.
        embed_dim: size of the label embedding.
    """

    def __init__(self, backbone: nn.Module, num_classes: int, embed_dim: int):
        super().__init__()
        check_positive_int("num_classes", num_classes, "num_classes=10")
        check_positive_int("embed_dim", embed_dim, "embed_dim=10")
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.backbone = backbone

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        """z ``(N, latent_dim)`` and labels int ``(N,)`` in [0, K) -> samples ``(N, *S)``."""
        return self.backbone(torch.cat([z, self.embed(labels)], dim=1))


class ConcatDiscriminator(nn.Module):
    """cGAN's D: the label's embedding joins the input, then a backbone trunk and a linear score.

    Args:
        features: maps the joined input to ``(N, feature_dim)``; built for input shape
            ``(C + embed_dim, H, W)`` when ``spatial``, else ``(prod(S) + embed_dim,)``.
        feature_dim: size of the features.
        num_classes: number of classes K.
        embed_dim: size of the label embedding.
        spatial: join the embedding as constant image channels (a conv trunk) rather
            than as extra inputs of the flattened sample (an MLP trunk).
        spectral: spectral norm on the score's linear layer.
    """

    def __init__(
        self, features: nn.Module, feature_dim: int, num_classes: int, embed_dim: int, spatial: bool, spectral: bool
    ):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.features = features
        self.head = _maybe_spectral(nn.Linear(feature_dim, 1), spectral)
        self.spatial = spatial

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        """Samples ``(N, *S)`` and labels int ``(N,)`` -> raw scores ``(N,)``."""
        code = self.embed(labels)
        if self.spatial:
            joined = torch.cat([x, code[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        else:
            joined = torch.cat([x.flatten(1), code], dim=1)
        return self.head(self.features(joined)).squeeze(1)


class AuxiliaryClassifierDiscriminator(nn.Module):
    """AC-GAN's D: one trunk, a real-or-fake score and a class prediction.

    Args:
        features: maps samples ``(N, *S)`` to ``(N, feature_dim)``.
        feature_dim: size of the features.
        num_classes: number of classes K.
        spectral: spectral norm on both heads.
    """

    def __init__(self, features: nn.Module, feature_dim: int, num_classes: int, spectral: bool):
        super().__init__()
        self.features = features
        self.head = _maybe_spectral(nn.Linear(feature_dim, 1), spectral)
        self.classifier = _maybe_spectral(nn.Linear(feature_dim, num_classes), spectral)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Samples ``(N, *S)`` -> raw scores ``(N,)`` and class logits ``(N, K)``."""
        h = self.features(x)
        return self.head(h).squeeze(1), self.classifier(h)


class ProjectionDiscriminator(nn.Module):
    """The projection discriminator: ``score = w . phi(x) + b + embed(y) . phi(x)``.

    The label's embedding is projected on D's features instead of being joined to its
    input (Miyato & Koyama 2018), which is what a log-likelihood-ratio D with a
    softmax class model looks like.

    Args:
        features: maps samples ``(N, *S)`` to ``(N, feature_dim)`` (phi).
        feature_dim: size of the features.
        num_classes: number of classes K.
        spectral: spectral norm on the linear score and on the class embedding, as in the paper.
    """

    def __init__(self, features: nn.Module, feature_dim: int, num_classes: int, spectral: bool):
        super().__init__()
        self.features = features
        self.head = _maybe_spectral(nn.Linear(feature_dim, 1), spectral)
        embed = nn.Embedding(num_classes, feature_dim)
        # Small, like the other layers' N(0, 0.02): torch's N(0, 1) would let the projection term drown the
        # score at the start when there is no spectral norm to rescale it.
        nn.init.normal_(embed.weight, 0.0, 0.02)
        self.embed = _maybe_spectral(embed, spectral)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        """Samples ``(N, *S)`` and labels int ``(N,)`` -> raw scores ``(N,)``."""
        h = self.features(x)
        return self.head(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)


def joined_shape(data_shape: Sequence[int], embed_dim: int, spatial: bool) -> tuple[int, ...]:
    """The input shape of :class:`ConcatDiscriminator`'s trunk for samples of ``data_shape``."""
    shape = tuple(data_shape)
    if spatial:
        return (shape[0] + embed_dim, *shape[1:])
    return (math.prod(shape) + embed_dim,)
