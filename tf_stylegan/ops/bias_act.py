"""Bias + activation + gain + clamp in one call, as the official `bias_act` op.

Every implementation reads the one table `ACTIVATIONS`. The reference
implementation is pure TF (NHWC, XLA- and TFLite-friendly) and has exact first
and second derivatives through TF's autodiff, which R1 and path-length
regularisation need.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tf_stylegan.ops import _dispatch


@dataclasses.dataclass(frozen=True)
class Activation:
    """One activation: its reference function, default alpha and default gain."""

    func: Callable[[tf.Tensor, float], tf.Tensor]
    def_alpha: float
    def_gain: float


def _lrelu(x: tf.Tensor, alpha: float) -> tf.Tensor:
    return tf.nn.leaky_relu(x, alpha=alpha)


def _elu(x: tf.Tensor, alpha: float) -> tf.Tensor:
    return tf.nn.elu(x)


def _selu(x: tf.Tensor, alpha: float) -> tf.Tensor:
    return tf.nn.selu(x)


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(lambda x, a: x, 0.0, 1.0),
    "relu": Activation(lambda x, a: tf.nn.relu(x), 0.0, float(np.sqrt(2))),
    "lrelu": Activation(_lrelu, 0.2, float(np.sqrt(2))),
    "tanh": Activation(lambda x, a: tf.tanh(x), 0.0, 1.0),
    "sigmoid": Activation(lambda x, a: tf.sigmoid(x), 0.0, 1.0),
    "elu": Activation(_elu, 0.0, 1.0),
    "selu": Activation(_selu, 0.0, 1.0),
    "softplus": Activation(lambda x, a: tf.nn.softplus(x), 0.0, 1.0),
    "swish": Activation(lambda x, a: tf.nn.silu(x), 0.0, float(np.sqrt(2))),
}


def activation_spec(act: str) -> Activation:
    """Looks up `act` in the table, with an error that lists the valid names."""
    try:
        return ACTIVATIONS[act]
    except KeyError:
        raise ValueError(
            f"Unknown activation {act!r}; choose one of {sorted(ACTIVATIONS)}."
        ) from None


def _bias_act_ref(x, b, dim, act, alpha, gain, clamp):
    spec = activation_spec(act)
    if b is not None:
        b = tf.cast(b, x.dtype)
        rank = x.shape.rank
        axis = dim % rank
        shape = [1] * rank
        shape[axis] = -1
        x = x + tf.reshape(b, shape)
    x = spec.func(x, alpha)
    if gain != 1:
        x = x * tf.cast(gain, x.dtype)
    if clamp is not None and clamp >= 0:
        x = tf.clip_by_value(x, -tf.cast(clamp, x.dtype), tf.cast(clamp, x.dtype))
    return x


def bias_act(
    x: tf.Tensor,
    b: tf.Tensor | None = None,
    dim: int = -1,
    act: str = "linear",
    alpha: float | None = None,
    gain: float | None = None,
    clamp: float | None = None,
    impl: str = "auto",
) -> tf.Tensor:
    """Adds bias `b` along axis `dim`, applies `act`, scales by `gain`, clamps.

    Args:
      x: input tensor of any rank (NHWC for images, so `dim=-1` is channels).
      b: 1-D bias whose length equals `x.shape[dim]`, or None.
      dim: the axis of `x` that `b` runs along.
      act: a key of `ACTIVATIONS` ("linear", "lrelu", "relu", ...).
      alpha: the activation's shape parameter (lrelu slope); None = its default.
      gain: output scale; None = the activation's default (sqrt(2) for lrelu).
      clamp: clamp the output to [-clamp, clamp]; None disables it.
      impl: "ref" (pure TF), "custom" (compiled op) or "auto" (custom if loaded).

    Example:
      >>> y = bias_act(tf.ones([2, 4, 4, 3]), tf.zeros([3]), act="lrelu")
    """
    spec = activation_spec(act)
    alpha = float(spec.def_alpha if alpha is None else alpha)
    gain = float(spec.def_gain if gain is None else gain)
    clamp = None if clamp is None else float(clamp)
    x = tf.convert_to_tensor(x)
    if b is not None and x.shape.rank is not None:
        b = tf.convert_to_tensor(b)
        if b.shape.rank != 1 or (
            b.shape[0] is not None
            and x.shape[dim] is not None
            and b.shape[0] != x.shape[dim]
        ):
            raise ValueError(
                f"bias_act: bias shape {b.shape} does not match x.shape[{dim}] "
                f"of x {x.shape}."
            )
    if _dispatch.use_custom("bias_act", impl, x):
        return _dispatch.custom_module().bias_act(
            x, b, dim=dim, act=act, alpha=alpha, gain=gain, clamp=clamp
        )
    return _bias_act_ref(x, b, dim, act, alpha, gain, clamp)
