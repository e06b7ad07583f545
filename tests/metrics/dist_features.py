"""Inception features on one device and mirrored over 2 logical CPUs (a subprocess of test_suite.py)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tf_stylegan.data.bundled import load_arrays  # noqa: E402
from tf_stylegan.metrics import inception  # noqa: E402
from tf_stylegan.metrics.features import FeatureExtractor  # noqa: E402

weights, out = sys.argv[1], sys.argv[2]
images = load_arrays("emoji64", "none")[0][:7]  # odd count: uneven replica slices
single = FeatureExtractor(inception.load(weights))(images)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    mirrored = FeatureExtractor(inception.load(weights), strategy)(images)
np.savez(out, single=single, mirrored=mirrored, replicas=strategy.num_replicas_in_sync)
