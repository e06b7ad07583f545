"""Mirrored (2 logical CPUs) and multi-worker (2 processes on 127.0.0.1) training agree
with one device given the same global batch and seed, with ADA on: its coins and transforms
are global-batch draws too, so augmented training covers the plain step and the augment pipe.

Every random draw and every minibatch-stddev group is the same in all three
runs (see tf_stylegan.ops.random and tf_stylegan.data.load), so they differ
only in the order of floating-point sums: each replica sums half the batch and
the all-reduce adds the halves, about 1e-7 relative per sum. Measured after 4 steps
(steps 0 and 2 run both regularisers, and ADA's p moves from 0.5 to 0.436; each
distinct phase costs a trace of 10-50 s, so the test keeps to two): losses agree to 1.5e-7 relative and weights to
5.4e-7 absolute (median 0). We allow 1e-5 relative on the losses and 1e-5 absolute
on the weights: 10-100x the measured error, and far below what one different
random draw or mbstd grouping would cause (O(1e-1)).
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "dist_run.py")
STEPS = 4


def run(mode, out, env=None):
    return subprocess.Popen([sys.executable, SCRIPT, mode, str(out), str(STEPS)], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc):
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "single.npz"
    finish(run("single", out))
    return np.load(out)


def assert_agrees(result, single, replicas):
    assert int(result["replicas"]) == replicas
    np.testing.assert_allclose(result["losses"], single["losses"], rtol=1e-5)
    np.testing.assert_allclose(result["weights"], single["weights"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(result["pl_mean"], single["pl_mean"], rtol=1e-5)
    np.testing.assert_allclose(result["w_avg"], single["w_avg"], rtol=1e-5, atol=1e-6)
    assert float(result["ada_p"]) == pytest.approx(float(single["ada_p"])) and float(single["ada_p"]) != 0.5


def test_mirrored_on_two_logical_cpus(single, tmp_path):
    out = tmp_path / "mirrored.npz"
    finish(run("mirrored", out))
    assert_agrees(np.load(out), single, replicas=2)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_on_localhost(single, tmp_path):
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    out = tmp_path / "workers.npz"
    procs = [
        run("worker", out, {"TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                     "task": {"type": "worker", "index": i}})})
        for i in range(2)
    ]
    for p in procs:
        finish(p)
    assert_agrees(np.load(out), single, replicas=2)
