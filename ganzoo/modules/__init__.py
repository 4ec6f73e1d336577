"""LightningModules: GANModule and its variants."""
from ganzoo.modules.conditional import ACGAN, ConditionalGAN, ProjectionGAN
from ganzoo.modules.dcgan import DCGAN
from ganzoo.modules.gan import DiscriminatorStep, GANModule
from ganzoo.modules.self_conditioned import SelfConditionedGAN
from ganzoo.modules.sngan import SNGAN
from ganzoo.modules.vanilla import VanillaGAN

__all__ = ["ACGAN", "ConditionalGAN", "DCGAN", "DiscriminatorStep", "GANModule", "ProjectionGAN", "SNGAN", "SelfConditionedGAN", "VanillaGAN"]
