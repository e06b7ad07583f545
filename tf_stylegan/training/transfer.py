"""Transfer learning: weights between networks that differ only in their conditioning, and FreezeD.

The anime workflow fine-tunes a model pretrained without labels on a small
tagged dataset: every weight is copied by its path inside the network, and the
conditioning parts, which the source lacks or has in another shape, start
fresh. For G the z rows of the first mapping layer are copied and rescaled
for the wider fan-in, and the rows of the new label embedding start at zero,
so the fine-tuned G begins as exactly the pretrained one (the tags have no
effect until training teaches them one). D's projection head and label
mapping start from their random initialisation.
"""

from __future__ import annotations

import keras
import numpy as np


def _by_path(model: keras.Model) -> dict[str, keras.Variable]:
    return {w.path.split("/", 1)[1]: w for w in model.weights}


def conditioning_paths(model: keras.Model) -> tuple[str, ...]:
    """Path prefixes of the weights that exist for labels only: G's label embedding; D's label mapping and
    its projection output (whose width is the label embedding's)."""
    return ("mapping/embed/",) if hasattr(model, "synthesis") else ("mapping/", "b4/out/")


def transfer_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copies `source`'s weights into `target`; returns the paths left fresh (conditioning only).

    Raises ValueError naming the layers when anything besides the conditioning differs (resolution,
    widths, z or w size, layers); nothing is assigned then.
    """
    theirs, ours = _by_path(source), _by_path(target)
    conditioning = conditioning_paths(target)
    plan, fresh, wrong = [], [], []  # check everything before assigning anything
    for path, variable in ours.items():
        value = theirs.get(path)
        if value is not None and tuple(value.shape) == tuple(variable.shape):
            plan.append((variable, value.numpy()))
        elif path.startswith(conditioning):
            fresh.append(path)
        elif (value is not None and path == "mapping/fc0/weight" and hasattr(target, "synthesis")
              and value.shape[0] == target.mapping.z_dim < variable.shape[0]
              and tuple(variable.shape[1:]) == tuple(value.shape[1:])):
            rows = value.shape[0]  # z first, then the label embedding (MappingNetwork's concat order)
            widened = np.zeros(variable.shape, np.float32)
            widened[:rows] = value.numpy() * np.sqrt(variable.shape[0] / rows)  # same fc0(z) despite the fan-in
            plan.append((variable, widened))
            fresh.append(path)
        else:
            wrong.append(f"{path} {tuple(value.shape) if value is not None else 'missing'} -> {tuple(variable.shape)}")
    wrong += [f"{p} {tuple(v.shape)} has no counterpart" for p, v in theirs.items()
              if p not in ours and not p.startswith(conditioning)]
    if wrong:
        more = f" (and {len(wrong) - 8} more)" if len(wrong) > 8 else ""
        raise ValueError("the networks differ beyond their conditioning (resolution, widths or layers); "
                         "source -> target: " + "; ".join(wrong[:8]) + more)
    for variable, value in plan:
        variable.assign(value)
    return fresh


def freeze_blocks(D: keras.Model, count: int) -> None:
    """Freezes D's first `count` blocks from the image side (FreezeD, Mo et al. 2020): their weights
    stay as loaded while the later blocks and the head fine-tune. Gradients still flow through them
    to the images (R1)."""
    blocks = list(getattr(D, "blocks", []))
    if not 0 <= count <= len(blocks):
        names = ", ".join(b.name for b in blocks)
        raise ValueError(f"freeze_d={count}: D has {len(blocks)} blocks before its 4x4 head ({names}); "
                         f"freeze_d must be 0-{len(blocks)}.")
    for block in blocks[:count]:
        block.trainable = False
