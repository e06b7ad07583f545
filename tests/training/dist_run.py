"""Runs a few tiny training steps with ADA single-device, mirrored on 2 logical CPUs, or as a
MultiWorkerMirrored worker (TF_CONFIG), and saves losses and weights. Used by
test_distributed.py as a subprocess, since devices are fixed at TF start-up."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

mode, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from helpers import tiny_gan  # noqa: E402

from tf_stylegan.data import load  # noqa: E402

if mode == "mirrored":
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
elif mode == "worker":
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
else:
    strategy = tf.distribute.get_strategy()

keras.utils.set_random_seed(0)
with strategy.scope():
    gan = tiny_gan(g_reg_interval=2, d_reg_interval=2, seed=7, augment="ada", ada_p=0.5, ada_interval=2, ada_kimg=0.5)
    gan.compile(g_lr=0.002, d_lr=0.002)


def dataset(ctx):
    ds = load("bundled:emoji64", 8, seed=1, input_context=ctx, labels="none")
    return ds.map(lambda x, y: (tf.nn.avg_pool2d(x, 8, 8, "VALID"), y))


iterator = iter(strategy.distribute_datasets_from_function(dataset))
train = gan.make_train_function()
losses = []
for _ in range(steps):
    logs = train(iterator)
    losses.append([float(logs["loss/G"]), float(logs["loss/D"])])
weights = np.concatenate([v.numpy().ravel() for v in gan.G.trainable_variables + gan.D.trainable_variables])
if mode != "worker" or strategy.cluster_resolver.task_id == 0:
    np.savez(out, losses=np.array(losses), weights=weights, replicas=strategy.num_replicas_in_sync,
             pl_mean=float(gan.pl_mean.numpy()), w_avg=gan.G.mapping.w_avg.numpy(), ada_p=float(gan.ada_p.numpy()))
