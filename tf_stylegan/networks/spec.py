"""Architecture kwargs of G and D, checked before anything is built, and the weights they imply.

Loaders take architectures from files written by strangers. A kwarg such as
`z_dim=2**25` would build an 8 GB network before any tensor is looked at, so
`check_kwargs` refuses wrong types, out-of-range values and resolutions that
are not powers of two, and `weight_count` says how many weights the network
would hold without building it: a loader compares that with the tensors the
file actually carries.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping

from tf_stylegan.ops.bias_act import ACTIVATIONS

ARCHITECTURES = ("orig", "skip", "resnet")
MAX_WIDTH = 16384  # z, w, label and feature widths
MAX_RESOLUTION = 8192
MAX_CHANNELS = 16  # image channels
MAX_LAYERS = 64
MAX_TAPS = 16


def _int(kwargs: Mapping, key: str, lo: int, hi: int, optional: bool = False) -> None:
    value = kwargs.get(key)
    if value is None and optional:
        return
    if type(value) is not int or not lo <= value <= hi:
        raise ValueError(f"`{key}` must be an integer in [{lo}, {hi}], got {reprlib.repr(value)}.")


def _float(kwargs: Mapping, key: str, lo: float, hi: float, optional: bool = False) -> None:
    value = kwargs.get(key)
    if value is None and optional:
        return
    if type(value) not in (int, float) or not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"`{key}` must be a finite number in [{lo}, {hi}], got {reprlib.repr(value)}.")


def _choice(kwargs: Mapping, key: str, choices) -> None:
    if kwargs.get(key) not in choices:
        raise ValueError(f"`{key}` must be one of {sorted(choices)}, got {reprlib.repr(kwargs.get(key))}.")


def _common(kwargs: Mapping) -> None:
    """Checks shared by G and D: image size, channels, activation, filter."""
    _int(kwargs, "img_resolution", 4, MAX_RESOLUTION)
    res = kwargs["img_resolution"]
    if res & (res - 1):
        raise ValueError(f"`img_resolution` must be a power of two, got {res}.")
    _int(kwargs, "img_channels", 1, MAX_CHANNELS)
    _int(kwargs, "c_dim", 0, MAX_WIDTH)
    _int(kwargs, "channel_max", 1, MAX_WIDTH)
    _int(kwargs, "channel_base", res, MAX_WIDTH * MAX_RESOLUTION)  # >= 1 channel at the top resolution
    _int(kwargs, "num_fp16_res", 0, 16, optional=True)
    _float(kwargs, "conv_clamp", 0, 1e6, optional=True)
    _choice(kwargs, "architecture", ARCHITECTURES)
    _choice(kwargs, "activation", ACTIVATIONS)
    taps = kwargs["resample_filter"]
    if not (isinstance(taps, (list, tuple)) and 1 <= len(taps) <= MAX_TAPS
            and all(type(t) in (int, float) and math.isfinite(t) for t in taps) and sum(taps) != 0):
        raise ValueError(f"`resample_filter` must be 1-{MAX_TAPS} finite taps with a non-zero sum, "
                         f"got {reprlib.repr(taps)}.")
    if kwargs["growing"] not in (True, False):
        raise ValueError(f"`growing` must be a bool, got {reprlib.repr(kwargs.get('growing'))}.")


def with_defaults(kind: str, kwargs: Mapping) -> dict:
    """`kwargs` completed with the constructor defaults of Generator ("G") or Discriminator ("D")."""
    import inspect

    from tf_stylegan.networks import Discriminator, Generator

    cls = Discriminator if kind == "D" else Generator
    params = inspect.signature(cls.__init__).parameters.values()
    defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    return {**defaults, **kwargs}


def check_generator_kwargs(kwargs: Mapping) -> None:
    """Raises ValueError naming the first kwarg of a Generator that is out of range."""
    kwargs = with_defaults("G", kwargs)
    _common(kwargs)
    _int(kwargs, "z_dim", 1, MAX_WIDTH)
    _int(kwargs, "w_dim", 1, MAX_WIDTH)
    _int(kwargs, "mapping_layers", 1, MAX_LAYERS)
    _int(kwargs, "embed_features", 1, MAX_WIDTH, optional=True)
    _int(kwargs, "layer_features", 1, MAX_WIDTH, optional=True)
    _float(kwargs, "mapping_lr_multiplier", 1e-6, 1e6)
    _float(kwargs, "w_avg_beta", 0, 1, optional=True)
    _choice(kwargs, "mapping_activation", ACTIVATIONS)
    _choice(kwargs, "use_noise", (True, False))
    _choice(kwargs, "synthesis", ("modulated", "adain"))


def check_discriminator_kwargs(kwargs: Mapping) -> None:
    """Raises ValueError naming the first kwarg of a Discriminator that is out of range."""
    kwargs = with_defaults("D", kwargs)
    _common(kwargs)
    _int(kwargs, "cmap_dim", 1, MAX_WIDTH, optional=True)
    _int(kwargs, "mbstd_group_size", 1, 1024, optional=True)
    _int(kwargs, "mbstd_num_channels", 0, MAX_CHANNELS)
    _int(kwargs, "mapping_layers", 0, MAX_LAYERS)
    _float(kwargs, "mapping_lr_multiplier", 1e-6, 1e6)


def _channels(kwargs: Mapping, res: int) -> int:
    return min(kwargs["channel_base"] // res, kwargs["channel_max"])


def _dense(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def _mapping(z_dim, c_dim, w_dim, layers, embed_features, layer_features, w_avg: bool) -> int:
    embed = (w_dim if embed_features is None else embed_features) if c_dim else 0
    hidden = w_dim if layer_features is None else layer_features
    widths = [z_dim + embed] + [hidden] * (layers - 1) + [w_dim]
    count = _dense(c_dim, embed) if c_dim else 0
    count += sum(_dense(widths[i], widths[i + 1]) for i in range(layers))
    return count + (w_dim if w_avg else 0)


def _modconv(cin: int, cout: int, w_dim: int, res: int, k: int, noise: bool) -> int:
    return k * k * cin * cout + cout + _dense(w_dim, cin) + ((1 + res * res) if noise else 0)


def generator_weight_count(kwargs: Mapping) -> int:
    """Float weights (trainable and buffers) of `Generator(**kwargs)`, without building it."""
    g = with_defaults("G", kwargs)
    w_dim, top, img_ch, noise = g["w_dim"], g["img_resolution"], g["img_channels"], g["use_noise"]
    count = _mapping(g["z_dim"], g["c_dim"], w_dim, g["mapping_layers"], g.get("embed_features"),
                     g.get("layer_features"), g["w_avg_beta"] is not None)
    resolutions = [2**i for i in range(2, int(math.log2(top)) + 1)]
    if g["synthesis"] == "adain":
        for r in resolutions:
            c, c_in = _channels(g, r), _channels(g, max(r // 2, 4))
            for conv_in in ((c_in if r > 4 else 0), c):
                count += 9 * conv_in * c + _dense(w_dim, 2 * c) + c + ((c + r * r) if noise else 0)
            count += _dense(c, img_ch)
        return count + 16 * _channels(g, 4)
    for r in resolutions:
        cout = _channels(g, r)
        if r == 4:
            count += 16 * cout
        else:
            cin = _channels(g, r // 2)
            count += _modconv(cin, cout, w_dim, r, 3, noise)
            count += cin * cout if g["architecture"] == "resnet" else 0
        count += _modconv(cout, cout, w_dim, r, 3, noise)
        if r == top or g["architecture"] == "skip" or g["growing"]:
            count += _modconv(cout, img_ch, w_dim, r, 1, False)
    return count


def discriminator_weight_count(kwargs: Mapping) -> int:
    """Float weights of `Discriminator(**kwargs)`, without building it."""
    d = with_defaults("D", kwargs)
    top, img_ch, arch = d["img_resolution"], d["img_channels"], d["architecture"]
    count = 0
    for r in [2**i for i in range(int(math.log2(top)), 2, -1)]:
        tmp, out = _channels(d, r), _channels(d, r // 2)
        if r == top or arch == "skip" or d["growing"]:
            count += _dense(img_ch, tmp)
        count += 9 * tmp * tmp + tmp + 9 * tmp * out + out + (tmp * out if arch == "resnet" else 0)
    c4 = _channels(d, 4)
    cmap = (c4 if d.get("cmap_dim") is None else d["cmap_dim"]) if d["c_dim"] else 0
    if cmap:
        count += _mapping(0, d["c_dim"], cmap, d["mapping_layers"], None, None, False)
    if arch == "skip" or d["growing"]:
        count += _dense(img_ch, c4)
    count += 9 * (c4 + d["mbstd_num_channels"]) * c4 + c4 + _dense(16 * c4, c4) + _dense(c4, cmap or 1)
    return count
