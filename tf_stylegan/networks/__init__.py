"""Networks: the StyleGAN2 generator and discriminator and their parts; the ProGAN and DCGAN baselines."""

from tf_stylegan.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from tf_stylegan.networks.discriminator import Discriminator
from tf_stylegan.networks.generator import Generator
from tf_stylegan.networks.mapping import MappingNetwork
from tf_stylegan.networks.progan import ProGANDiscriminator, ProGANGenerator
from tf_stylegan.networks.synthesis import SynthesisNetwork

__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "Discriminator",
    "Generator",
    "MappingNetwork",
    "ProGANDiscriminator",
    "ProGANGenerator",
    "SynthesisNetwork",
]
