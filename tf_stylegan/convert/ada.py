"""stylegan2-ada-pytorch pickles: {G, D, G_ema, augment_pipe, training_set_kwargs}.

The networks are `torch_utils.persistence` objects: class name, format
version, the module source (never executed) and the module's state, whose
`_init_kwargs` give the architecture and whose `_parameters` / `_buffers` /
`_modules` hold the tensors. Layouts are converted once: dense [out, in] ->
[in, out], conv OIHW -> HWIO, const CHW -> HWC, D's 4x4 dense to NHWC order,
and the synthesis `conv0` kernels are flipped back to TF1's orientation
(the inverse of the flip the official legacy converter applies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tf_stylegan.convert.assign import dense_chw_to_hwc
from tf_stylegan.convert.errors import CheckpointError
from tf_stylegan.convert.limits import ReadLimits, TreeWalk, shown
from tf_stylegan.convert.safe_pickle import PersistentObject, SavedState
from tf_stylegan.networks import spec
from tf_stylegan.ops import setup_filter

PERSISTENCE_VERSIONS = (6,)
CLASS_NAMES = {"G": "Generator", "G_ema": "Generator", "D": "Discriminator"}


def _module_tensors(obj: Any, walk: TreeWalk, prefix: str = "", depth: int = 0) -> dict[str, np.ndarray]:
    """Flattens a pickled torch module's parameters and buffers by dotted name, walking it as a tree."""
    where = prefix.rstrip(".") or "<root>"
    walk.enter(obj, where, depth)
    state = getattr(obj, "state", None)
    if not isinstance(state, Mapping):
        walk.limits.fail(where, "the module has no saved state.")
    out = {}
    for group in ("_parameters", "_buffers", "_modules"):
        if not isinstance(state.get(group, {}), Mapping):
            walk.limits.fail(where, f"`{group}` is not a dict.")
    for group in ("_parameters", "_buffers"):
        for name, value in state.get(group, {}).items():
            if value is None:
                continue
            if type(name) is not str or not isinstance(value, np.ndarray):
                walk.limits.fail(f"{prefix}{shown(name)}", "not a named tensor.")
            out[prefix + name] = value
    for name, child in state.get("_modules", {}).items():
        if child is None:
            continue
        if type(name) is not str or not isinstance(child, (PersistentObject, SavedState)):
            walk.limits.fail(f"{prefix}{shown(name)}", "not a module.")
        out.update(_module_tensors(child, walk, f"{prefix}{name}.", depth + 1))
    return out


def _sub_kwargs(init: Mapping, key: str) -> dict:
    value = init.get(key, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"`{key}` is not a dict")
    return dict(value)


def generator_kwargs(init: Mapping) -> dict:
    """Our Generator kwargs from the official Generator's init kwargs."""
    mapping = _sub_kwargs(init, "mapping_kwargs")
    synthesis = _sub_kwargs(init, "synthesis_kwargs")
    return dict(
        z_dim=init["z_dim"], c_dim=init["c_dim"], w_dim=init["w_dim"],
        img_resolution=init["img_resolution"], img_channels=init["img_channels"],
        mapping_layers=mapping.get("num_layers", 8),
        embed_features=mapping.get("embed_features"),
        layer_features=mapping.get("layer_features"),
        mapping_activation=mapping.get("activation", "lrelu"),
        mapping_lr_multiplier=mapping.get("lr_multiplier", 0.01),
        w_avg_beta=mapping.get("w_avg_beta", 0.995),
        architecture=synthesis.get("architecture", "skip"),
        channel_base=synthesis.get("channel_base", 32768),
        channel_max=synthesis.get("channel_max", 512),
        num_fp16_res=synthesis.get("num_fp16_res", 0),
        conv_clamp=synthesis.get("conv_clamp"),
        use_noise=synthesis.get("use_noise", True),
        activation=synthesis.get("activation", "lrelu"),
        resample_filter=synthesis.get("resample_filter", [1, 3, 3, 1]),
    )


def discriminator_kwargs(init: Mapping) -> dict:
    """Our Discriminator kwargs from the official Discriminator's init kwargs."""
    block = _sub_kwargs(init, "block_kwargs")
    mapping = _sub_kwargs(init, "mapping_kwargs")
    epilogue = _sub_kwargs(init, "epilogue_kwargs")
    return dict(
        c_dim=init["c_dim"], img_resolution=init["img_resolution"],
        img_channels=init["img_channels"],
        architecture=init.get("architecture", "resnet"),
        channel_base=init.get("channel_base", 32768),
        channel_max=init.get("channel_max", 512),
        num_fp16_res=init.get("num_fp16_res", 0),
        conv_clamp=init.get("conv_clamp"),
        cmap_dim=init.get("cmap_dim"),
        activation=block.get("activation", "lrelu"),
        resample_filter=block.get("resample_filter", [1, 3, 3, 1]),
        mbstd_group_size=epilogue.get("mbstd_group_size", 4),
        mbstd_num_channels=epilogue.get("mbstd_num_channels", 1),
        mapping_layers=mapping.get("num_layers", 8),
        mapping_lr_multiplier=mapping.get("lr_multiplier", 0.01),
    )


def _dense(v, m):
    return v.T


def _conv(v, m):
    return v.transpose(2, 3, 1, 0)


def _conv_flipped(v, m):
    return v[:, :, ::-1, ::-1].transpose(2, 3, 1, 0)


def _ident(v, m):
    return v


def _const(v, m):
    return v.transpose(1, 2, 0)


def _d_fc(v, m):
    return dense_chw_to_hwc(v.T, v.shape[1] // 16, 4)


# (our name regex, official name template, transform); the templates use the regex groups.
G_TABLE = [
    (r"mapping\.w_avg", "mapping.w_avg", _ident),
    (r"mapping\.(embed|fc\d+)\.weight", "mapping.{0}.weight", _dense),
    (r"mapping\.(embed|fc\d+)\.bias", "mapping.{0}.bias", _ident),
    (r"synthesis\.b4\.const", "synthesis.b4.const", _const),
    (r"(synthesis\.b\d+\.conv[01])\.noise\.(noise_const|noise_strength)", "{0}.{1}", _ident),
    (r"(synthesis\.b\d+\.(?:conv[01]|torgb))\.affine\.weight", "{0}.affine.weight", _dense),
    (r"(synthesis\.b\d+\.(?:conv[01]|torgb))\.affine\.bias", "{0}.affine.bias", _ident),
    (r"(synthesis\.b\d+\.(?:conv0|skip))\.weight", "{0}.weight", _conv_flipped),
    (r"(synthesis\.b\d+\.(?:conv1|torgb))\.weight", "{0}.weight", _conv),
    (r"(synthesis\.b\d+\.(?:conv[01]|torgb))\.bias", "{0}.bias", _ident),
]
D_TABLE = [
    (r"(b\d+\.(?:fromrgb|conv0|conv1|skip)|b4\.conv)\.weight", "{0}.weight", _conv),
    (r"(b\d+\.(?:fromrgb|conv0|conv1)|b4\.conv)\.bias", "{0}.bias", _ident),
    (r"b4\.fc\.weight", "b4.fc.weight", _d_fc),
    (r"b4\.(fc|out)\.bias", "b4.{0}.bias", _ident),
    (r"b4\.out\.weight", "b4.out.weight", _dense),
    (r"mapping\.(embed|fc\d+)\.weight", "mapping.{0}.weight", _dense),
    (r"mapping\.(embed|fc\d+)\.bias", "mapping.{0}.bias", _ident),
]


def _check_filters(tensors: Mapping[str, np.ndarray], taps, path: str, what: str) -> None:
    """The stored resample filters must be the ones the kwargs describe."""
    expected = setup_filter(taps, separable=False)
    for name, value in tensors.items():
        if name.endswith("resample_filter") and not np.allclose(value, expected, atol=1e-6):
            raise CheckpointError(path, f"{what}: `{name}` is not the filter {taps} its kwargs name.")


def read(data: Any, path: str, limits: ReadLimits) -> dict:
    """{"G", "D", "G_ema"}: (kwargs, source tensors, table, what) per network."""
    if not isinstance(data, Mapping) or not all(k in data for k in CLASS_NAMES):
        raise CheckpointError(path, "a stylegan2-ada-pytorch pickle holds a dict with G, D and G_ema.")
    out = {}
    for key, class_name in CLASS_NAMES.items():
        obj = data[key]
        if not isinstance(obj, PersistentObject):
            raise CheckpointError(path, f"{key} is not a persistent network object.")
        if type(obj.version) is not int or obj.version not in PERSISTENCE_VERSIONS:
            raise CheckpointError(
                path, f"{key}: unknown persistence format version {shown(obj.version)}; "
                f"supported versions are {PERSISTENCE_VERSIONS}.",
            )
        if obj.type != "class" or obj.class_name != class_name:
            raise CheckpointError(
                path, f"{key}: unsupported network class {shown(obj.class_name)} (expected {class_name})."
            )
        init = obj.state.get("_init_kwargs") if isinstance(obj.state, Mapping) else None
        if not isinstance(init, Mapping) or not all(type(k) is str for k in init):
            raise CheckpointError(path, f"{key}: the network state has no init kwargs.")
        tensors = _module_tensors(obj, TreeWalk(limits), f"{key}.")
        try:
            kwargs = (discriminator_kwargs if key == "D" else generator_kwargs)(init)
            (spec.check_discriminator_kwargs if key == "D" else spec.check_generator_kwargs)(kwargs)
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(path, f"{key}: architecture kwargs: {shown(str(exc))}") from None
        tensors = {name[len(key) + 1:]: value for name, value in tensors.items()}
        _check_filters(tensors, kwargs["resample_filter"], path, key)
        out[key] = (kwargs, tensors, D_TABLE if key == "D" else G_TABLE, key)
    return out

