"""bench/quality.py: every variant it can train is a valid run (preset, section overrides and options), so a
misspelt lever fails here rather than hours into a sitting; the summary's statistics, and the kept results it
refuses to mix."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import quality  # noqa: E402

TRAINABLE = sorted(name for name, v in quality.VARIANTS.items() if not v.get("retired"))


@pytest.mark.parametrize("name", TRAINABLE)
def test_each_variant_is_a_valid_run(name, tmp_path):
    from tf_stylegan.networks.presets import FAMILY_NETWORKS, load_preset
    from tf_stylegan.run.options import resolve

    variant = quality.VARIANTS[name]
    preset = load_preset(quality.preset_for(variant, str(tmp_path)), fallback_resolution=32)
    options = {**variant.get("options", {}), "data": "bundled:emoji64", "outdir": str(tmp_path / "run")}
    resolved = resolve(preset.family, preset.training, options, preset.name)
    for key, value in variant.get("options", {}).items():
        assert resolved[key] == value
    G, D = (cls(**kw) for cls, kw in zip(FAMILY_NETWORKS[preset.family], (preset.G, preset.D)))
    for section, net in (("G", G), ("D", D)):  # the overrides reached the networks
        for key, value in variant.get("preset", {}).get(section, {}).items():
            assert net.get_config()[key] == value


def test_the_pinned_narrow_preset_is_the_old_cpu32_with_its_two_changes():
    """cpu32-narrow.json is cpu32-before with the learning rates 0.003 and 64 channels, and nothing else: the
    levers measured on it are measured against what the README says they are."""
    with open(quality.BEFORE) as f:
        before = json.load(f)
    with open(quality.CPU32_NARROW) as f:
        narrow = json.load(f)
    for spec in (before, narrow):
        spec.pop("description")
    before["training"].update(g_lr=0.003, d_lr=0.003)
    for section in ("G", "D"):
        before[section]["channel_max"] = 64
    assert narrow == before


def test_a_misspelt_override_is_refused(tmp_path):
    from tf_stylegan.networks.presets import FAMILY_NETWORKS, load_preset

    with pytest.raises(ValueError, match="sections G, D and training"):
        quality.preset_for({"config": "cpu32", "preset": {"g": {"channel_max": 64}}}, str(tmp_path))
    preset = load_preset(quality.preset_for({"config": "cpu32", "preset": {"G": {"chanel_max": 64}}},
                                            str(tmp_path)))
    with pytest.raises((TypeError, ValueError), match="chanel_max"):
        FAMILY_NETWORKS[preset.family][0](**preset.G)


def result(seed: int, fid10: float, fid20: float | None = None, **extra) -> dict:
    marks = {"10": {"fid": fid10, "kimg": 40.0}}
    if fid20 is not None:
        marks["20"] = {"fid": fid20, "kimg": 80.0}
    return {"seed": seed, "marks": marks, "kimg": 80.0 + seed, "img_per_s": 60.0, "late_D_real_acc": 0.8,
            "late_D_fake_acc": 0.9, "ada_p_max": 0.2, "grid": f"g{seed}.png", **extra}


def test_summary_gives_mean_sample_spread_and_range_per_mark():
    out = quality.summarise([result(0, 100.0, 50.0, precision="bf16"), result(1, 110.0, 60.0, precision="bf16"),
                             result(2, 120.0, precision="fp32")])
    assert out["fid"]["10"] == {"mean": 110.0, "std": 10.0, "min": 100.0, "max": 120.0,
                                "runs": [100.0, 110.0, 120.0]}
    assert out["fid"]["20"]["mean"] == 55.0 and out["fid"]["20"]["std"] == pytest.approx(7.07, abs=0.01)
    assert out["kimg"] == 81.0 and out["precision"] == "bf16, fp32" and out["cpu"] == "not recorded"
    assert quality.summarise([result(0, 100.0)])["fid"]["10"]["std"] is None  # one run has no spread
    assert "| 110.0 +- 10.0 | 55.0 +- 7.1 |" in quality.table({"data": {"d": {"v": out}}})


def test_a_kept_result_of_another_budget_or_metric_is_refused(tmp_path):
    folder = tmp_path / "seed0"
    folder.mkdir()
    assert quality.kept_result(str(folder), 20.0) is None
    kept = {**result(0, 100.0), "minutes": 20.0, "reals": quality.REALS}
    (folder / "result.json").write_text(json.dumps(kept))
    assert quality.kept_result(str(folder), 20.0)["marks"] == kept["marks"]
    with pytest.raises(SystemExit, match="20-minute budget, not 10"):
        quality.kept_result(str(folder), 10.0)
    (folder / "result.json").write_text(json.dumps({**kept, "reals": None}))
    with pytest.raises(SystemExit, match="full-size reals"):
        quality.kept_result(str(folder), 20.0)


def test_a_record_kept_without_its_run_keeps_its_grid(tmp_path):
    folder = tmp_path / "seed0"
    folder.mkdir()
    (folder / "result.json").write_text(json.dumps({**result(0, 100.0), "minutes": 20.0, "reals": quality.REALS}))
    assert quality.kept_result(str(folder), 20.0)["grid"] == "g0.png"
    (folder / "run").mkdir()
    (folder / "run" / "grid.png").write_bytes(b"")
    assert quality.kept_result(str(folder), 20.0)["grid"] == quality.grid_path(str(folder))


def test_table_refuses_a_file_of_another_layout(tmp_path, monkeypatch, capsys):
    other = tmp_path / "single.json"
    other.write_text(json.dumps({"data": "bundled:emoji64", "variants": {"ada": {"fid": 170.5}}}))
    monkeypatch.setattr(sys, "argv", ["quality.py", f"--table={other}"])
    with pytest.raises(SystemExit) as exit_:
        quality.main()
    assert exit_.value.code == 2
    assert f"--table={other}: not a summary" in capsys.readouterr().err


@pytest.fixture(scope="module")
def bundled_networks() -> dict:
    """Bundled networks by name, each loaded once for the module."""
    return {}


FROM_BUNDLED = [n for n in TRAINABLE
                if str(quality.VARIANTS[n].get("options", {}).get("init_from")).startswith("bundled:")]


@pytest.mark.parametrize("name", FROM_BUNDLED)
def test_each_fine_tuning_variant_fits_the_bundled_network_it_starts_from(name, tmp_path, bundled_networks):
    """A variant whose networks cannot take the bundled weights (another width) would fail only when run."""
    from tf_stylegan.convert import load
    from tf_stylegan.networks.presets import FAMILY_NETWORKS, load_preset
    from tf_stylegan.training.transfer import transfer_weights

    variant = quality.VARIANTS[name]
    source = variant["options"]["init_from"]
    nets = bundled_networks.get(source) or bundled_networks.setdefault(source, load(source))
    preset = load_preset(quality.preset_for(variant, str(tmp_path)), fallback_resolution=32)
    G, D = (cls(**kw) for cls, kw in zip(FAMILY_NETWORKS[preset.family], (preset.G, preset.D)))
    assert transfer_weights(nets["G_ema"], G) == [] and transfer_weights(nets["D"], D) == []


def test_ema_probe_follows_the_steps_own_rule(tmp_path):
    """An --ema_probe average with the run's own half-life is the run's G_ema, ramp-up included (each step
    took its weight at the image count it began at); another half-life gives another average."""
    import numpy as np

    from tf_stylegan.run import Run

    probe = quality.ema_probe(quality.parse_ema_probe("0.02,1,0.02:0.01"))
    run = Run(dict(data="bundled:emoji64", outdir=str(tmp_path / "run"), config="tiny", resolution=8, kimg=0.064,
                   batch=4, d_reg_interval=4, ema_kimg=0.02, ema_rampup=0.5, snap=100.0, checkpoint_every=100,
                   progress=False), callbacks=[probe])
    run.train()
    G_ema = [w.numpy() for w in run.model.G_ema.weights]
    same, longer, shorter_rampup = (probe.all_weights()[name] for name in ("0.02", "1", "0.02:0.01"))
    for a, b in zip(same, G_ema):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for other in (longer, shorter_rampup):
        assert max(float(np.abs(a - b).max()) for a, b in zip(other, G_ema)) > 1e-3


def test_a_probed_name_gathers_the_probes_marks_and_refuses_a_missing_one(tmp_path):
    variants = {"v": {"config": "cpu32", "options": {"g_lr": 0.005}, "about": "v"}}
    probed = quality.probed_variant("v@ema5", variants)
    assert probed["options"] == {"g_lr": 0.005, "ema_kimg": 5.0} and probed["probed_from"] == "v"
    assert quality.probed_variant("v@ema8:0.1", variants)["options"] == {"g_lr": 0.005, "ema_kimg": 8.0,
                                                                        "ema_rampup": 0.1}
    assert quality.probed_variant("w@ema5", variants) is None and quality.probed_variant("v", variants) is None
    for bad in ("0", "nan", "5:", "5:0.1:2", "x"):
        with pytest.raises(ValueError, match="KIMG or KIMG:RAMPUP"):
            quality.parse_ema_probe(bad)
    kept = result(0, 100.0, 80.0, ema_probe={"ema_rampup": 0.05, "marks": {"5": {"10": {"fid": 90.0, "kimg": 40.0},
                                                                                 "20": {"fid": 70.0, "kimg": 80.0}}}})
    assert quality.probed_result(kept, "v@ema5", "5", str(tmp_path))["marks"]["20"]["fid"] == 70.0
    with pytest.raises(SystemExit, match="ema_probe.marks has no average 10 "):
        quality.probed_result(kept, "v@ema10", "10", str(tmp_path))


def test_a_kept_run_without_the_asked_probe_is_refused_not_returned_without_it(tmp_path):
    from types import SimpleNamespace

    folder = quality.run_folder(str(tmp_path), "bundled:emoji64", "v", 0)
    os.makedirs(folder)
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump({**result(0, 100.0), "minutes": 20.0, "reals": quality.REALS}, f)
    args = SimpleNamespace(outdir=str(tmp_path), fresh=False, minutes=20.0, ema_probe=quality.parse_ema_probe(""))
    assert quality.train_one("bundled:emoji64", "v", {"config": "cpu32"}, 0, args, None)["marks"]["10"]["fid"] == 100
    args.ema_probe = quality.parse_ema_probe("8:0.1")
    with pytest.raises(SystemExit, match="kept without the --ema_probe averages 8:0.1"):
        quality.train_one("bundled:emoji64", "v", {"config": "cpu32"}, 0, args, None)
