"""Run options: one schema, presets for every family, and errors for keys and flags that do not apply."""

import inspect
import json

import pytest

from tf_stylegan.networks.presets import load_preset, preset_family, preset_names
from tf_stylegan.run.families import FAMILY_MODELS, check_ada_options, checked_schedule, model_kwargs
from tf_stylegan.run.options import COMPILE, MODEL, SCHEMA, OptionError, default, resolve

RUN = {"data": "bundled:emoji64", "outdir": "/nowhere"}

# Flags that each family used to ignore without a word; each is now an error there.
IGNORED_BEFORE = {
    "progan": ["r1_gamma", "precision", "lr_balance", "ada_target", "augment", "p0", "real_label"],
    "dcgan": ["r1_gamma", "precision", "ada_target", "augment", "stable_kimg", "gp_weight"],
    "stylegan2": ["p0", "real_label", "label_noise", "rollback_patience", "gp_weight", "drift"],
}


@pytest.mark.parametrize("family,key", [(f, k) for f, keys in IGNORED_BEFORE.items() for k in keys])
def test_an_option_of_another_family_is_an_error_naming_the_flag(family, key):
    option = SCHEMA[key]
    value = {"bool": True, "int": 1, "float": 0.5, "str": "ada"}[option.kind]
    with pytest.raises(OptionError, match=f"--{option.flag_name}: does not apply to {family}"):
        resolve(family, {}, {**RUN, key: value})


def test_the_command_line_refuses_them_too():
    from conftest import run_tool

    proc = run_tool("tf_stylegan.tools.train", "--config=progan", "--data=bundled:emoji64", "--outdir=/nowhere/x",
                    "--gamma=5", check=False)
    assert proc.returncode == 2 and "--gamma: does not apply to progan" in proc.stderr, proc.stderr[-400:]
    proc = run_tool("tf_stylegan.tools.train", "--config=cpu32", "--data=bundled:emoji64", "--outdir=/nowhere/x",
                    "--p0=0.9", check=False)
    assert proc.returncode == 2 and "--p0: does not apply to stylegan2" in proc.stderr, proc.stderr[-400:]


def test_a_misspelt_preset_key_is_an_error(tmp_path):
    spec = json.loads(open(load_preset.__globals__["_find"]("tiny")).read())
    spec["training"]["r1_gama"] = 1.0
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(spec))
    preset = load_preset(str(path))
    with pytest.raises(OptionError, match=r"typo training.r1_gama: unknown option \(did you mean 'r1_gamma'\?\)"):
        resolve("stylegan2", preset.training, RUN, preset.name)
    spec["colour"] = "blue"
    path.write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=r"unknown preset fields \['colour'\]"):
        load_preset(str(path))


def test_values_are_checked_at_the_door():
    for key, value, words in [("batch", 0, "out of range"), ("r1_gamma", float("nan"), "out of range"),
                              ("kimg", "ten", "not a valid float"), ("precision", "int8", "not one of"),
                              ("betas", [0.5, 2.0], "out of range"), ("batch_sizes", "8-64", "not RES:BATCH")]:
        with pytest.raises(OptionError, match=f"{key}: .*{words}"):
            resolve("stylegan2", {}, {**RUN, key: value})
    with pytest.raises(OptionError, match="--data is required"):
        resolve("stylegan2", {}, {"outdir": "x"})


def test_every_family_is_a_preset():
    assert {name: preset_family(name) for name in ("cpu32", "config-c", "progan", "dcgan", "cgan")} == {
        "cpu32": "stylegan2", "config-c": "stylegan2", "progan": "progan", "dcgan": "dcgan", "cgan": "dcgan"}
    assert load_preset("cgan", fallback_resolution=64).training["cond"] is True


@pytest.mark.parametrize("name", preset_names())
def test_every_shipped_preset_passes_its_own_checks(name):
    """A preset key that its own run would refuse (ADA settings without ADA, a schedule on a network that
    does not grow) makes `--config=NAME` unusable: every shipped preset resolves and passes them."""
    preset = load_preset(name, fallback_resolution=64)
    opts = resolve(preset.family, preset.training, RUN, preset_name=name)
    checked_schedule(opts, preset, replicas=1)


def test_ada_settings_without_ada_are_an_error():
    opts = resolve("stylegan2", {"augment": "", "ada_kimg": 20}, RUN)
    with pytest.raises(OptionError, match="--ada_kimg: ADA settings, but augment is ''"):
        check_ada_options(opts)
    opts = resolve("stylegan2", {"augment": "ada", "ada_kimg": 20}, {**RUN, "augment": "", "ada_target": 0.5})
    with pytest.raises(OptionError, match="--ada_target: ADA settings, but augment is ''"):
        check_ada_options(opts)  # given by the caller with ADA turned off: still refused


@pytest.mark.parametrize("augment", ["", "color,translation"])
def test_turning_a_presets_ada_off_drops_its_ada_settings(augment):
    """cpu32 tunes ADA (ada_kimg 20); --augment='' replaces that augmentation, tuning and all, rather than
    being refused for the preset's ada_kimg, which the caller cannot unset."""
    preset = load_preset("cpu32")
    assert preset.training["augment"] == "ada" and "ada_kimg" in preset.training
    opts = resolve(preset.family, preset.training, {**RUN, "augment": augment}, preset_name="cpu32")
    check_ada_options(opts)
    assert opts["augment"] == augment and "ada_kimg" not in opts.given
    assert opts["ada_kimg"] == resolve(preset.family, {}, RUN)["ada_kimg"]  # the default again
    assert resolve(preset.family, preset.training, RUN, preset_name="cpu32")["ada_kimg"] == 20


def test_model_defaults_live_in_the_models_only():
    """An option's model default is read from the model's signature: one place, and it must exist there."""
    for option in SCHEMA.values():
        for family in option.families:
            if option.default in (MODEL, COMPILE):
                model = FAMILY_MODELS[family]
                fn = model.__init__ if option.default == MODEL else model.compile
                assert option.name in inspect.signature(fn).parameters, (option.name, family)
    assert default(SCHEMA["r1_gamma"], "stylegan2") == inspect.signature(
        FAMILY_MODELS["stylegan2"]).parameters["r1_gamma"].default
    assert default(SCHEMA["g_lr"], "progan") == 0.001 and default(SCHEMA["g_lr"], "dcgan") == 2e-4


def test_options_that_presets_could_not_set_reach_the_model():
    opts = resolve("stylegan2", {"pl_decay": 0.05, "pl_batch_shrink": 4, "ada_interval": 8}, {**RUN, "augment": "ada"})
    kwargs = model_kwargs(opts)
    assert (kwargs["pl_decay"], kwargs["pl_batch_shrink"], kwargs["ada_interval"]) == (0.05, 4, 8)
