"""LightningModules: GANModule and its variants."""
from ganzoo.modules.dcgan import DCGAN
from ganzoo.modules.gan import GANModule
from ganzoo.modules.vanilla import VanillaGAN

__all__ = ["DCGAN", "GANModule", "VanillaGAN"]
