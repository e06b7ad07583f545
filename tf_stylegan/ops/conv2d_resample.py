"""2-D convolution with optional FIR up/downsampling, as in the official code.

Weights are HWIO ([kh, kw, in/groups, out]). Upsampling follows NVlabs' TF1
`upsample_conv_2d`: a stride-`up` transposed convolution with the spatially
flipped kernel, then the FIR filter; so TF1 weights map 1:1 without a flip.
Downsampling filters first and then runs a strided convolution.
"""

from __future__ import annotations

import tensorflow as tf

from tf_stylegan.ops.upfirdn2d import Padding, _parse_padding, filter_size, upfirdn2d


def _conv(x: tf.Tensor, w: tf.Tensor, stride: int = 1, pad: int = 0) -> tf.Tensor:
    kh, kw = w.shape[0], w.shape[1]
    if pad == 0:
        padding = "VALID"
    elif kh == kw and kh % 2 == 1 and pad == kh // 2 and stride == 1:
        padding = "SAME"
    else:
        padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
    return tf.nn.conv2d(x, w, strides=stride, padding=padding)


def _transposed_filter(w: tf.Tensor, groups: int) -> tf.Tensor:
    """HWIO grouped conv filter -> conv2d_transpose filter, spatially flipped."""
    kh, kw, cin, cout = w.shape
    if groups == 1:  # the cheap special case of the general reshuffle below
        return tf.reverse(tf.transpose(w, [0, 1, 3, 2]), [0, 1])
    w = tf.reshape(w, [kh, kw, cin, groups, cout // groups])
    w = tf.transpose(w[::-1, ::-1], [0, 1, 4, 3, 2])
    return tf.reshape(w, [kh, kw, cout // groups, groups * cin])


def conv2d_resample(
    x: tf.Tensor,
    w: tf.Tensor,
    f=None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    groups: int = 1,
    impl: str = "auto",
) -> tf.Tensor:
    """Convolves NHWC `x` with HWIO `w`, upsampling or downsampling by 2-ish.

    Args:
      x: [N, H, W, groups * in] tensor.
      w: [kh, kw, in, out] filter; `out` is divisible by `groups`.
      f: FIR filter from `setup_filter` (needed when up or down > 1).
      up, down: integer factors (not both > 1).
      padding: padding of the convolution at the input's scale.
      groups: grouped convolution (the fused modulated conv uses N groups).
      impl: upfirdn2d implementation.
    """
    if up > 1 and down > 1:
        raise ValueError("conv2d_resample: up and down cannot both be > 1.")
    kh, kw = int(w.shape[0]), int(w.shape[1])
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = _parse_padding(padding)
    if up > 1:
        px0 += (fw + up - 1) // 2
        px1 += (fw - up) // 2
        py0 += (fh + up - 1) // 2
        py1 += (fh - up) // 2
    if down > 1:
        px0 += (fw - down + 1) // 2
        px1 += (fw - down) // 2
        py0 += (fh - down + 1) // 2
        py1 += (fh - down) // 2

    if kh == 1 and kw == 1 and down > 1:
        x = upfirdn2d(x, f, down=down, padding=[px0, px1, py0, py1], impl=impl)
        return _conv(x, w)
    if kh == 1 and kw == 1 and up > 1:
        x = _conv(x, w)
        return upfirdn2d(x, f, up=up, padding=[px0, px1, py0, py1], gain=up**2, impl=impl)
    if down > 1:
        x = upfirdn2d(x, f, padding=[px0, px1, py0, py1], impl=impl)
        return _conv(x, w, stride=down)
    if up > 1:
        n, h, wd = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        cout = w.shape[3]
        out_shape = tf.stack([n, (h - 1) * up + kh, (wd - 1) * up + kw, cout])
        x = tf.nn.conv2d_transpose(
            x, _transposed_filter(w, groups), out_shape, strides=up, padding="VALID"
        )
        x = tf.ensure_shape(x, [None, None, None, cout])
        pad = [px0 - (kw - 1), px1 - (kw - up), py0 - (kh - 1), py1 - (kh - up)]
        return upfirdn2d(x, f, padding=pad, gain=up**2, impl=impl)
    if px0 == px1 == py0 == py1 and px0 >= 0:
        return _conv(x, w, pad=px0)
    x = upfirdn2d(x, None, padding=[px0, px1, py0, py1], impl=impl)
    return _conv(x, w)
