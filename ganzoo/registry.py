"""The zoo's one registry: every GAN variant, by name, with a tiny configuration.

The table is written out here rather than filled by import side effects, and a
test checks that every GANModule subclass in :mod:`ganzoo.modules` is in it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganzoo.errors import choose_from
from ganzoo.modules.conditional import ACGAN, ConditionalGAN, ProjectionGAN
from ganzoo.modules.dcgan import DCGAN
from ganzoo.modules.gan import GANModule
from ganzoo.modules.self_conditioned import SelfConditionedGAN
from ganzoo.modules.sngan import SNGAN
from ganzoo.modules.vanilla import VanillaGAN
from ganzoo.nets.mlp import MLPDiscriminator, MLPGenerator


@dataclass(frozen=True)
class ZooEntry:
    """One variant of the zoo.

    Attributes:
        name: the name :func:`create_gan` takes.
        cls: the GANModule subclass.
        summary: one line: the idea and its paper.
        tiny: small constructor arguments, for smoke tests and examples: for 2-D
            data, or for the images of the ``data_shape`` they name
            (labelled with ``num_classes`` classes for the conditional variants).
    """

    name: str
    cls: type
    summary: str
    tiny: dict[str, Any] = field(default_factory=dict)


def _tiny_injected() -> dict[str, Any]:
    return {
        "generator": MLPGenerator(4, (2,), hidden_dims=(16,)),
        "discriminator": MLPDiscriminator((2,), hidden_dims=(16,)),
        "latent_dim": 4,
    }


_ZOO = (
    ZooEntry("gan", GANModule, "the base game with injected networks (Goodfellow et al. 2014)"),
    ZooEntry(
        "vanilla",
        VanillaGAN,
        "MLP generator and discriminator (Goodfellow et al. 2014)",
        {"data_shape": (2,), "latent_dim": 4, "g_hidden_dims": (16,), "d_hidden_dims": (16,)},
    ),
    ZooEntry(
        "dcgan",
        DCGAN,
        "convolutional G and D for images (Radford et al. 2015)",
        {"data_shape": (1, 8, 8), "latent_dim": 8, "g_width": 8, "d_width": 8},
    ),
    ZooEntry(
        "sngan",
        SNGAN,
        "ResNet G and D, spectral norm on D, hinge loss (Miyato et al. 2018)",
        {"data_shape": (1, 8, 8), "latent_dim": 8, "g_width": 8, "d_width": 8},
    ),
)
_TINY_CONDITIONAL = {"num_classes": 3, "data_shape": (1, 8, 8), "latent_dim": 8, "g_width": 8, "d_width": 8}
_ZOO += (
    ZooEntry(
        "cgan",
        ConditionalGAN,
        "class-conditional: the label joins G's code and D's input (Mirza & Osindero 2014)",
        _TINY_CONDITIONAL,
    ),
    ZooEntry("acgan", ACGAN, "D with an auxiliary class head (Odena et al. 2017)", _TINY_CONDITIONAL),
    ZooEntry(
        "projgan",
        ProjectionGAN,
        "projection discriminator, hinge loss, spectral norm (Miyato & Koyama 2018)",
        _TINY_CONDITIONAL,
    ),
    ZooEntry(
        "selfcond",
        SelfConditionedGAN,
        "self-conditioned: a projection GAN on k-means clusters of D's features, no labels (Liu et al. 2020)",
        {"num_clusters": 3, "cluster_samples": 16, "recluster_every": 2, "data_shape": (1, 8, 8), "latent_dim": 8,
         "g_width": 8, "d_width": 8},
    ),
)
ZOO: dict[str, ZooEntry] = {entry.name: entry for entry in _ZOO}


def list_gans() -> list[str]:
    """Names of every GAN variant in the zoo."""
    return sorted(ZOO)


def get_entry(name: str) -> ZooEntry:
    """The zoo entry for ``name``; an unknown name raises one line listing the valid ones."""
    try:
        return ZOO[name]
    except (KeyError, TypeError):
        raise choose_from("GAN", name, ZOO) from None


def create_gan(name: str, tiny: bool = False, **kwargs: Any) -> GANModule:
    """Builds the variant ``name``; ``tiny=True`` starts from its small smoke-test configuration."""
    entry = get_entry(name)
    base = (_tiny_injected() if entry.cls is GANModule else dict(entry.tiny)) if tiny else {}
    return entry.cls(**{**base, **kwargs})
