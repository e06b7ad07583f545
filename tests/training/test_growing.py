"""StyleGAN2 with progressive growing (the paper's configs C and D): networks, train step, the driver."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import changed, values

from tf_stylegan.networks import Discriminator, Generator
from tf_stylegan.networks.presets import load_preset
from tf_stylegan.ops.box import downsample_box, upsample_nearest
from tf_stylegan.run import OptionError, Run, SnapshotGrid
from tf_stylegan.training import StyleGAN2
from tf_stylegan.training.progressive import ProgressiveSchedule

NETS = dict(img_resolution=8, channel_base=64, channel_max=16, architecture="orig", growing=True)


def growing_nets():
    keras.utils.set_random_seed(0)
    G = Generator(z_dim=8, w_dim=8, mapping_layers=2, name="generator", **NETS)
    D = Discriminator(mbstd_group_size=2, name="discriminator", **NETS)
    return G, D


def test_growing_networks_fade_in_ends():
    G, D = growing_nets()
    z = tf.random.stateless_normal([4, 8], [0, 1])
    low = G(z, resolution=4, noise_mode="const").numpy()
    new = G(z, resolution=8, noise_mode="const").numpy()
    np.testing.assert_allclose(G(z, resolution=8, alpha=0.0, noise_mode="const").numpy(),
                               upsample_nearest(low).numpy(), atol=1e-6)
    np.testing.assert_allclose(G(z, resolution=8, alpha=1.0, noise_mode="const").numpy(), new, atol=1e-6)
    assert np.abs(new - upsample_nearest(low).numpy()).max() > 1e-2
    img = tf.random.stateless_uniform([4, 8, 8, 3], [0, 2], -1, 1)
    np.testing.assert_allclose(D(img, alpha=0.0).numpy(), D(downsample_box(img)).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(D(img, alpha=1.0).numpy(), D(img).numpy(), rtol=1e-5, atol=1e-5)
    assert G(z).shape == (4, 8, 8, 3) and D(img[:, :4, :4]).shape == (4, 1)


def test_growing_needs_orig_and_stages_need_growing():
    with pytest.raises(ValueError, match="growing needs architecture 'orig'"):
        Generator(z_dim=8, w_dim=8, img_resolution=8, architecture="skip", growing=True)
    plain = Generator(z_dim=8, w_dim=8, mapping_layers=1, img_resolution=8, channel_base=64, channel_max=16)
    with pytest.raises(ValueError, match="need a growing network"):
        plain(tf.zeros([1, 8]), resolution=4)
    D = Discriminator(img_resolution=8, channel_base=64, channel_max=16)
    with pytest.raises(ValueError, match="progressive schedule needs growing networks"):
        StyleGAN2(plain, D, schedule=ProgressiveSchedule(8, 4))


def test_fit_grows_through_the_stages(tmp_path):
    G, D = growing_nets()
    schedule = ProgressiveSchedule(8, start_resolution=4, stable_kimg=0.008, fade_kimg=0.008, batch=4)
    gan = StyleGAN2(G, D, r1_gamma=1.0, schedule=schedule, ema_kimg=0.01)
    gan.compile()
    images = np.random.default_rng(0).uniform(-1, 1, (20, 8, 8, 3)).astype(np.float32)
    before = values(G.weights + D.weights)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((int(logs["resolution"]), round(float(logs["alpha"]), 4)))

    grids = SnapshotGrid(str(tmp_path), every_kimg=0.004, count=4)
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(4), epochs=1, steps_per_epoch=5,
            callbacks=[Record(), grids], verbose=0)
    assert seen == [(4, 1.0), (4, 1.0), (8, 0.0), (8, 0.5), (8, 1.0)]
    from PIL import Image

    assert Image.open(tmp_path / "snapshots" / "grid-000000004.png").size == (8, 8)  # 2x2 samples at 4x4
    assert Image.open(tmp_path / "snapshots" / "grid-000000020.png").size == (16, 16)
    assert changed(before, values(G.weights + D.weights))
    for layer in (G.synthesis.b4.torgb, G.synthesis.b8.torgb, D.b8.fromrgb, D.b4.fromrgb):
        assert np.all(np.isfinite(layer.weights[0].numpy()))
    assert gan.generate_kwargs() == {"resolution": 8, "alpha": None}


def test_ada_augments_each_stage_at_its_resolution_and_adapts_p():
    G, D = growing_nets()
    schedule = ProgressiveSchedule(8, start_resolution=4, stable_kimg=0.008, fade_kimg=0.008, batch=4)
    gan = StyleGAN2(G, D, schedule=schedule, augment="ada", ada_p=0.5, ada_interval=1, ada_kimg=0.1)
    gan.compile()
    augmented = []  # the resolutions of what D saw through the pipe, recorded as each phase traces
    pipe = gan._augment
    gan._augment = lambda images, seed: augmented.append(images.shape[1]) or pipe(images, seed)
    images = np.random.default_rng(0).uniform(-1, 1, (20, 8, 8, 3)).astype(np.float32)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((int(logs["resolution"]), float(logs["ada_p"])))

    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(4), epochs=1, steps_per_epoch=3,
            callbacks=[Record()], verbose=0)
    assert [r for r, _ in seen] == [4, 4, 8] and set(augmented) == {4, 8}
    # p moves by 4 images / 100 per step, up or down with the sign of D(real), from 0.5.
    for (_, before), (_, after) in zip([(0, 0.5)] + seen, seen):
        assert abs(after - before) == pytest.approx(0.04, abs=1e-6)
    for layer in (G.synthesis.b8.torgb, D.b8.fromrgb):
        assert np.all(np.isfinite(layer.weights[0].numpy()))


@pytest.fixture(scope="module")
def growing_preset(tmp_path_factory):
    from tf_stylegan.networks.presets import _find

    spec = json.loads(_find("tiny").read_text())
    for net in ("G", "D"):
        spec[net].update(architecture="orig", growing=True)
    spec["training"].update(start_res=8, stable_kimg=0.008, fade_kimg=0.008)
    path = tmp_path_factory.mktemp("preset") / "grow32.json"
    path.write_text(json.dumps(spec))
    return str(path)


class Crash(Exception):
    pass


class CrashAtStep3(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):  # the last checkpoint is step 2's: 12 images, mid fade-in
        if int(self.model.step.numpy()) == 3:
            raise Crash


def test_driver_runs_a_growing_preset_with_per_resolution_batches(growing_preset, tmp_path):
    opts = dict(data="bundled:emoji64", outdir=str(tmp_path / "straight"), config=growing_preset, kimg=0.04,
                batch=4, batch_sizes={8: 8}, progress=False, snap=100.0, checkpoint_every=1)
    run = Run(opts)
    logs = run.train()
    assert logs["resolution"] == 32.0 and logs["alpha"] == 1.0
    stats = [json.loads(line) for line in open(tmp_path / "straight" / "stats.jsonl")]
    steps = [s for s in stats if "step" in s]
    assert [(s["resolution"], s["alpha"]) for s in steps][:7] == [
        (8, 1), (16, 0), (16, 0.5), (16, 1), (16, 1), (32, 0), (32, 0.5)]
    assert [s["nimg"] for s in steps][:4] == [8, 12, 16, 20]  # 8 images per step at 8 px, then 4
    assert (tmp_path / "straight" / "grid.png").exists()

    with pytest.raises(Crash):
        Run({**opts, "outdir": str(tmp_path / "split")}, callbacks=[CrashAtStep3()]).train()
    Run({"outdir": str(tmp_path / "split"), "resume": "latest"}).train()
    resumed = {s["step"]: (s["loss/G"], s["loss/D"]) for s in map(json.loads, open(tmp_path / "split" / "stats.jsonl"))
               if "step" in s}
    assert resumed == {s["step"]: (s["loss/G"], s["loss/D"]) for s in steps}  # the same losses, step for step

    with pytest.raises(OptionError, match="does not reach 32px within kimg=0.02"):
        Run({**opts, "kimg": 0.02, "outdir": str(tmp_path / "x")})
    with pytest.raises(OptionError, match="does not grow progressively"):
        Run({**opts, "config": "tiny", "fade_kimg": 1.0, "outdir": str(tmp_path / "y")})


def test_adain_layer_normalises_then_styles():
    from tf_stylegan.layers.adain import AdaINLayer, instance_norm

    x = tf.random.stateless_normal([2, 8, 8, 4], [5, 0]) * 3 + 1
    y = instance_norm(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(np.mean(np.square(y), axis=(1, 2)), 1, rtol=1e-4)
    layer = AdaINLayer(4, 6, w_dim=5, resolution=16, up=2)
    layer.build()
    assert layer.noise.noise_strength.shape == (6,)  # per channel, as in the original StyleGAN
    w = tf.random.stateless_normal([2, 5], [5, 1])
    out = layer(x, w, noise_mode="none").numpy()
    conv = layer.conv(upsample_nearest(x))
    from tf_stylegan.ops import filter2d

    h = instance_norm(tf.nn.leaky_relu(filter2d(conv, layer.filter), 0.2)).numpy()  # zero bias; the gain cancels
    style = layer.style(w).numpy()
    np.testing.assert_allclose(out, h * (style[:, None, None, :6] + 1) + style[:, None, None, 6:], rtol=1e-4,
                               atol=1e-4)


def test_config_a_generator_grows_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    G = Generator(z_dim=16, w_dim=16, img_resolution=8, mapping_layers=2, channel_base=64, channel_max=16,
                  synthesis="adain")
    assert G.num_ws == 4 and G.synthesis.growing
    z = tf.random.stateless_normal([3, 16], [6, 0])
    low, new = G(z, resolution=4, noise_mode="const").numpy(), G(z, resolution=8, noise_mode="const").numpy()
    np.testing.assert_allclose(G(z, resolution=8, alpha=0.0, noise_mode="const").numpy(),
                               upsample_nearest(low).numpy(), atol=1e-6)
    np.testing.assert_allclose(G(z, resolution=8, alpha=1.0, noise_mode="const").numpy(), new, atol=1e-6)
    G.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    np.testing.assert_array_equal(loaded(z, noise_mode="const").numpy(), G(z, noise_mode="const").numpy())
    with pytest.raises(ValueError, match="synthesis must be"):
        Generator(z_dim=8, w_dim=8, img_resolution=8, synthesis="adaptive")


def test_paper_configs_a_to_d_differ_as_in_table_1():
    t = {name: load_preset(name).training for name in ("config-a", "config-b", "config-c", "config-d")}
    assert [t[n].get("lazy_regularization", True) for n in sorted(t)] == [False, False, True, True]
    assert [t[n]["pl_weight"] > 0 for n in sorted(t)] == [False, False, False, True]
    assert load_preset("config-a").G["synthesis"] == "adain" and load_preset("config-b").G["growing"]


@pytest.mark.parametrize("name", ["config-a", "config-d"])  # the two ends: AdaIN without lazy R1; PL and lazy
def test_paper_configs_grow(name):
    preset = load_preset(name, resolution=16)
    preset.G.update(channel_base=64, channel_max=16, z_dim=16, w_dim=16, mapping_layers=2)
    preset.D.update(channel_base=64, channel_max=16, mbstd_group_size=2)
    G, D = preset.build()
    t = preset.training
    gan = StyleGAN2(G, D, r1_gamma=t["r1_gamma"], pl_weight=t["pl_weight"], schedule=ProgressiveSchedule(
        16, 8, 0.004, 0.004, batch=4), lazy_regularization=t.get("lazy_regularization", True))
    gan.compile(g_lr=t["g_lr"], d_lr=t["d_lr"])
    images = np.random.default_rng(0).uniform(-1, 1, (12, 16, 16, 3)).astype(np.float32)
    history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(4), epochs=1, steps_per_epoch=3, verbose=0)
    assert history.history["resolution"][-1] == 16.0 and np.isfinite(history.history["loss/D"][-1])
    assert gan.lazy_regularization == (name == "config-d")
