"""Architecture kwargs are checked before building, and the implied weight count is exact."""

import numpy as np
import pytest

from tf_stylegan.networks import Discriminator, Generator, spec

SMALL = dict(img_resolution=16, channel_base=256, channel_max=32)
G_CASES = [
    dict(z_dim=8, w_dim=8, **SMALL),
    dict(z_dim=8, w_dim=12, c_dim=3, embed_features=5, layer_features=7, mapping_layers=3, architecture="resnet",
         **SMALL),
    dict(z_dim=8, w_dim=8, architecture="orig", use_noise=False, w_avg_beta=None, img_channels=1, **SMALL),
    dict(z_dim=8, w_dim=8, architecture="orig", growing=True, **SMALL),
    dict(z_dim=8, w_dim=8, synthesis="adain", **SMALL),
    dict(z_dim=8, w_dim=8, synthesis="adain", use_noise=False, **SMALL),
]
D_CASES = [
    dict(**SMALL),
    dict(c_dim=4, cmap_dim=6, mapping_layers=2, architecture="skip", mbstd_num_channels=2, **SMALL),
    dict(c_dim=4, mapping_layers=0, architecture="orig", img_channels=4, **SMALL),
    dict(architecture="orig", growing=True, **SMALL),
]


def built_count(model) -> int:
    return sum(int(np.prod(v.shape)) for v in model.variables if v.dtype.startswith("float"))


@pytest.mark.parametrize("kwargs", G_CASES)
def test_generator_weight_count_is_exact(kwargs):
    spec.check_generator_kwargs(kwargs)
    assert spec.generator_weight_count(kwargs) == built_count(Generator(**kwargs))


@pytest.mark.parametrize("kwargs", D_CASES)
def test_discriminator_weight_count_is_exact(kwargs):
    spec.check_discriminator_kwargs(kwargs)
    assert spec.discriminator_weight_count(kwargs) == built_count(Discriminator(**kwargs))


def test_config_f_at_1024_is_counted_without_building():
    # The official FFHQ config-f generator has 30,370,060 parameters (its training log); plus the
    # noise buffers (sum of r*r over two convs per resolution but one at 4x4) and w_avg.
    kwargs = dict(z_dim=512, w_dim=512, img_resolution=1024)
    buffers = 16 + sum(2 * r * r for r in (8, 16, 32, 64, 128, 256, 512, 1024)) + 512
    assert spec.generator_weight_count(kwargs) == 30_370_060 + buffers


@pytest.mark.parametrize("key,value,message", [
    ("z_dim", 2**25, r"`z_dim` must be an integer in \[1, 16384\]"),
    ("z_dim", 8.0, "`z_dim` must be an integer"),
    ("z_dim", True, "`z_dim` must be an integer"),
    ("img_resolution", 48, "`img_resolution` must be a power of two"),
    ("img_resolution", 2**20, "`img_resolution` must be an integer"),
    ("channel_base", 8, r"`channel_base` must be an integer in \[16,"),
    ("architecture", "unet", "`architecture` must be one of"),
    ("activation", "exec", "`activation` must be one of"),
    ("resample_filter", [float("nan")], "`resample_filter` must be"),
    ("resample_filter", [1.0] * 1000, "`resample_filter` must be"),
    ("mapping_lr_multiplier", float("inf"), "`mapping_lr_multiplier` must be a finite number"),
    ("w_avg_beta", 2.0, "`w_avg_beta` must be a finite number"),
])
def test_generator_kwargs_out_of_range(key, value, message):
    with pytest.raises(ValueError, match=message):
        spec.check_generator_kwargs({**dict(z_dim=8, w_dim=8, **SMALL), key: value})


def test_discriminator_kwargs_out_of_range():
    with pytest.raises(ValueError, match="`mbstd_num_channels` must be an integer"):
        spec.check_discriminator_kwargs({**SMALL, "mbstd_num_channels": -1})
    with pytest.raises(ValueError, match="`cmap_dim` must be an integer"):
        spec.check_discriminator_kwargs({**SMALL, "c_dim": 2, "cmap_dim": 10**9})
