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
from ganzoo.nets.resnet import ConditionalBatchNorm2d, ResNetDiscriminator, ResNetGenerator

__all__ = [
    "AuxiliaryClassifierDiscriminator",
    "BACKBONES",
    "ConcatDiscriminator",
    "ConditionalBatchNorm2d",
    "ConditionalGenerator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ProjectionDiscriminator",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "SUPPORTED_SIZES",
]
