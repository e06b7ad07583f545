"""Dev-only: tests/data/rosinality_small.pt, the TF1 fixture's weights in rosinality's layout.

rosinality/stylegan2-pytorch's own converter defines its layout relative to
TF1: linear weights [out, in], convs [out, in, k, k] (G's with a leading 1),
mod_bias + 1, the Conv0_up kernels flipped, noise{i} -> noises.noise_{i},
and D blocks counted down from the input resolution. Applying those rules to
tests/data/tf1_small.pkl gives a rosinality checkpoint whose official outputs
are tf1_small_ref.npz, so the reader is tested against official numbers.

  .venv/bin/python scripts/make_rosinality_fixture.py dump tests/data/tf1_small.pkl /tmp/vars.npz
  torchenv/bin/python scripts/make_rosinality_fixture.py write /tmp/vars.npz tests/data/rosinality_small.pt
"""

import sys

import numpy as np


def dump(pkl: str, out: str) -> None:
    from tf_stylegan.convert.limits import ReadLimits
    from tf_stylegan.convert.loader import read_parts

    arrays = {}
    for key, name in (("G", "G"), ("D", "D"), ("G_ema", "Gs")):
        arrays.update({f"{name}/{k}": v for k, v in read_parts(pkl, ReadLimits(pkl))[key][1].items()})
    np.savez(out, **arrays)


def _oihw(w):  # TF1 HWIO -> OIHW
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def generator(v: dict, prefix: str) -> dict:
    s, out = f"{prefix}/synthesis", {}
    layers = len([k for k in v if k.startswith(f"{prefix}/mapping/Dense") and k.endswith("/weight")])
    for i in range(layers):
        out[f"style.{i + 1}.weight"] = v[f"{prefix}/mapping/Dense{i}/weight"].T
        out[f"style.{i + 1}.bias"] = v[f"{prefix}/mapping/Dense{i}/bias"]

    def styled(dst, src, flip=False):
        w = v[f"{src}/weight"][::-1, ::-1] if flip else v[f"{src}/weight"]
        out[f"{dst}.conv.weight"] = _oihw(w)[None]
        out[f"{dst}.conv.modulation.weight"] = v[f"{src}/mod_weight"].T
        out[f"{dst}.conv.modulation.bias"] = v[f"{src}/mod_bias"] + 1
        out[f"{dst}.noise.weight"] = np.reshape(v[f"{src}/noise_strength"], [1])
        out[f"{dst}.activate.bias"] = v[f"{src}/bias"]

    def to_rgb(dst, src):
        out[f"{dst}.conv.weight"] = _oihw(v[f"{src}/weight"])[None]
        out[f"{dst}.conv.modulation.weight"] = v[f"{src}/mod_weight"].T
        out[f"{dst}.conv.modulation.bias"] = v[f"{src}/mod_bias"] + 1
        out[f"{dst}.bias"] = v[f"{src}/bias"].reshape(1, -1, 1, 1)

    out["input.input"] = v[f"{s}/4x4/Const/const"]
    styled("conv1", f"{s}/4x4/Conv")
    to_rgb("to_rgb1", f"{s}/4x4/ToRGB")
    res, i = 8, 0
    while f"{s}/{res}x{res}/Conv1/weight" in v:
        styled(f"convs.{2 * i}", f"{s}/{res}x{res}/Conv0_up", flip=True)
        styled(f"convs.{2 * i + 1}", f"{s}/{res}x{res}/Conv1")
        to_rgb(f"to_rgbs.{i}", f"{s}/{res}x{res}/ToRGB")
        res, i = res * 2, i + 1
    k = 0
    while f"{s}/noise{k}" in v:
        out[f"noises.noise_{k}"] = v[f"{s}/noise{k}"]
        k += 1
    return out


def discriminator(v: dict, resolution: int) -> dict:
    blur = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32)
    blur /= blur.sum()
    out = {"convs.0.0.weight": _oihw(v[f"D/{resolution}x{resolution}/FromRGB/weight"]),
           "convs.0.1.bias": v[f"D/{resolution}x{resolution}/FromRGB/bias"]}
    res, j = resolution, 1
    while res > 4:
        b = f"D/{res}x{res}"
        out.update({f"convs.{j}.conv1.0.weight": _oihw(v[f"{b}/Conv0/weight"]), f"convs.{j}.conv1.1.bias":
                    v[f"{b}/Conv0/bias"], f"convs.{j}.conv2.0.kernel": blur,
                    f"convs.{j}.conv2.1.weight": _oihw(v[f"{b}/Conv1_down/weight"]),
                    f"convs.{j}.conv2.2.bias": v[f"{b}/Conv1_down/bias"], f"convs.{j}.skip.0.kernel": blur,
                    f"convs.{j}.skip.1.weight": _oihw(v[f"{b}/Skip/weight"])})
        res, j = res // 2, j + 1
    out.update({"final_conv.0.weight": _oihw(v["D/4x4/Conv/weight"]), "final_conv.1.bias": v["D/4x4/Conv/bias"],
                "final_linear.0.weight": v["D/4x4/Dense0/weight"].T, "final_linear.0.bias": v["D/4x4/Dense0/bias"],
                "final_linear.1.weight": v["D/Output/weight"].T, "final_linear.1.bias": v["D/Output/bias"]})
    return out


def write(vars_npz: str, out: str) -> None:
    import argparse

    import torch

    v = dict(np.load(vars_npz))
    resolution = 2 ** (len([k for k in v if k.startswith("D/") and k.endswith("Conv0/weight")]) + 2)

    def tensors(d):
        return {k: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for k, a in d.items()}

    ckpt = {"g": tensors(generator(v, "G")), "d": tensors(discriminator(v, resolution)),
            "g_ema": tensors(generator(v, "Gs")), "latent_avg": torch.from_numpy(v["Gs/dlatent_avg"]),
            "args": argparse.Namespace(size=resolution, latent=64, n_mlp=8, channel_multiplier=2)}
    torch.save(ckpt, out)


if __name__ == "__main__":
    {"dump": dump, "write": write}[sys.argv[1]](*sys.argv[2:4])
