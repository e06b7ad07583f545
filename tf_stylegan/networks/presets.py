"""Presets: JSON files in configs/ that name network and training settings.

A preset is data and goes through the same constructors as user code:
`{"family", "resolution", "G": generator kwargs, "D": discriminator kwargs,
"training": run options}`. The family (stylegan2, progan or dcgan; default
stylegan2) names the network classes; the "training" block is checked by
tf_stylegan.run.options. The "auto" preset sizes itself from the dataset
resolution and replica count with the stylegan2-ada formulas.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from tf_stylegan.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from tf_stylegan.networks.discriminator import Discriminator
from tf_stylegan.networks.generator import Generator
from tf_stylegan.networks.progan import ProGANDiscriminator, ProGANGenerator

FAMILY_NETWORKS = {
    "stylegan2": (Generator, Discriminator),
    "progan": (ProGANGenerator, ProGANDiscriminator),
    "dcgan": (DCGANGenerator, DCGANDiscriminator),
}
PRESET_KEYS = {"family", "description", "resolution", "auto", "G", "D", "training"}


def config_dirs() -> list[Path]:
    """Where presets live: the source checkout, then the installed copy."""
    return [
        Path(__file__).resolve().parents[2] / "configs",
        Path(sys.prefix) / "share" / "tf_stylegan" / "configs",
    ]


def preset_names() -> list[str]:
    names = set()
    for d in config_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.json"))
    return sorted(names)


@dataclasses.dataclass
class Preset:
    """A resolved preset: every field explicit."""

    name: str
    description: str
    resolution: int
    G: dict[str, Any]
    D: dict[str, Any]
    training: dict[str, Any]
    family: str = "stylegan2"

    @property
    def classes(self) -> tuple[type, type]:
        return FAMILY_NETWORKS[self.family]

    def build(self):
        """Fresh, randomly initialised (G, D) for this preset, built."""
        nets = []
        for cls, kwargs, name in zip(self.classes, (self.G, self.D), ("generator", "discriminator")):
            try:
                net = cls(**kwargs, name=name)
            except TypeError as exc:
                raise ValueError(f"preset {self.name!r}: its {name} settings do not fit {cls.__name__} "
                                 f"({exc}).") from None
            if not net.built:
                net.build()
            nets.append(net)
        return tuple(nets)


def _find(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return path
    for d in config_dirs():
        candidate = d / f"{name_or_path}.json"
        if candidate.is_file():
            return candidate
    raise ValueError(
        f"Unknown preset {name_or_path!r}: not a JSON file, and not one of {preset_names()}."
    )


def read_preset(name_or_path: str) -> tuple[Path, dict]:
    """The preset's file and its JSON object, as written (not yet checked or sized)."""
    path = _find(name_or_path)
    try:
        spec = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}).") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a preset is a JSON object.")
    return path, spec


def preset_family(name_or_path: str) -> str:
    """The family of a preset (stylegan2, progan or dcgan), without sizing it for a dataset."""
    path, spec = read_preset(name_or_path)
    family = spec.get("family", "stylegan2")
    if family not in FAMILY_NETWORKS:
        raise ValueError(f"{path}: family {family!r} is not one of {sorted(FAMILY_NETWORKS)}.")
    return family


def auto_settings(resolution: int, replicas: int = 1) -> dict[str, Any]:
    """The stylegan2-ada 'auto' formulas: batch, mbstd, width, lr, gamma, EMA."""
    batch = max(min(replicas * min(4096 // resolution, 32), 64), replicas)
    return dict(
        batch=batch,
        mbstd_group_size=min(batch // replicas, 4),
        channel_base=int((1 if resolution >= 512 else 0.5) * 32768),
        lr=0.002 if resolution >= 1024 else 0.0025,
        r1_gamma=0.0002 * resolution**2 / batch,
        ema_kimg=batch * 10 / 32,
    )


def load_preset(
    name_or_path: str,
    resolution: int | None = None,
    c_dim: int | None = None,
    img_channels: int | None = None,
    replicas: int = 1,
    fallback_resolution: int | None = None,
) -> Preset:
    """Reads a preset; dataset facts (resolution, labels, channels) override it.

    Args:
      name_or_path: a name in configs/ ("config-f", "tiny", ...) or a JSON path.
      resolution: image resolution (required by "auto").
      c_dim: label width (0 = unconditional); None keeps the preset's.
      img_channels: image channels; None keeps the preset's (default 3).
      replicas: data-parallel replicas (for "auto").
      fallback_resolution: used when neither `resolution` nor the preset sets one
        (the dataset's resolution, for "auto").
    """
    path, spec = read_preset(name_or_path)
    missing = {"G", "D", "training"} - set(spec)
    if missing:
        raise ValueError(f"{path}: a preset needs the fields {sorted(missing)}.")
    unknown = sorted(set(spec) - PRESET_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown preset fields {unknown} (a preset has {sorted(PRESET_KEYS)}).")
    family = spec.get("family", "stylegan2")
    if family not in FAMILY_NETWORKS:
        raise ValueError(f"{path}: family {family!r} is not one of {sorted(FAMILY_NETWORKS)}.")
    G, D, training = (copy.deepcopy(spec[k]) for k in ("G", "D", "training"))
    res = resolution or spec.get("resolution") or fallback_resolution
    if not res:
        raise ValueError(f"{path}: this preset needs a resolution (from the dataset).")
    if spec.get("auto"):
        auto = auto_settings(res, replicas)
        G["channel_base"] = D["channel_base"] = auto["channel_base"]
        D["mbstd_group_size"] = auto["mbstd_group_size"]
        training.update(
            batch=auto["batch"], g_lr=auto["lr"], d_lr=auto["lr"],
            r1_gamma=auto["r1_gamma"], ema_kimg=auto["ema_kimg"],
        )
    for kw, cls in zip((G, D), FAMILY_NETWORKS[family]):
        kw["img_resolution"] = int(res)
        if c_dim is not None and "c_dim" in inspect.signature(cls.__init__).parameters:
            kw["c_dim"] = int(c_dim)
        elif c_dim:
            raise ValueError(f"{path.stem}: {cls.__name__} is unconditional; it cannot take labels (drop --cond, or "
                             "use a StyleGAN2 preset or cgan for labels).")
        if img_channels is not None:
            kw["img_channels"] = int(img_channels)
    return Preset(
        name=path.stem, description=spec.get("description", ""), resolution=int(res),
        G=G, D=D, training=training, family=family,
    )
