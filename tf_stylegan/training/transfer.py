"""Transfer learning between networks that differ only in their conditioning.

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

CONDITIONING = ("mapping/", "b4/out/")  # the only paths that may differ between conditional and unconditional


def _by_path(model: keras.Model) -> dict[str, keras.Variable]:
    return {w.path.split("/", 1)[1]: w for w in model.weights}


def transfer_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copies `source`'s weights into `target`; returns the paths left fresh (conditioning only).

    Raises ValueError when anything besides the conditioning differs (resolution, widths, layers).
    """
    theirs, ours = _by_path(source), _by_path(target)
    plan, fresh, wrong = [], [], []  # check everything before assigning anything
    for path, variable in ours.items():
        value = theirs.get(path)
        if value is not None and tuple(value.shape) == tuple(variable.shape):
            plan.append((variable, value.numpy()))
        elif path.startswith(CONDITIONING):
            if (value is not None and path == "mapping/fc0/weight" and variable.shape[0] > value.shape[0]
                    and tuple(variable.shape[1:]) == tuple(value.shape[1:])):
                rows = value.shape[0]  # z first, then the label embedding (MappingNetwork's concat order)
                widened = np.zeros(variable.shape, np.float32)
                widened[:rows] = value.numpy() * np.sqrt(variable.shape[0] / rows)  # same fc0(z) despite the fan-in
                plan.append((variable, widened))
            fresh.append(path)
        else:
            wrong.append(f"{path} {tuple(value.shape) if value is not None else 'missing'} -> {tuple(variable.shape)}")
    unused = [f"{p} has no counterpart" for p in theirs if p not in ours and not p.startswith(CONDITIONING)]
    if wrong or unused:
        raise ValueError("the networks differ beyond their conditioning (resolution, widths or layers): "
                         + "; ".join((wrong + unused)[:5]))
    for variable, value in plan:
        variable.assign(value)
    return fresh
