"""Transfer rules (only the conditioning may differ; anything else is an error naming the layers) and
FreezeD (D's first blocks keep their weights while the rest trains)."""

import keras
import pytest
from helpers import NETS, changed, tiny_data, tiny_gan, values

from tf_stylegan.networks import Discriminator, Generator
from tf_stylegan.networks.presets import load_preset
from tf_stylegan.run import Run, TrainingError
from tf_stylegan.training.transfer import freeze_blocks, transfer_weights


def test_another_z_size_is_an_error_naming_the_layer():
    # The mapping holds both z's and the labels' weights: a z of another size is not a conditioning change.
    source = Generator(z_dim=8, w_dim=8, mapping_layers=2, **NETS)
    target = Generator(z_dim=16, w_dim=8, mapping_layers=2, **NETS)
    before = values(target.weights)
    with pytest.raises(ValueError, match=r"mapping/fc0/weight \(8, 8\) -> \(16, 8\)"):
        transfer_weights(source, target)
    assert not changed(before, values(target.weights))  # nothing assigned


def test_another_resolution_names_the_missing_and_extra_blocks():
    source = Discriminator(img_resolution=8, channel_base=64, channel_max=16, mbstd_group_size=2)
    target = Discriminator(img_resolution=16, channel_base=64, channel_max=16, mbstd_group_size=2)
    with pytest.raises(ValueError, match=r"b16/.* missing -> .*b8/fromrgb/weight \(1, 1, 3, 8\) has no counterpart"):
        transfer_weights(source, target)


def test_init_from_a_mismatched_model_names_its_layers(tmp_path):
    keras.utils.set_random_seed(0)
    wider = load_preset("tiny")
    wider.G["channel_max"] = 32
    G, _ = wider.build()
    G.save(tmp_path / "wide.keras")
    run = Run(dict(data="bundled:emoji64", outdir=str(tmp_path / "ft"), config="tiny", kimg=0.004, batch=4,
                   progress=False, init_from=str(tmp_path / "wide.keras")))
    with pytest.raises(TrainingError, match=r"its G does not match config 'tiny'.*synthesis/b\d+/conv\d/"):
        run.restore()


def test_freeze_d_keeps_the_first_blocks_and_trains_the_rest():
    gan = tiny_gan(freeze_d=1, pl_weight=0.0)  # D at 8 px: blocks b8 (frozen), then the 4x4 head
    gan.compile(g_lr=0.002, d_lr=0.002)
    frozen, head = values(gan.D.b8.weights), values(gan.D.b4.weights)
    train, it = gan.make_train_function(), iter(tiny_data())
    for _ in range(3):
        train(it)
    assert not changed(frozen, values(gan.D.b8.weights)) and changed(head, values(gan.D.b4.weights))
    assert gan.get_config()["freeze_d"] == 1


def test_freeze_d_beyond_d_depth_names_the_blocks(tmp_path):
    D = Discriminator(img_resolution=32, channel_base=64, channel_max=16)
    with pytest.raises(ValueError, match=r"freeze_d=4: D has 3 blocks before its 4x4 head \(b32, b16, b8\)"):
        freeze_blocks(D, 4)
    freeze_blocks(D, 3)
    assert [b.trainable for b in D.blocks] == [False] * 3 and D.b4.trainable
    with pytest.raises(ValueError, match="freeze_d=9: D has"):
        Run(dict(data="bundled:emoji64", outdir=str(tmp_path / "r"), config="tiny", freeze_d=9))
