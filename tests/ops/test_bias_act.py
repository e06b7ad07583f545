import numpy as np
import pytest
import tensorflow as tf
from numpy_ref import ACTIVATIONS as NUMPY_ACTS

from tf_stylegan.ops import ACTIVATIONS, bias_act

DEFAULT_GAIN = {"relu": np.sqrt(2), "lrelu": np.sqrt(2), "swish": np.sqrt(2)}


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_matches_numpy_with_default_gain(act):
    x = np.random.randn(2, 5, 5, 7).astype(np.float32)
    b = np.random.randn(7).astype(np.float32)
    expected = NUMPY_ACTS[act](x + b) * DEFAULT_GAIN.get(act, 1.0)
    got = bias_act(x, b, act=act).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_bias_along_other_dim_alpha_gain_and_clamp():
    x = np.random.randn(3, 4, 6).astype(np.float32) * 5
    b = np.random.randn(4).astype(np.float32)
    got = bias_act(x, b, dim=1, act="lrelu", alpha=0.1, gain=3.0, clamp=2.5).numpy()
    y = x + b[None, :, None]
    expected = np.clip(np.where(y >= 0, y, 0.1 * y) * 3.0, -2.5, 2.5)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert np.abs(got).max() == pytest.approx(2.5)


def test_rejects_bad_bias_and_activation():
    with pytest.raises(ValueError, match="bias shape"):
        bias_act(tf.zeros([2, 3]), tf.zeros([4]))
    with pytest.raises(ValueError, match="Unknown activation"):
        bias_act(tf.zeros([2, 3]), act="gelu2")


@pytest.mark.parametrize("act", ["lrelu", "tanh", "softplus"])
def test_first_and_second_derivatives(act):
    # Keep x away from lrelu's kink, where finite differences are meaningless.
    x = np.random.randn(2, 3, 3, 4)
    x = np.where(np.abs(x) < 0.1, 0.5, x)
    b = np.random.randn(4) * 0.01

    def f(x):
        return bias_act(x, b, act=act, gain=1.3)

    theoretical, numerical = tf.test.compute_gradient(f, [x])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-6)

    def grad_of_sum_sq(x):  # d/dx sum(f(x)^2): its own gradient is a 2nd derivative
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(tf.square(f(x)))
        return tape.gradient(y, x)

    theoretical, numerical = tf.test.compute_gradient(grad_of_sum_sq, [x])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-5)
