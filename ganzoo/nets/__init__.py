"""Plain networks: they define ``forward`` and nothing about training."""
from ganzoo.nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["MLPDiscriminator", "MLPGenerator"]
