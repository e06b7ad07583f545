"""The compiled ops (custom_ops/) against the pure-TF reference: values, first
and second derivatives over randomized shapes, parameters and dtypes; the same
errors for bad input; and the dispatch rules (auto, XLA, exports)."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.ops import ACTIVATIONS, _dispatch, bias_act, override_impl, setup_filter, upfirdn2d

ACT_NAMES = sorted(ACTIVATIONS)


@pytest.fixture(scope="module", autouse=True)
def library(tmp_path_factory):
    """The compiled library: the one `make ops` built, else built here (g++ needed)."""
    if _dispatch.load_library()[0] is None:
        if shutil.which(os.environ.get("CXX", "g++")) is None:
            pytest.skip("no C++ compiler, so the custom ops cannot be built here")
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "build_ops", os.path.join(os.path.dirname(__file__), "..", "..", "custom_ops", "build.py"))
        build = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(build)
        path = build.build(str(tmp_path_factory.mktemp("ops") / "_tf_stylegan_ops.so"), cuda="off")
        os.environ["TF_STYLEGAN_OPS_LIB"] = path
        _dispatch.load_library.cache_clear()
    module, reason = _dispatch.load_library()
    assert module is not None, reason
    return module


def _close(got, want, tol, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, what
    scale = 1.0 + np.abs(want).max(initial=0.0)
    err = np.abs(got - want).max(initial=0.0)
    assert err <= tol * scale, f"{what}: max error {err:.3g} > {tol} * {scale:.3g}"


def _derivatives(fn, inputs, seed):
    """fn(*inputs), its gradient for a random output gradient, and the gradient
    of a weighted square of that first gradient (a second derivative, as R1)."""
    inputs = [tf.convert_to_tensor(v) for v in inputs]
    y = fn(*inputs)
    dy = tf.cast(tf.random.stateless_normal(tf.shape(y), [seed, 1]), y.dtype)
    weights = [tf.cast(tf.random.stateless_uniform(tf.shape(v), [seed, 2 + i]), v.dtype) for i, v in enumerate(inputs)]
    with tf.GradientTape() as outer:
        outer.watch(inputs)
        with tf.GradientTape() as inner:
            inner.watch(inputs)
            y = fn(*inputs)
        first = inner.gradient(y, inputs, output_gradients=dy, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        penalty = tf.add_n([tf.reduce_sum(tf.cast(g * g * w, tf.float32)) for g, w in zip(first, weights)])
    second = outer.gradient(penalty, inputs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [y] + first + second


def _compare(fn_ref, fn_custom, inputs, dtype, seed, labels):
    if dtype == tf.float32:
        want = _derivatives(fn_ref, inputs, seed)
        got = _derivatives(fn_custom, inputs, seed)
        for g, w, label in zip(got, want, labels):
            _close(g, w, 2e-5, f"float32 {label}")
        return
    # bfloat16: the compiled op rounds once, the reference after every op; both
    # must lie within bfloat16 precision of the float32 result on the same inputs.
    low = [tf.cast(v, dtype) for v in inputs]
    truth = _derivatives(fn_ref, [tf.cast(v, tf.float32) for v in low], seed)
    for impl_fn in (fn_custom, fn_ref):
        for g, w, label in zip(_derivatives(impl_fn, low, seed), truth, labels):
            assert g.dtype == dtype
            _close(g, w, 4e-2, f"bfloat16 {label}")


def _bias_act_case(rng):
    rank = int(rng.integers(1, 5))
    shape = [int(rng.integers(1, 7)) for _ in range(rank)]
    dim = int(rng.integers(-rank, rank))
    shape[dim] = int(rng.integers(1, 40))
    act = ACT_NAMES[int(rng.integers(len(ACT_NAMES)))]
    kwargs = dict(
        dim=dim, act=act,
        alpha=float(rng.uniform(0.05, 0.4)) if rng.random() < 0.5 else None,
        gain=float(rng.uniform(0.5, 2.0)) if rng.random() < 0.5 else None,
        clamp=float(rng.uniform(0.5, 2.0)) if rng.random() < 0.4 else None,
    )
    s = rng.standard_normal(shape) * 2
    x = np.where(np.abs(s) < 0.05, 0.7, s).astype(np.float32)  # away from the kinks
    b = (rng.standard_normal(shape[dim]) * 0.01).astype(np.float32) if rng.random() < 0.8 else None
    return x, b, kwargs


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("case", range(12))
def test_bias_act_custom_matches_reference(case, dtype):
    rng = np.random.default_rng(100 + case)
    x, b, kwargs = _bias_act_case(rng)
    if dtype == tf.bfloat16:  # bfloat16 rounding moves values across the clamp (tested in float32)
        kwargs["clamp"] = None
    if b is None:
        def run(impl):
            return lambda x: bias_act(x, None, impl=impl, **kwargs)
        inputs, labels = [x], ["y", "dx", "d2x"]
    else:
        def run(impl):
            return lambda x, b: bias_act(x, b, impl=impl, **kwargs)
        inputs, labels = [x, b], ["y", "dx", "db", "d2x", "d2b"]
    _compare(run("ref"), run("custom"), inputs, dtype, case, [f"{kwargs} {label}" for label in labels])


@pytest.mark.parametrize("act", ACT_NAMES)
def test_bias_act_every_activation_and_its_derivatives(act):
    rng = np.random.default_rng(7)
    x = rng.standard_normal([3, 5, 4, 11]).astype(np.float32) * 2
    b = rng.standard_normal(11).astype(np.float32) * 0.01

    def run(impl):
        return lambda x, b: bias_act(x, b, act=act, clamp=1.7, impl=impl)

    _compare(run("ref"), run("custom"), [x, b], tf.float32, 3, ["y", "dx", "db", "d2x", "d2b"])


def _upfirdn2d_case(rng):
    kind = rng.choice(["none", "separable", "2d"])
    if kind == "none":
        f = None
    elif kind == "separable":
        f = setup_filter(rng.uniform(0.1, 1.0, int(rng.integers(2, 9))), separable=True)
    else:
        f = setup_filter(rng.uniform(0.1, 1.0, (int(rng.integers(1, 5)), int(rng.integers(1, 5)))))
    up = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    down = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    shape = [int(rng.integers(1, 3)), int(rng.integers(3, 10)), int(rng.integers(3, 10)), int(rng.integers(1, 6))]
    fw, fh = (1, 1) if f is None else (f.shape[-1], f.shape[0])
    while True:
        pad = [int(p) for p in rng.integers(-2, 4, 4)]
        if shape[2] * up[0] + pad[0] + pad[1] >= fw and shape[1] * up[1] + pad[2] + pad[3] >= fh:
            break
    kwargs = dict(up=up, down=down, padding=pad, flip_filter=bool(rng.random() < 0.5),
                  gain=float(rng.uniform(0.5, 4.0)))
    return rng.standard_normal(shape).astype(np.float32), f, kwargs


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("case", range(14))
def test_upfirdn2d_custom_matches_reference(case, dtype):
    rng = np.random.default_rng(200 + case)
    x, f, kwargs = _upfirdn2d_case(rng)

    def run(impl):
        return lambda x: upfirdn2d(x, f, impl=impl, **kwargs)

    labels = [f"{kwargs} f={None if f is None else f.shape} {label}" for label in ("y", "dx", "d2x")]
    _compare(run("ref"), run("custom"), [x], dtype, case, labels)


def test_generator_resampling_calls_match_exactly():
    """The calls a generator makes (4x4 [1,3,3,1] filter, up 2, down 2) agree to float32 rounding."""
    x = tf.random.stateless_normal([2, 16, 16, 8], [1, 2])
    f = setup_filter([1, 3, 3, 1])
    for kwargs in (dict(padding=[1, 2, 1, 2]), dict(up=2, padding=[2, 1, 2, 1], gain=4), dict(down=2, padding=1)):
        ref = upfirdn2d(x, f, impl="ref", **kwargs)
        np.testing.assert_allclose(upfirdn2d(x, f, impl="custom", **kwargs), ref, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ bad input
BAD_UPFIRDN2D = [
    (lambda impl: upfirdn2d(tf.zeros([2, 3, 4]), None, impl=impl), ValueError, "expects NHWC"),
    (lambda impl: upfirdn2d(tf.zeros([1, 4, 4, 1]), np.ones([2, 2, 2]), impl=impl), ValueError, "1-D or 2-D"),
    (lambda impl: upfirdn2d(tf.zeros([1, 4, 4, 1]), np.ones([0]), impl=impl), ValueError, "1-D or 2-D"),
    (lambda impl: upfirdn2d(tf.zeros([1, 4, 4, 1]), setup_filter([1, 3, 3, 1]), padding=-2, impl=impl),
     ValueError, "reduce the negative padding"),
    (lambda impl: upfirdn2d(tf.zeros([1, 4, 4, 1], tf.int32), None, impl=impl), TypeError, "unsupported dtype int32"),
    (lambda impl: upfirdn2d(tf.zeros([1, 4, 4, 1]), None, up=0, impl=impl), ValueError, "factors must be >= 1"),
    (lambda impl: bias_act(tf.zeros([2, 3]), tf.zeros([4]), impl=impl), ValueError, "bias shape"),
    (lambda impl: bias_act(tf.zeros([2, 3]), tf.zeros([3]), dim=2, impl=impl), ValueError, "out of range"),
    (lambda impl: bias_act(tf.zeros([2, 3], tf.int32), impl=impl), TypeError, "unsupported dtype int32"),
    (lambda impl: bias_act(tf.zeros([2, 3]), act="gelu2", impl=impl), ValueError, "Unknown activation"),
]


@pytest.mark.parametrize("impl", ["ref", "custom"])
@pytest.mark.parametrize("index", range(len(BAD_UPFIRDN2D)))
def test_bad_input_gives_the_same_error_from_both(index, impl):
    call, error, message = BAD_UPFIRDN2D[index]
    with pytest.raises(error, match=message):
        call(impl)


def test_kernels_check_shapes_known_only_at_run_time(library):
    """Shapes the Python wrapper cannot see are checked by the kernels, with the same words."""
    with pytest.raises(tf.errors.InvalidArgumentError, match="reduce the negative padding"):
        library.tf_stylegan_upfirdn2d(tf.zeros([1, 3, 3, 1]), tf.ones([4, 4]), padx0=-1, padx1=-1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="does not match"):
        library.tf_stylegan_bias_act(tf.zeros([2, 3]), tf.zeros([4]), tf.zeros([0]), tf.zeros([0]), dim=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="unknown activation"):
        library.tf_stylegan_bias_act(tf.zeros([2]), tf.zeros([0]), tf.zeros([0]), tf.zeros([0]), act="gelu2")


# ------------------------------------------------------------------- dispatch
def _op_types(fn, *specs, **function_kwargs):
    graph = tf.function(fn, **function_kwargs).get_concrete_function(*specs).graph
    return {op.type for op in graph.get_operations()}


SPEC = tf.TensorSpec([2, 8, 8, 4], tf.float32)
F4 = setup_filter([1, 3, 3, 1])


def test_auto_uses_the_compiled_ops_where_measured_faster():
    types = _op_types(lambda x: bias_act(upfirdn2d(x, F4, down=2, padding=1), tf.zeros([4]), act="lrelu"), SPEC)
    assert ("TfStyleganUpfirdn2d" in types) == _dispatch.AUTO_ON_CPU["upfirdn2d"]
    assert ("TfStyleganBiasAct" in types) == _dispatch.AUTO_ON_CPU["bias_act"]


def test_auto_filters_without_resampling_by_the_reference_on_cpu():
    # Measured: oneDNN's depthwise convolution beats the compiled op on a plain filter,
    # and the compiled op wins wherever the call up- or downsamples.
    assert "TfStyleganUpfirdn2d" not in _op_types(lambda x: upfirdn2d(x, F4, padding=2), SPEC)
    assert "TfStyleganUpfirdn2d" in _op_types(lambda x: upfirdn2d(x, F4, up=2, padding=2), SPEC)
    assert "TfStyleganUpfirdn2d" in _op_types(lambda x: upfirdn2d(x, F4, padding=2, impl="custom"), SPEC)


def test_override_impl_ref_keeps_custom_ops_out_of_the_graph():
    with override_impl("ref"):
        types = _op_types(lambda x: bias_act(upfirdn2d(x, F4, impl="custom"), impl="custom"), SPEC)
    assert not any(t.startswith("TfStylegan") for t in types)


def test_xla_gets_the_reference_and_custom_says_why():
    types = _op_types(lambda x: upfirdn2d(x, F4, down=2, padding=1), SPEC, jit_compile=True)
    assert "TfStyleganUpfirdn2d" not in types
    with pytest.raises(RuntimeError, match="XLA"):
        _op_types(lambda x: upfirdn2d(x, F4, impl="custom"), SPEC, jit_compile=True)


def test_dynamic_spatial_size_falls_back():
    spec = tf.TensorSpec([None, None, None, 4], tf.float32)
    assert "TfStyleganUpfirdn2d" not in _op_types(lambda x: upfirdn2d(x, F4, padding=1), spec)
    with pytest.raises(RuntimeError, match="spatial size is not static"):
        _op_types(lambda x: upfirdn2d(x, F4, impl="custom"), spec)


def test_custom_fails_loudly_when_the_library_is_missing(monkeypatch):
    monkeypatch.setattr(_dispatch, "load_library", lambda: (None, "the custom ops are not built (run `make ops`)"))
    with pytest.raises(RuntimeError, match="unavailable: the custom ops are not built"):
        upfirdn2d(tf.zeros([1, 4, 4, 1]), None, impl="custom")
    # auto falls back (with a one-time warning) and still computes the right thing
    np.testing.assert_array_equal(upfirdn2d(tf.ones([1, 4, 4, 1]), None, impl="auto"), np.ones([1, 4, 4, 1]))


def test_networks_agree_including_r1_and_path_length_gradients():
    """A whole G and D under impl=custom vs impl=ref: images, D scores, and the
    second-order weight gradients of the training's R1 and path-length penalties."""
    from tf_stylegan.networks import Discriminator, Generator
    from tf_stylegan.training import losses

    small = dict(img_resolution=16, channel_base=256, channel_max=16)
    G = Generator(z_dim=8, w_dim=8, mapping_layers=1, **small)
    D = Discriminator(mbstd_group_size=2, **small)
    z = tf.random.stateless_normal([2, 8], [3, 4])
    img = tf.random.stateless_normal([2, 16, 16, 3], [5, 6])
    pl_noise = tf.random.stateless_normal([2, 16, 16, 3], [7, 8])
    G(z, None)
    D(img, None)

    def run(impl):
        with override_impl(impl):
            with tf.GradientTape() as tape:
                r1, scores = losses.r1_penalty(D, img, None)
                r1 = tf.reduce_sum(r1)
            d_grads = tape.gradient(r1, D.trainable_weights)
            ws = G.mapping(z, None)
            with tf.GradientTape() as tape:
                pl = tf.reduce_sum(losses.path_lengths(G.synthesis, ws, pl_noise, tf.constant([1, 2])))
            g_grads = tape.gradient(pl, G.synthesis.trainable_weights)
            images = G.synthesis(ws, noise_mode="const")
        return [images, scores, r1, pl] + d_grads + g_grads

    custom, ref = run("custom"), run("ref")
    assert sum(w is not None for w in ref) > 20
    for got, want in zip(custom, ref):
        # None = no dependence; lrelu's second derivative is zero, which the
        # reference spells as a zero tensor and the compiled op's gradient as None.
        if want is None and got is None:
            continue
        if want is None or got is None:
            assert np.all(np.asarray(want if got is None else got) == 0)
        else:
            _close(got, want, 1e-4, "network")
