"""Our networks -> the stylegan2-ada-pytorch layout, so users can move to the PyTorch tools.

`ada_layout(G_ema, G=None, D=None)` gives {"G_ema": {"class_name", "init_kwargs",
"state_dict"}, ...}: plain dicts of numpy arrays in the official names and
layouts (dense [out, in], conv OIHW with conv0/skip flipped back, const CHW,
D's 4x4 dense in NCHW order). In PyTorch:

    G = training.networks.Generator(**net["init_kwargs"])
    G.load_state_dict({k: torch.from_numpy(v) for k, v in net["state_dict"].items()}, strict=False)

(`strict=False` because the fixed resample filters are not stored; the
official constructor makes the same ones.) `save_ada_pickle` writes it as a
pickle of plain dicts, readable without our package.
"""

from __future__ import annotations

import json
import pickle
import re

import keras
import numpy as np

from tf_stylegan.convert import ada
from tf_stylegan.convert.assign import canonical_variables
from tf_stylegan.files import atomic_path

_INVERSE = {
    ada._ident: lambda v: v,
    ada._dense: lambda v: v.T,
    ada._conv: lambda v: v.transpose(3, 2, 0, 1),
    ada._conv_flipped: lambda v: v.transpose(3, 2, 0, 1)[:, :, ::-1, ::-1],
    ada._const: lambda v: v.transpose(2, 0, 1),
    ada._d_fc: lambda v: v.reshape(4, 4, -1, v.shape[-1]).transpose(2, 0, 1, 3).reshape(-1, v.shape[-1]).T,
}


def _state_dict(model: keras.Model, table) -> dict[str, np.ndarray]:
    out = {}
    for name, var in canonical_variables(model).items():
        for pattern, template, transform in table:
            m = re.fullmatch(pattern, name)
            if m is None:
                continue
            source = template(m) if callable(template) else template.format(*m.groups())
            out[source] = np.ascontiguousarray(_INVERSE[transform](np.asarray(var.numpy(), np.float32)))
            break
        else:
            raise ValueError(f"{model.name}: `{name}` has no place in the stylegan2-ada-pytorch layout.")
    return out


def _plain(cfg: dict) -> dict:
    """Keras-tracked lists and dicts -> plain Python values."""
    return json.loads(json.dumps(cfg, default=list))


def generator_init_kwargs(G) -> dict:
    cfg = _plain(G.get_config())
    return dict(
        z_dim=cfg["z_dim"], c_dim=cfg["c_dim"], w_dim=cfg["w_dim"], img_resolution=cfg["img_resolution"],
        img_channels=cfg["img_channels"],
        mapping_kwargs=dict(num_layers=cfg["mapping_layers"], embed_features=cfg["embed_features"],
                            layer_features=cfg["layer_features"], activation=cfg["mapping_activation"],
                            lr_multiplier=cfg["mapping_lr_multiplier"], w_avg_beta=cfg["w_avg_beta"]),
        synthesis_kwargs=dict(architecture=cfg["architecture"], channel_base=cfg["channel_base"],
                              channel_max=cfg["channel_max"], num_fp16_res=cfg["num_fp16_res"],
                              conv_clamp=cfg["conv_clamp"], use_noise=cfg["use_noise"],
                              activation=cfg["activation"], resample_filter=cfg["resample_filter"]),
    )


def discriminator_init_kwargs(D) -> dict:
    cfg = _plain(D.get_config())
    return dict(
        c_dim=cfg["c_dim"], img_resolution=cfg["img_resolution"], img_channels=cfg["img_channels"],
        architecture=cfg["architecture"], channel_base=cfg["channel_base"], channel_max=cfg["channel_max"],
        num_fp16_res=cfg["num_fp16_res"], conv_clamp=cfg["conv_clamp"], cmap_dim=cfg["cmap_dim"],
        block_kwargs=dict(activation=cfg["activation"], resample_filter=cfg["resample_filter"]),
        mapping_kwargs=dict(num_layers=cfg["mapping_layers"], lr_multiplier=cfg["mapping_lr_multiplier"]),
        epilogue_kwargs=dict(mbstd_group_size=cfg["mbstd_group_size"], mbstd_num_channels=cfg["mbstd_num_channels"]),
    )


def ada_layout(G_ema, G=None, D=None) -> dict:
    """{"G_ema", and "G" / "D" when given}: class name, init kwargs and state dict each."""
    out = {"G_ema": dict(class_name="training.networks.Generator", init_kwargs=generator_init_kwargs(G_ema),
                         state_dict=_state_dict(G_ema, ada.G_TABLE))}
    if G is not None:
        out["G"] = dict(class_name="training.networks.Generator", init_kwargs=generator_init_kwargs(G),
                        state_dict=_state_dict(G, ada.G_TABLE))
    if D is not None:
        out["D"] = dict(class_name="training.networks.Discriminator", init_kwargs=discriminator_init_kwargs(D),
                        state_dict=_state_dict(D, ada.D_TABLE))
    return out


def save_ada_pickle(path: str, G_ema, G=None, D=None) -> str:
    """Writes `ada_layout(...)` as a pickle of plain dicts and numpy arrays, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump(ada_layout(G_ema, G, D), f, protocol=4)
    return path
