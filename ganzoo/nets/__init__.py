"""Plain networks: they define ``forward`` and nothing about training."""
from ganzoo.nets.conditional import (
    BACKBONES,
    AuxiliaryClassifierDiscriminator,
    ConcatDiscriminator,
    ConditionalGenerator,
    ProjectionDiscriminator,
)
from ganzoo.nets.dcgan import SUPPORTED_SIZES, DCGANDiscriminator, DCGANGenerator
from ganzoo.nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "AuxiliaryClassifierDiscriminator",
    "BACKBONES",
    "ConcatDiscriminator",
    "ConditionalGenerator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ProjectionDiscriminator",
    "SUPPORTED_SIZES",
]
