"""Inference-only generator graphs with the weights folded in as constants.

In a graph that reads variables, every call redoes the weight-only work of
each layer: the bf16 cast, the demodulation sums, the flip/transpose of the
upsampling kernels. That costs as much as the convolutions themselves at
batch 1. Freezing the weights into the graph lets TF's optimiser fold all of
it once, so a call runs only the activation-side work. The result is exact
(same ops, same order); it is for generation, not training.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)

from tf_stylegan.networks.generator import Generator


def frozen_generator(
    G: Generator,
    batch_size: int | None = None,
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    fused_modconv: bool | None = None,
) -> Callable[..., tf.Tensor]:
    """Returns f(z[, c]) -> images [N, R, R, C] float32 with G's weights frozen.

    Args:
      G: the generator; later changes to its weights are not seen by `f`.
      batch_size: static batch size (None = any; static lets fused modconv run).
      truncation_psi, truncation_cutoff, noise_mode, fused_modconv: as in `G.call`.
        noise_mode "random" is not allowed: a frozen graph cannot advance the
        noise generator's state.
    """
    if noise_mode == "random":
        raise ValueError("frozen_generator: noise_mode 'random' needs a live generator; use 'const' or 'none'.")
    specs = [tf.TensorSpec([batch_size, G.z_dim], tf.float32, name="z")]
    if G.c_dim > 0:
        specs.append(tf.TensorSpec([batch_size, G.c_dim], tf.float32, name="c"))

    def generate(z, c=None):
        return G(
            z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
            noise_mode=noise_mode, fused_modconv=fused_modconv,
        )

    concrete = tf.function(generate).get_concrete_function(*specs)
    frozen = convert_variables_to_constants_v2(concrete)

    def call(z, c=None):
        args = [tf.convert_to_tensor(z, tf.float32)]
        if G.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is conditional (c_dim={G.c_dim}); pass c.")
            args.append(tf.convert_to_tensor(c, tf.float32))
        out = frozen(*args)
        return out[0] if isinstance(out, (list, tuple)) else out

    return call
