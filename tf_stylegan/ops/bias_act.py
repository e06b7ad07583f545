"""Bias + activation + gain + clamp in one call, as the official `bias_act` op.

Every implementation reads the one table `ACTIVATIONS`. The reference
implementation is pure TF (NHWC, XLA- and TFLite-friendly) and has exact first
and second derivatives through TF's autodiff, which R1 and path-length
regularisation need. The compiled op (custom_ops/bias_act.cc) computes the
forward pass and both derivatives in one pass over memory each; its gradients
are registered below, the first derivative as the op itself with grad=1 and
its derivative as grad=2.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tf_stylegan.ops import _dispatch


@dataclasses.dataclass(frozen=True)
class Activation:
    """One activation: its reference function, default alpha and gain, and
    whether its second derivative is non-zero (piecewise-linear ones have none)."""

    func: Callable[[tf.Tensor, float], tf.Tensor]
    def_alpha: float
    def_gain: float
    has_2nd_grad: bool


def _lrelu(x: tf.Tensor, alpha: float) -> tf.Tensor:
    return tf.nn.leaky_relu(x, alpha=alpha)


def _elu(x: tf.Tensor, alpha: float) -> tf.Tensor:
    return tf.nn.elu(x)


def _selu(x: tf.Tensor, alpha: float) -> tf.Tensor:
    return tf.nn.selu(x)


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(lambda x, a: x, 0.0, 1.0, False),
    "relu": Activation(lambda x, a: tf.nn.relu(x), 0.0, float(np.sqrt(2)), False),
    "lrelu": Activation(_lrelu, 0.2, float(np.sqrt(2)), False),
    "tanh": Activation(lambda x, a: tf.tanh(x), 0.0, 1.0, True),
    "sigmoid": Activation(lambda x, a: tf.sigmoid(x), 0.0, 1.0, True),
    "elu": Activation(_elu, 0.0, 1.0, True),
    "selu": Activation(_selu, 0.0, 1.0, True),
    "softplus": Activation(lambda x, a: tf.nn.softplus(x), 0.0, 1.0, True),
    "swish": Activation(lambda x, a: tf.nn.silu(x), 0.0, float(np.sqrt(2)), True),
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


def _bias_axes(rank: int, dim: int) -> list[int]:
    return [i for i in range(rank) if i != dim]


def _bias_act_custom(x, b, dim, act, alpha, gain, clamp):
    empty = tf.zeros([0], x.dtype)
    b = empty if b is None else tf.cast(b, x.dtype)
    clamp = -1.0 if clamp is None or clamp < 0 else clamp
    return _dispatch.custom_module().tf_stylegan_bias_act(
        x, b, empty, empty, grad=0, act=act, alpha=alpha, gain=gain, clamp=clamp,
        dim=dim % x.shape.rank,
    )


@tf.RegisterGradient("TfStyleganBiasAct")
def _bias_act_custom_grad(op, upstream):
    """grad 0 -> its derivative is grad 1; grad 1 -> grad 1 (w.r.t. the incoming
    gradient) and grad 2 (w.r.t. the forward input and bias)."""
    x, b, ref, _ = op.inputs
    attrs = {k: op.get_attr(k) for k in ("act", "alpha", "gain", "clamp", "dim")}
    call = functools.partial(_dispatch.custom_module().tf_stylegan_bias_act, **attrs)
    empty = tf.zeros([0], x.dtype)
    axes = _bias_axes(x.shape.rank, attrs["dim"])
    has_bias = b.shape[0] != 0
    grad = op.get_attr("grad")
    if grad == 0:
        dx = call(upstream, b, x, empty, grad=1)
        return dx, tf.reduce_sum(dx, axes) if has_bias else None, None, None
    if grad == 1:  # op = x * act'(ref + b)
        d_x = call(upstream, b, ref, empty, grad=1)
        act = attrs["act"].decode() if isinstance(attrs["act"], bytes) else attrs["act"]
        if not activation_spec(act).has_2nd_grad:
            return d_x, None, None, None
        d_ref = call(upstream, b, ref, x, grad=2)
        return d_x, tf.reduce_sum(d_ref, axes) if has_bias else None, d_ref, None
    raise NotImplementedError(
        "bias_act: third derivatives of the compiled op are not implemented; use impl='ref'."
    )


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
      impl: "ref" (pure TF), "custom" (compiled op) or "auto" (the faster one
        that is available; see tf_stylegan.ops._dispatch).

    Example:
      >>> y = bias_act(tf.ones([2, 4, 4, 3]), tf.zeros([3]), act="lrelu")
    """
    spec = activation_spec(act)
    alpha = float(spec.def_alpha if alpha is None else alpha)
    gain = float(spec.def_gain if gain is None else gain)
    clamp = None if clamp is None else float(clamp)
    x = tf.convert_to_tensor(x)
    _dispatch.check_dtype("bias_act", x)
    if b is not None and x.shape.rank is not None:
        if not -x.shape.rank <= dim < x.shape.rank:
            raise ValueError(f"bias_act: dim {dim} is out of range for x of rank {x.shape.rank}.")
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
    unsupported = "the rank of x is not static" if x.shape.rank is None else None
    if _dispatch.use_custom("bias_act", impl, unsupported):
        return _bias_act_custom(x, b, dim, act, alpha, gain, clamp)
    return _bias_act_ref(x, b, dim, act, alpha, gain, clamp)
