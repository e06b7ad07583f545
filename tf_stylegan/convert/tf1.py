"""NVlabs TF1 pickles (stylegan2, stylegan2-ada TF): (G, D, Gs) network states.

Each network is a `dnnlib.tflib.network.Network` state: version, name,
static_kwargs, components, build_module_src, build_func_name, variables.
`build_module_src` is never executed; the architecture comes from the
static kwargs (with the TF1 defaults) and the weights from `variables`.
TF1 layouts are already HWIO / [in, out], and our upsampling conv follows
TF1's, so weights map 1:1; only the 4x4 dense of D is reordered to NHWC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tf_stylegan.convert.assign import dense_chw_to_hwc
from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.limits import ReadLimits, TreeWalk, shown
from tf_stylegan.convert.safe_pickle import TF1Network

SUPPORTED_VERSIONS = (2, 3, 4)
G_FUNCS = ("G_main",)
SYNTHESIS_FUNCS = ("G_synthesis_stylegan2",)
D_FUNCS = ("D_stylegan2",)

# Kwargs that do not change the trained function (training/graph options).
_IGNORED = {
    "is_template_graph", "components", "structure", "randomize_noise", "fused_modconv",
    "truncation_psi", "truncation_cutoff", "truncation_psi_val", "truncation_cutoff_val",
    "style_mixing_prob", "return_dlatents", "is_training", "is_validation", "dtype",
    "dlatent_broadcast", "lod", "fmap_min", "freeze_layers", "normalize_latents",
    "num_fp16_res", "conv_clamp", "mbstd_num_features", "mbstd_group_size",
}


def _state(net: Any, path: str, what: str) -> Mapping:
    if not isinstance(net, TF1Network) or not isinstance(net.state, Mapping):
        raise CheckpointError(path, f"{what} is not a TF1 network state.")
    state = net.state
    version = state.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise CheckpointError(
            path,
            f"{what}: unknown TF1 network format version {shown(version)}; "
            f"supported versions are {SUPPORTED_VERSIONS}.",
        )
    return state


def _variables(state: Mapping, walk: TreeWalk, prefix: str = "", depth: int = 0) -> dict[str, np.ndarray]:
    """{component/.../name: array} of a network state and its components, walked as a tree."""
    where = prefix.rstrip("/") or "<network>"
    walk.enter(state, where, depth)
    variables, components = state.get("variables", []), state.get("components", {})
    if not isinstance(variables, (list, tuple)) or not isinstance(components, Mapping):
        walk.limits.fail(where, "`variables` is not a list or `components` is not a dict.")
    out = {}
    for item in variables:
        if not (isinstance(item, tuple) and len(item) == 2 and type(item[0]) is str
                and isinstance(item[1], (np.ndarray, np.generic))):
            walk.limits.fail(where, f"variable {shown(item)} is not a (name, array) pair.")
        out[prefix + item[0]] = np.asarray(item[1])
    for comp_name, comp in components.items():
        if type(comp_name) is not str or not isinstance(comp, TF1Network) or not isinstance(comp.state, Mapping):
            walk.limits.fail(where, f"component {shown(comp_name)} is not a TF1 network state.")
        out.update(_variables(comp.state, walk, f"{prefix}{comp_name}/", depth + 1))
    return out


def _static_kwargs(state: Mapping, path: str, what: str) -> dict:
    kwargs = state.get("static_kwargs", {})
    if not isinstance(kwargs, Mapping) or not all(type(k) is str for k in kwargs):
        raise CheckpointError(path, f"{what}: static_kwargs is not a dict of names.")
    return dict(kwargs)


def _kwargs(state: Mapping, path: str, what: str, known: set) -> dict:
    kwargs = _static_kwargs(state, path, what)
    for comp in state.get("components", {}).values():
        kwargs.update({k: v for k, v in _static_kwargs(comp.state, path, what).items() if k not in kwargs})
    unknown = sorted(set(kwargs) - known - _IGNORED)
    if unknown:
        raise CheckpointError(path, f"{what}: unsupported TF1 kwargs {unknown}.")
    if kwargs.get("fmap_decay", 1.0) not in (1, 1.0):
        raise CheckpointError(path, f"{what}: fmap_decay != 1 is not supported.")
    return kwargs


_G_KNOWN = {
    "latent_size", "dlatent_size", "num_channels", "resolution", "label_size", "fmap_base",
    "fmap_decay", "fmap_max", "architecture", "nonlinearity", "use_noise", "resample_kernel",
    "mapping_layers", "mapping_fmaps", "mapping_lrmul", "mapping_nonlinearity",
    "dlatent_avg_beta", "label_fmaps",
}
_D_KNOWN = {
    "num_channels", "resolution", "label_size", "fmap_base", "fmap_decay", "fmap_max",
    "architecture", "nonlinearity", "resample_kernel", "mapping_layers", "mapping_fmaps",
    "mapping_lrmul",
}


def _doubled(fmap_base):
    """TF1's fmap_base counts half the channels of our channel_base (a non-integer is left for the check)."""
    return fmap_base * 2 if type(fmap_base) is int else fmap_base


def generator_kwargs(state: Mapping, path: str, what: str) -> dict:
    """Our Generator kwargs from a TF1 G's static kwargs (TF1 defaults)."""
    kw = _kwargs(state, path, what, _G_KNOWN)
    return dict(
        z_dim=kw.get("latent_size", 512),
        c_dim=kw.get("label_size", 0),
        w_dim=kw.get("dlatent_size", 512),
        img_resolution=kw.get("resolution", 1024),
        img_channels=kw.get("num_channels", 3),
        mapping_layers=kw.get("mapping_layers", 8),
        layer_features=kw.get("mapping_fmaps", 512),
        embed_features=kw.get("label_fmaps", kw.get("latent_size", 512)),
        mapping_lr_multiplier=kw.get("mapping_lrmul", 0.01),
        mapping_activation=kw.get("mapping_nonlinearity", "lrelu"),
        w_avg_beta=kw.get("dlatent_avg_beta", 0.995),
        architecture=kw.get("architecture", "skip"),
        channel_base=_doubled(kw.get("fmap_base", 16 << 10)),
        channel_max=kw.get("fmap_max", 512),
        activation=kw.get("nonlinearity", "lrelu"),
        use_noise=kw.get("use_noise", True),
        resample_filter=kw.get("resample_kernel", [1, 3, 3, 1]),
    )


def discriminator_kwargs(state: Mapping, path: str, what: str) -> dict:
    """Our Discriminator kwargs from a TF1 D's static kwargs (TF1 defaults)."""
    kw = _kwargs(state, path, what, _D_KNOWN)
    c_dim = kw.get("label_size", 0)
    if type(c_dim) is int and c_dim > 0 and not any(n.startswith("LabelEmbed/") for n, _ in state["variables"]):
        raise CheckpointError(
            path,
            f"{what}: conditional D without a label mapping (original StyleGAN2 TF1 "
            "labels) is not supported; only the stylegan2-ada TF projection D is.",
        )
    return dict(
        c_dim=c_dim,
        img_resolution=kw.get("resolution", 1024),
        img_channels=kw.get("num_channels", 3),
        architecture=kw.get("architecture", "resnet"),
        channel_base=_doubled(kw.get("fmap_base", 16 << 10)),
        channel_max=kw.get("fmap_max", 512),
        cmap_dim=kw.get("mapping_fmaps"),
        mbstd_group_size=_static_kwargs(state, path, what).get("mbstd_group_size", 4),
        mbstd_num_channels=_static_kwargs(state, path, what).get("mbstd_num_features", 1),
        activation=kw.get("nonlinearity", "lrelu"),
        resample_filter=kw.get("resample_kernel", [1, 3, 3, 1]),
        mapping_layers=kw.get("mapping_layers", 0),
        mapping_lr_multiplier=kw.get("mapping_lrmul", 0.1),
    )


def _log2(r: str) -> int:
    return int(np.log2(int(r)))


# One table per network: (our name regex, TF1 name template, transform).
# Groups of the regex fill the template's {0}, {1}.
_ident: Callable = lambda v, m: v  # noqa: E731
G_TABLE = [
    (r"mapping\.w_avg", "dlatent_avg", _ident),
    (r"mapping\.embed\.(weight|bias)", "mapping/LabelEmbed/{0}", _ident),
    (r"mapping\.fc(\d+)\.(weight|bias)", "mapping/Dense{0}/{1}", _ident),
    (r"synthesis\.b4\.const", "synthesis/4x4/Const/const", lambda v, m: v[0].transpose(1, 2, 0)),
    (r"synthesis\.b4\.conv1\.noise\.noise_const", "synthesis/noise0", lambda v, m: v[0, 0]),
    (r"synthesis\.b4\.conv1\.noise\.noise_strength", "synthesis/4x4/Conv/noise_strength", _ident),
    (r"synthesis\.b4\.conv1\.(weight|bias)", "synthesis/4x4/Conv/{0}", _ident),
    (r"synthesis\.b4\.conv1\.affine\.weight", "synthesis/4x4/Conv/mod_weight", _ident),
    (r"synthesis\.b4\.conv1\.affine\.bias", "synthesis/4x4/Conv/mod_bias", lambda v, m: v + 1),
    (r"synthesis\.b(\d+)\.conv0\.noise\.noise_const",
     lambda m: f"synthesis/noise{_log2(m[1]) * 2 - 5}", lambda v, m: v[0, 0]),
    (r"synthesis\.b(\d+)\.conv1\.noise\.noise_const",
     lambda m: f"synthesis/noise{_log2(m[1]) * 2 - 4}", lambda v, m: v[0, 0]),
    (r"synthesis\.b(\d+)\.conv0\.noise\.noise_strength", "synthesis/{0}x{0}/Conv0_up/noise_strength", _ident),
    (r"synthesis\.b(\d+)\.conv1\.noise\.noise_strength", "synthesis/{0}x{0}/Conv1/noise_strength", _ident),
    (r"synthesis\.b(\d+)\.conv0\.(weight|bias)", "synthesis/{0}x{0}/Conv0_up/{1}", _ident),
    (r"synthesis\.b(\d+)\.conv1\.(weight|bias)", "synthesis/{0}x{0}/Conv1/{1}", _ident),
    (r"synthesis\.b(\d+)\.(conv0)\.affine\.weight", "synthesis/{0}x{0}/Conv0_up/mod_weight", _ident),
    (r"synthesis\.b(\d+)\.(conv1)\.affine\.weight", "synthesis/{0}x{0}/Conv1/mod_weight", _ident),
    (r"synthesis\.b(\d+)\.(conv0)\.affine\.bias", "synthesis/{0}x{0}/Conv0_up/mod_bias", lambda v, m: v + 1),
    (r"synthesis\.b(\d+)\.(conv1)\.affine\.bias", "synthesis/{0}x{0}/Conv1/mod_bias", lambda v, m: v + 1),
    (r"synthesis\.b(\d+)\.torgb\.(weight|bias)", "synthesis/{0}x{0}/ToRGB/{1}", _ident),
    (r"synthesis\.b(\d+)\.torgb\.affine\.weight", "synthesis/{0}x{0}/ToRGB/mod_weight", _ident),
    (r"synthesis\.b(\d+)\.torgb\.affine\.bias", "synthesis/{0}x{0}/ToRGB/mod_bias", lambda v, m: v + 1),
    (r"synthesis\.b(\d+)\.skip\.weight", "synthesis/{0}x{0}/Skip/weight", _ident),
]
D_TABLE = [
    (r"b(\d+)\.fromrgb\.(weight|bias)", "{0}x{0}/FromRGB/{1}", _ident),
    (r"b(\d+)\.conv0\.(weight|bias)", "{0}x{0}/Conv0/{1}", _ident),
    (r"b(\d+)\.conv1\.(weight|bias)", "{0}x{0}/Conv1_down/{1}", _ident),
    (r"b(\d+)\.skip\.weight", "{0}x{0}/Skip/weight", _ident),
    (r"b4\.conv\.(weight|bias)", "4x4/Conv/{0}", _ident),
    (r"b4\.fc\.weight", "4x4/Dense0/weight",
     lambda v, m: dense_chw_to_hwc(v, v.shape[1], 4)),
    (r"b4\.fc\.bias", "4x4/Dense0/bias", _ident),
    (r"b4\.out\.(weight|bias)", "Output/{0}", _ident),
    (r"mapping\.embed\.(weight|bias)", "LabelEmbed/{0}", _ident),
    (r"mapping\.fc(\d+)\.(weight|bias)", "Mapping{0}/{1}", _ident),
]


def read(nets: Any, path: str, limits: ReadLimits) -> dict:
    """{"G", "D", "G_ema"}: (kwargs, source tensors, table, what) per network."""
    if not (isinstance(nets, tuple) and len(nets) == 3):
        raise CheckpointError(path, "a TF1 checkpoint holds the tuple (G, D, Gs).")
    out = {}
    for key, net, what in zip(("G", "D", "G_ema"), nets, ("G", "D", "Gs")):
        state = _state(net, path, what)
        variables = _variables(state, TreeWalk(limits), "")
        func = state.get("build_func_name")
        is_g = key != "D"
        if func not in (G_FUNCS if is_g else D_FUNCS):
            raise CheckpointError(path, f"{what}: unsupported build function {shown(func)}.")
        if is_g:
            synthesis = state.get("components", {}).get("synthesis")
            sstate = getattr(synthesis, "state", None)
            sfunc = sstate.get("build_func_name") if isinstance(sstate, Mapping) else None
            if sfunc not in SYNTHESIS_FUNCS:
                raise CheckpointError(path, f"{what}: unsupported synthesis network {shown(sfunc)}.")
        kwargs = (generator_kwargs if is_g else discriminator_kwargs)(state, path, what)
        out[key] = (kwargs, variables, G_TABLE if is_g else D_TABLE, what)
    return out
