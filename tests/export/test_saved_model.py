"""The SavedModel contract TF Serving relies on: signature names, dtypes, shapes and values."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.export import export_saved_model
from tf_stylegan.images import to_uint8
from tf_stylegan.networks import Generator


@pytest.fixture(scope="module", params=[0, 3], ids=["unconditional", "conditional"])
def exported(request, tmp_path_factory):
    G = Generator(z_dim=16, w_dim=16, c_dim=request.param, img_resolution=16, mapping_layers=2, channel_base=256,
                  channel_max=32, noise_seed=0)
    path = str(tmp_path_factory.mktemp("sm") / "model" / "1")
    export_saved_model(G, path)
    return G, path


def test_holds_no_custom_ops(exported):
    """Servers load it without our compiled library, even when auto uses it in Python."""
    from tensorflow.core.protobuf import saved_model_pb2

    from tf_stylegan.ops import _dispatch

    assert _dispatch.load_library()[0] is not None, "build the ops (make ops) so that this test means something"
    proto = saved_model_pb2.SavedModel()
    with open(f"{exported[1]}/saved_model.pb", "rb") as fh:
        proto.ParseFromString(fh.read())
    graph = proto.meta_graphs[0].graph_def
    op_types = {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
    assert "DepthwiseConv2dNative" in op_types  # the reference resampling filter
    assert not any(t.startswith("TfStylegan") for t in op_types)


def test_every_signature_matches_keras(exported):
    G, path = exported
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"serving_default", "mapping", "synthesis"}
    z = np.random.RandomState(0).standard_normal([5, 16]).astype(np.float32)
    c = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]] if G.c_dim else None
    kw = {"z": tf.constant(z), "truncation_psi": tf.constant(0.7)}
    if G.c_dim:
        kw["c"] = tf.constant(c)
    images = loaded.signatures["serving_default"](**kw)["images"]
    assert images.dtype == tf.uint8 and images.shape == (5, 16, 16, 3)
    expected = to_uint8(G(z, c, truncation_psi=0.7, noise_mode="const")).numpy()
    assert np.abs(images.numpy().astype(int) - expected.astype(int)).max() <= 1
    ws = loaded.signatures["mapping"](**kw)["ws"]
    np.testing.assert_allclose(ws.numpy(), G.mapping(z, c, truncation_psi=0.7).numpy(), atol=1e-5)
    again = loaded.signatures["synthesis"](ws=ws)["images"]
    np.testing.assert_array_equal(again.numpy(), images.numpy())


def test_dynamic_batch_and_wrong_shapes(exported):
    G, path = exported
    sig = tf.saved_model.load(path).signatures["mapping"]
    for n in (1, 7):
        kw = {"z": tf.zeros([n, 16]), "truncation_psi": tf.constant(1.0)}
        if G.c_dim:
            kw["c"] = tf.zeros([n, 3])
        assert sig(**kw)["ws"].shape == (n, G.num_ws, 16)
    bad = {"z": tf.zeros([2, 15]), "truncation_psi": tf.constant(1.0)}
    if G.c_dim:
        bad["c"] = tf.zeros([2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"z must have shape \[N, 16\]"):
        sig(**bad)
    if G.c_dim:
        with pytest.raises(tf.errors.InvalidArgumentError, match="same batch"):
            sig(z=tf.zeros([2, 16]), c=tf.zeros([3, 3]), truncation_psi=tf.constant(1.0))


def test_saved_model_cli_shows_the_serving_contract(exported):
    G, path = exported
    cli = [sys.executable, "-c", "from tensorflow.python.tools.saved_model_cli import main; main()"]
    out = subprocess.run(cli + ["show", "--dir", path, "--all"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for name in ("serving_default", "mapping", "synthesis"):
        assert f"signature_def['{name}']" in text
    assert "dtype: DT_UINT8" in text and "shape: (-1, 16, 16, 3)" in text
    assert "shape: (-1, 16)" in text  # z, dynamic batch
    assert ("shape: (-1, 3)" in text) == bool(G.c_dim)


def _serve(loaded, signature_name, inputs):
    """What TF Serving does with a request: named input tensors -> the signature -> named outputs."""
    fn = loaded.signatures[signature_name]
    return {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


def test_grpc_predict_request_round_trip(exported):
    from tensorflow_serving.apis import predict_pb2

    G, path = exported
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "emoji"
    request.model_spec.signature_name = "serving_default"
    z = np.random.RandomState(3).standard_normal([2, 16]).astype(np.float32)
    request.inputs["z"].CopyFrom(tf.make_tensor_proto(z))
    request.inputs["truncation_psi"].CopyFrom(tf.make_tensor_proto(0.5, dtype=tf.float32))
    if G.c_dim:
        request.inputs["c"].CopyFrom(tf.make_tensor_proto(np.eye(3, dtype=np.float32)[:2]))
    wire = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    inputs = {k: tf.make_ndarray(v) for k, v in wire.inputs.items()}
    response = predict_pb2.PredictResponse()
    for name, value in _serve(tf.saved_model.load(path), wire.model_spec.signature_name, inputs).items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
    images = tf.make_ndarray(response.outputs["images"])
    assert images.dtype == np.uint8 and images.shape == (2, 16, 16, 3)


def test_rest_columnar_request(exported):
    import json

    G, path = exported
    body = {"signature_name": "mapping", "inputs": {"z": np.zeros([1, 16]).tolist(), "truncation_psi": 1.0}}
    if G.c_dim:
        body["inputs"]["c"] = [[0.0, 1.0, 0.0]]
    parsed = json.loads(json.dumps(body))
    inputs = {k: np.asarray(v, np.float32) for k, v in parsed["inputs"].items()}
    out = _serve(tf.saved_model.load(path), parsed["signature_name"], inputs)
    assert json.loads(json.dumps({"outputs": {k: v.tolist() for k, v in out.items()}}))["outputs"]["ws"]


@pytest.mark.parametrize("signature", ["serving_default", "mapping"])
def test_bad_requests_are_invalid_argument(exported, signature):
    G, path = exported
    sig = tf.saved_model.load(path).signatures[signature]

    def call(z, psi=1.0, n=None):
        kw = {"z": tf.constant(z, tf.float32), "truncation_psi": tf.constant(psi, tf.float32)}
        if G.c_dim:
            kw["c"] = tf.zeros([len(z) if n is None else n, 3])
        return sig(**kw)

    z = np.zeros([2, 16], np.float32)
    for bad, message in [(np.full([2, 16], np.nan), "z holds NaN or Inf"), (np.full([2, 16], np.inf), "z holds NaN"),
                         (np.zeros([0, 16]), r"z: the batch is empty"), (np.zeros([2, 2, 16]), r"z must have shape")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            call(bad)
    for psi, message in [(float("nan"), "truncation_psi holds NaN"), (np.ones([64]), "scalar or have shape \\[N\\]"),
                         (np.ones([2, 1]), "scalar or have shape \\[N\\]")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            call(z, psi)


def test_psi_per_sample(exported):
    G, path = exported
    sig = tf.saved_model.load(path).signatures["mapping"]
    z = np.random.RandomState(1).standard_normal([2, 16]).astype(np.float32)
    c = np.eye(3, dtype=np.float32)[:2] if G.c_dim else None
    kw = {"z": tf.constant(z), "truncation_psi": tf.constant([0.5, 1.0])}
    if G.c_dim:
        kw["c"] = tf.constant(c)
    ws = sig(**kw)["ws"].numpy()
    np.testing.assert_allclose(ws[0], G.mapping(z[:1], None if c is None else c[:1], truncation_psi=0.5)[0], atol=1e-5)
    np.testing.assert_allclose(ws[1], G.mapping(z[1:], None if c is None else c[1:])[0], atol=1e-5)


def test_nan_ws_to_synthesis(exported):
    G, path = exported
    sig = tf.saved_model.load(path).signatures["synthesis"]
    ws = np.zeros([1, G.num_ws, 16], np.float32)
    ws[0, 0, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="ws holds NaN or Inf"):
        sig(ws=tf.constant(ws))


def test_bf16_saved_model_keeps_its_bfloat16_graph_and_the_picture(tmp_path):
    from tensorflow.core.protobuf import saved_model_pb2

    G = Generator(z_dim=16, w_dim=16, img_resolution=32, mapping_layers=2, channel_base=512, channel_max=32,
                  noise_seed=0)
    path = export_saved_model(G, str(tmp_path / "bf16" / "1"), precision="bf16")
    proto = saved_model_pb2.SavedModel()
    with open(f"{path}/saved_model.pb", "rb") as fh:
        proto.ParseFromString(fh.read())
    graph = proto.meta_graphs[0].graph_def
    nodes = [n for f in graph.library.function for n in f.node_def]
    assert any(n.op == "Conv2D" and n.attr["T"].type == tf.bfloat16 for n in nodes)  # the convs run in bf16
    z = np.random.RandomState(0).standard_normal([8, 16]).astype(np.float32)
    served = tf.saved_model.load(path).signatures["serving_default"]
    images = served(z=tf.constant(z), truncation_psi=tf.constant(1.0))["images"].numpy().astype(np.float64)
    exact = to_uint8(G(z, noise_mode="const")).numpy().astype(np.float64)
    psnr = 10 * np.log10(255.0**2 / np.mean((images - exact) ** 2))
    assert psnr >= 40, psnr
    with pytest.raises(ValueError, match="precision must be fp32 or bf16"):
        export_saved_model(G, str(tmp_path / "x"), precision="fp16")
