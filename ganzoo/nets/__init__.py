"""Plain networks: they define ``forward`` and nothing about training."""
from ganzoo.nets.dcgan import SUPPORTED_SIZES, DCGANDiscriminator, DCGANGenerator
from ganzoo.nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "SUPPORTED_SIZES"]
