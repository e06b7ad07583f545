"""Small, slow, obviously-correct numpy versions of the ops, for tests."""

import numpy as np

SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772

# The activations of tf_stylegan.ops.bias_act, without gain.
ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "lrelu": lambda x, alpha=0.2: np.where(x >= 0, x, alpha * x),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "elu": lambda x: np.where(x >= 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x >= 0, x, SELU_ALPHA * np.expm1(x)),
    "softplus": lambda x: np.logaddexp(x, 0),
    "swish": lambda x: x / (1 + np.exp(-x)),
}


def pad_or_crop(x, x0, x1, y0, y1):
    x = np.pad(x, [(0, 0), (max(y0, 0), max(y1, 0)), (max(x0, 0), max(x1, 0)), (0, 0)])
    h, w = x.shape[1], x.shape[2]
    return x[:, max(-y0, 0) : h - max(-y1, 0), max(-x0, 0) : w - max(-x1, 0), :]


def correlate(x, k):
    """VALID 2-D correlation of every channel of NHWC x with the 2-D kernel k."""
    kh, kw = k.shape
    n, h, w, c = x.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, c), np.float64)
    for a in range(kh):
        for b in range(kw):
            out += x[:, a : a + out.shape[1], b : b + out.shape[2], :] * k[a, b]
    return out


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), flip_filter=False, gain=1.0):
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    y = np.zeros((n, h * up, w * up, c))
    y[:, ::up, ::up, :] = x
    y = pad_or_crop(y, *pad)
    f = np.asarray(f, np.float64)
    k = np.outer(f, f) if f.ndim == 1 else f
    k = k * gain
    if not flip_filter:
        k = k[::-1, ::-1]
    return correlate(y, k)[:, ::down, ::down, :]


def conv2d(x, w):
    """VALID correlation of NHWC x with HWIO w."""
    x = np.asarray(x, np.float64)
    kh, kw, cin, cout = w.shape
    n, h, wd, _ = x.shape
    out = np.zeros((n, h - kh + 1, wd - kw + 1, cout))
    for a in range(kh):
        for b in range(kw):
            patch = x[:, a : a + out.shape[1], b : b + out.shape[2], :]
            out += patch @ w[a, b]
    return out


def lrelu(x, alpha=0.2):
    return np.where(x >= 0, x, x * alpha)


def minibatch_stddev(x, group_size, num_channels):
    """Official grouping: reshape [G, N/G, ...] so sample i sits with i + N/G."""
    n, h, w, c = x.shape
    g = min(group_size, n) if group_size else n
    y = x.reshape(g, n // g, h, w, num_channels, c // num_channels).astype(np.float64)
    y = y - y.mean(axis=0)
    y = np.sqrt((y**2).mean(axis=0) + 1e-8)
    y = y.mean(axis=(1, 2, 4))  # [n/g, F]
    y = np.tile(y[None, :, None, None, :], (g, 1, h, w, 1)).reshape(n, h, w, num_channels)
    return np.concatenate([x, y], axis=-1)
