"""rosinality/stylegan2-pytorch checkpoints (.pt, torch zip or legacy format).

A training checkpoint is {"g", "d", "g_ema", "g_optim", "d_optim", "args"};
a converted one is {"g_ema", "latent_avg"}. Each network is a state dict.
The architecture is config-F StyleGAN2 (skip G, resnet D, unconditional),
so everything else is read off the tensor shapes. Layouts: linear weights
are [out, in], convs [out, in, k, k] (G's modulated ones with a leading 1),
and the upsampling convs are flipped relative to TF1 (rosinality's own
converter flips TF1's Conv0_up), so they are flipped back here. Without a
stored `latent_avg` the mapping's w_avg is estimated from 10,000 samples.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from tf_stylegan.convert.assign import dense_chw_to_hwc
from tf_stylegan.convert.errors import CheckpointError

NETWORKS = {"g": "G", "d": "D", "g_ema": "G_ema"}
ESTIMATED_W_AVG = "<estimated>"


def is_rosinality(data: Any) -> bool:
    return isinstance(data, Mapping) and "g_ema" in data and isinstance(data["g_ema"], Mapping) and any(
        str(k).startswith("style.") for k in data["g_ema"])


def _conv_hwio(v, m=None):
    return np.asarray(v).reshape(v.shape[-4:]).transpose(2, 3, 1, 0)


def _conv_hwio_flipped(v, m=None):
    return _conv_hwio(v)[::-1, ::-1]


def _linear(v, m=None):
    return np.asarray(v).T


def _ident(v, m=None):
    return np.asarray(v)


def _flat(v, m=None):
    return np.asarray(v).reshape(-1)


def _res(index: str, offset: int) -> int:
    return 2 ** (int(index) + offset)


# (our name regex, source name template or callable(match), transform)
G_TABLE = [
    (r"mapping\.w_avg", "latent_avg", lambda v, m: np.asarray(v).reshape(-1)),
    (r"mapping\.fc(\d+)\.weight", lambda m: f"style.{int(m[1]) + 1}.weight", _linear),
    (r"mapping\.fc(\d+)\.bias", lambda m: f"style.{int(m[1]) + 1}.bias", _ident),
    (r"synthesis\.b4\.const", "input.input", lambda v, m: v[0].transpose(1, 2, 0)),
    (r"synthesis\.b4\.conv1\.weight", "conv1.conv.weight", _conv_hwio),
    (r"synthesis\.b4\.conv1\.bias", "conv1.activate.bias", _ident),
    (r"synthesis\.b4\.conv1\.affine\.weight", "conv1.conv.modulation.weight", _linear),
    (r"synthesis\.b4\.conv1\.affine\.bias", "conv1.conv.modulation.bias", _ident),
    (r"synthesis\.b4\.conv1\.noise\.noise_strength", "conv1.noise.weight", lambda v, m: np.asarray(v).reshape(())),
    (r"synthesis\.b4\.conv1\.noise\.noise_const", "noises.noise_0", lambda v, m: v[0, 0]),
    (r"synthesis\.b4\.torgb\.weight", "to_rgb1.conv.weight", _conv_hwio),
    (r"synthesis\.b4\.torgb\.bias", "to_rgb1.bias", _flat),
    (r"synthesis\.b4\.torgb\.affine\.weight", "to_rgb1.conv.modulation.weight", _linear),
    (r"synthesis\.b4\.torgb\.affine\.bias", "to_rgb1.conv.modulation.bias", _ident),
]
for _conv, _k in (("conv0", 0), ("conv1", 1)):
    _src = lambda m, k=_k, tail="": f"convs.{(int(np.log2(int(m[1]))) - 3) * 2 + k}.{tail}"  # noqa: E731
    G_TABLE += [
        (rf"synthesis\.b(\d+)\.{_conv}\.weight", lambda m, s=_src: s(m, tail="conv.weight"),
         _conv_hwio_flipped if _conv == "conv0" else _conv_hwio),
        (rf"synthesis\.b(\d+)\.{_conv}\.bias", lambda m, s=_src: s(m, tail="activate.bias"), _ident),
        (rf"synthesis\.b(\d+)\.{_conv}\.affine\.weight", lambda m, s=_src: s(m, tail="conv.modulation.weight"),
         _linear),
        (rf"synthesis\.b(\d+)\.{_conv}\.affine\.bias", lambda m, s=_src: s(m, tail="conv.modulation.bias"), _ident),
        (rf"synthesis\.b(\d+)\.{_conv}\.noise\.noise_strength", lambda m, s=_src: s(m, tail="noise.weight"),
         lambda v, m: np.asarray(v).reshape(())),
        (rf"synthesis\.b(\d+)\.{_conv}\.noise\.noise_const",
         lambda m, k=_k: f"noises.noise_{(int(np.log2(int(m[1]))) - 3) * 2 + 1 + k}", lambda v, m: v[0, 0]),
    ]
G_TABLE += [
    (r"synthesis\.b(\d+)\.torgb\.weight", lambda m: f"to_rgbs.{int(np.log2(int(m[1]))) - 3}.conv.weight",
     _conv_hwio),
    (r"synthesis\.b(\d+)\.torgb\.bias", lambda m: f"to_rgbs.{int(np.log2(int(m[1]))) - 3}.bias", _flat),
    (r"synthesis\.b(\d+)\.torgb\.affine\.weight",
     lambda m: f"to_rgbs.{int(np.log2(int(m[1]))) - 3}.conv.modulation.weight", _linear),
    (r"synthesis\.b(\d+)\.torgb\.affine\.bias",
     lambda m: f"to_rgbs.{int(np.log2(int(m[1]))) - 3}.conv.modulation.bias", _ident),
]


def d_table(resolution: int) -> list:
    """D's table; its block indices count down from the input resolution."""
    top = int(np.log2(resolution))

    def block(m):
        return top - int(np.log2(int(m[1]))) + 1

    return [
        (rf"b{resolution}\.fromrgb\.weight", "convs.0.0.weight", _conv_hwio),
        (rf"b{resolution}\.fromrgb\.bias", "convs.0.1.bias", _ident),
        (r"b(\d+)\.conv0\.weight", lambda m: f"convs.{block(m)}.conv1.0.weight", _conv_hwio),
        (r"b(\d+)\.conv0\.bias", lambda m: f"convs.{block(m)}.conv1.1.bias", _ident),
        (r"b(\d+)\.conv1\.weight", lambda m: f"convs.{block(m)}.conv2.1.weight", _conv_hwio),
        (r"b(\d+)\.conv1\.bias", lambda m: f"convs.{block(m)}.conv2.2.bias", _ident),
        (r"b(\d+)\.skip\.weight", lambda m: f"convs.{block(m)}.skip.1.weight", _conv_hwio),
        (r"b4\.conv\.weight", "final_conv.0.weight", _conv_hwio),
        (r"b4\.conv\.bias", "final_conv.1.bias", _ident),
        (r"b4\.fc\.weight", "final_linear.0.weight", lambda v, m: dense_chw_to_hwc(v.T, v.shape[1] // 16, 4)),
        (r"b4\.fc\.bias", "final_linear.0.bias", _ident),
        (r"b4\.out\.weight", "final_linear.1.weight", _linear),
        (r"b4\.out\.bias", "final_linear.1.bias", _ident),
    ]


def _channel_config(channels: dict[int, int], path: str, what: str) -> tuple[int, int]:
    """(channel_base, channel_max) with min(base // res, max) == channels[res] for every res."""
    cmax = max(channels.values())
    below = [res * c for res, c in channels.items() if c < cmax]
    base = below[0] if below else cmax * max(channels)
    if any(min(base // res, cmax) != c for res, c in channels.items()):
        raise CheckpointError(path, f"{what}: channel counts {dict(sorted(channels.items()))} do not follow "
                                    "min(base / resolution, max); not a StyleGAN2 layout this reader knows.")
    return base, cmax


def generator_kwargs(state: Mapping, path: str, what: str) -> dict:
    try:
        w_dim = state["style.1.weight"].shape[0]
        mapping_layers = len([k for k in state if re.fullmatch(r"style\.\d+\.weight", k)])
        num_rgbs = len([k for k in state if re.fullmatch(r"to_rgbs\.\d+\.bias", k)])
        resolution = 2 ** (num_rgbs + 2)
        channels = {4: state["conv1.conv.weight"].shape[1]}
        for i in range(num_rgbs):
            channels[2 ** (i + 3)] = state[f"convs.{2 * i + 1}.conv.weight"].shape[1]
        img_channels = state["to_rgb1.bias"].shape[1]
    except (KeyError, AttributeError, IndexError) as exc:
        raise CheckpointError(path, f"{what}: not a rosinality generator state dict (missing {exc}).") from None
    base, cmax = _channel_config(channels, path, what)
    return dict(z_dim=w_dim, w_dim=w_dim, c_dim=0, img_resolution=resolution, img_channels=img_channels,
                mapping_layers=mapping_layers, mapping_lr_multiplier=0.01, architecture="skip",
                channel_base=base, channel_max=cmax)


def discriminator_kwargs(state: Mapping, path: str, what: str) -> dict:
    try:
        blocks = len([k for k in state if re.fullmatch(r"convs\.\d+\.conv1\.0\.weight", k)])
        resolution = 2 ** (blocks + 2)
        channels = {resolution: state["convs.0.0.weight"].shape[0], 4: state["final_conv.0.weight"].shape[0]}
        for j in range(1, blocks + 1):
            channels[resolution // 2 ** j] = state[f"convs.{j}.conv2.1.weight"].shape[0]
        img_channels = state["convs.0.0.weight"].shape[1]
    except (KeyError, AttributeError, IndexError) as exc:
        raise CheckpointError(path, f"{what}: not a rosinality discriminator state dict (missing {exc}).") from None
    base, cmax = _channel_config(channels, path, what)
    return dict(c_dim=0, img_resolution=resolution, img_channels=img_channels, architecture="resnet",
                channel_base=base, channel_max=cmax, mbstd_group_size=4, mbstd_num_channels=1)


def read(data: Mapping, path: str) -> dict:
    """{"G", "D", "G_ema"} (those present): (kwargs, source tensors, table, what) per network."""
    out = {}
    for key, ours in NETWORKS.items():
        state = data.get(key)
        if not isinstance(state, Mapping):
            continue
        state = {str(k): np.asarray(v) for k, v in state.items() if isinstance(v, np.ndarray)}
        if ours == "D":
            kwargs = discriminator_kwargs(state, path, key)
            out[ours] = (kwargs, state, d_table(kwargs["img_resolution"]), key)
        else:
            if "latent_avg" in data and key == "g_ema":
                state["latent_avg"] = np.asarray(data["latent_avg"])
            else:
                state["latent_avg"] = np.zeros([state["style.1.weight"].shape[0]], np.float32)
                state[ESTIMATED_W_AVG] = np.ones([])
            out[ours] = (generator_kwargs(state, path, key), state, G_TABLE, key)
    if "G_ema" not in out:
        raise CheckpointError(path, "a rosinality checkpoint without g_ema.")
    return out
