"""Networks: the StyleGAN2 generator and discriminator and their parts."""

from tf_stylegan.networks.discriminator import Discriminator
from tf_stylegan.networks.generator import Generator
from tf_stylegan.networks.mapping import MappingNetwork
from tf_stylegan.networks.synthesis import SynthesisNetwork

__all__ = ["Discriminator", "Generator", "MappingNetwork", "SynthesisNetwork"]
