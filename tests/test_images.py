"""Image conversions shared by the tools, training and metrics."""

import numpy as np

from tf_stylegan.images import to_uint8


def test_to_uint8_is_the_official_truncation():
    x = np.array([-1.5, -1.0, -0.5, 0.0, 0.001, 0.5, 0.999, 1.0, 2.0], np.float32)
    expected = np.clip(np.floor(x * 127.5 + 128), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(to_uint8(x).numpy(), expected)
    assert to_uint8(np.float32(0.5)).numpy() == 191  # 191.75 truncated; rounding would give 192


def test_to_uint8_inverts_the_pipeline_scaling():
    u = np.arange(256, dtype=np.float32)
    np.testing.assert_array_equal(to_uint8(u / 127.5 - 1.0).numpy(), np.arange(256, dtype=np.uint8))
