"""LightningModules: GANModule and its variants."""
from ganzoo.modules.gan import GANModule
from ganzoo.modules.vanilla import VanillaGAN

__all__ = ["GANModule", "VanillaGAN"]
