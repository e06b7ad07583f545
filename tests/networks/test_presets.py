import pytest

from tf_stylegan.networks.presets import auto_settings, load_preset, preset_names

REQUIRED = {"config-a", "config-b", "config-c", "config-d", "cpu32", "cpu64", "config-e", "config-f", "paper256",
            "paper512", "auto", "cifar", "tiny"}


def test_required_presets_exist():
    assert REQUIRED <= set(preset_names())


@pytest.mark.parametrize("name", sorted(REQUIRED - {"auto"}))
def test_presets_resolve(name):
    p = load_preset(name)
    assert p.G["img_resolution"] == p.D["img_resolution"] == p.resolution
    assert {"batch", "g_lr", "d_lr", "r1_gamma"} <= set(p.training)


def test_config_f_is_the_paper_network():
    p = load_preset("config-f")
    assert p.resolution == 1024 and p.G["channel_base"] == 32768 and p.G["mapping_layers"] == 8
    assert p.training["r1_gamma"] == 10 and p.training["pl_weight"] == 2


def test_auto_follows_the_official_formulas():
    assert auto_settings(256) == dict(
        batch=16, mbstd_group_size=4, channel_base=16384, lr=0.0025, r1_gamma=0.8192, ema_kimg=5.0
    )
    assert auto_settings(1024, replicas=8)["batch"] == 32
    p = load_preset("auto", resolution=64, c_dim=5)
    assert p.training["batch"] == 32 and p.G["c_dim"] == p.D["c_dim"] == 5
    with pytest.raises(ValueError, match="resolution"):
        load_preset("auto")


def test_tiny_builds_and_unknown_preset_errors():
    G, D = load_preset("tiny").build()
    assert G.img_resolution == 32 and G.count_params() < 500_000
    with pytest.raises(ValueError, match="Unknown preset"):
        load_preset("config-z")
