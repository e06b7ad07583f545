// TfStyleganBiasAct: fused bias + activation + gain + clamp, and its first and
// second derivatives (see bias_act.h), with a threaded, vectorisable CPU
// kernel and, when built with CUDA, the kernel of bias_act.cu.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "bias_act.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"
#include "tf_kernel_util.h"

namespace tf_stylegan {

REGISTER_OP("TfStyleganBiasAct")
    .Input("x: T")
    .Input("b: T")
    .Input("ref: T")
    .Input("dy: T")
    .Output("y: T")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("grad: int = 0")
    .Attr("act: string = 'linear'")
    .Attr("alpha: float = 0.0")
    .Attr("gain: float = 1.0")
    .Attr("clamp: float = -1.0")
    .Attr("dim: int = 0")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle unused;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 1, &unused));
      c->set_output(0, c->input(0));
      return absl::OkStatus();
    })
    .Doc("Fused bias + activation (grad 0) or its first (1) or second (2) derivative.");

// Reports how the library was built, so that Python can tell CPU-only builds.
REGISTER_OP("TfStyleganOpsInfo").Output("info: string").SetIsStateful().SetShapeFn(
    tensorflow::shape_inference::ScalarShape);

class OpsInfoOp : public OpKernel {
 public:
  explicit OpsInfoOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}
  void Compute(OpKernelContext* ctx) override {
    Tensor* out = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({}), &out));
#if GOOGLE_CUDA
    out->scalar<tensorflow::tstring>()() = "cpu,cuda";
#else
    out->scalar<tensorflow::tstring>()() = "cpu";
#endif
  }
};
REGISTER_KERNEL_BUILDER(Name("TfStyleganOpsInfo").Device(DEVICE_CPU), OpsInfoOp);

namespace {

// Accumulation type: double for double, float for everything else.
// Elements per work unit along the channel axis: whole rows, at least 256.
inline int64_t BiasChunk(int64_t channels) {
  return channels * std::max<int64_t>(1, (256 + channels - 1) / channels);
}

template <typename T, Act A, int G>
void BiasActRange(const BiasActParams& p, const T* x, const T* b, const T* ref, const T* dy,
                  T* y, int64_t begin, int64_t end) {
  using S = Acc<T>;
  const S alpha = p.alpha, gain = p.gain, clamp = p.clamp;
  // Only the inputs the mode needs are read, so the loops stay branch-free.
  auto ref_at = [ref](int64_t i) {
    if constexpr (G >= 1) return S(ref[i]);
    else return S(0);
  };
  auto dy_at = [dy](int64_t i) {
    if constexpr (G == 2) return S(dy[i]);
    else return S(0);
  };
  if (p.channels == 0) {  // units are elements
    for (int64_t i = begin; i < end; ++i)
      y[i] = static_cast<T>(
          BiasActElement<A, G, S>(S(x[i]), ref_at(i), dy_at(i), S(0), alpha, gain, clamp));
  } else if (p.inner == 1) {
    // Units are chunks of kChunk(C) elements, a whole number of bias periods,
    // with the bias tiled once to the chunk's length: a flat loop the compiler
    // vectorises whatever the channel count (3 for RGB, 512 for features).
    const int64_t chunk = BiasChunk(p.channels);
    std::vector<S> tiled(chunk);
    for (int64_t j = 0; j < chunk; ++j) tiled[j] = S(b[j % p.channels]);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r * chunk, len = std::min(chunk, p.size - o);
      for (int64_t j = 0; j < len; ++j)
        y[o + j] = static_cast<T>(BiasActElement<A, G, S>(
            S(x[o + j]), ref_at(o + j), dy_at(o + j), tiled[j], alpha, gain, clamp));
    }
  } else {  // units are runs of `inner` elements that share one bias
    for (int64_t r = begin; r < end; ++r) {
      const S bias = S(b[r % p.channels]);
      const int64_t o = r * p.inner;
      for (int64_t j = 0; j < p.inner; ++j)
        y[o + j] = static_cast<T>(BiasActElement<A, G, S>(
            S(x[o + j]), ref_at(o + j), dy_at(o + j), bias, alpha, gain, clamp));
    }
  }
}

template <typename T, int G>
void BiasActRangeForAct(const BiasActParams& p, const T* x, const T* b, const T* ref,
                        const T* dy, T* y, int64_t begin, int64_t end) {
  WithAct(p.act, [&](auto act) {
    BiasActRange<T, decltype(act)::value, G>(p, x, b, ref, dy, y, begin, end);
  });
}

}  // namespace

template <typename T>
void RunBiasActCpu(OpKernelContext* ctx, const BiasActParams& p, const T* x, const T* b,
                   const T* ref, const T* dy, T* y) {
  int64_t units, unit_len;
  if (p.channels == 0) {
    units = p.size;
    unit_len = 1;
  } else if (p.inner == 1) {
    unit_len = BiasChunk(p.channels);
    units = (p.size + unit_len - 1) / unit_len;
  } else {
    units = p.size / p.inner;
    unit_len = p.inner;
  }
  auto work = [&](int64_t begin, int64_t end) {
    if (p.grad == 0) BiasActRangeForAct<T, 0>(p, x, b, ref, dy, y, begin, end);
    else if (p.grad == 1) BiasActRangeForAct<T, 1>(p, x, b, ref, dy, y, begin, end);
    else BiasActRangeForAct<T, 2>(p, x, b, ref, dy, y, begin, end);
  };
  // About 5 cycles per element for the cheap activations; shards stay >= ~16k elements.
  const int64_t cost = std::max<int64_t>(1, unit_len * 5);
  auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
  tensorflow::Shard(workers->num_threads, workers->workers, units, cost, work);
}

#if GOOGLE_CUDA
// In bias_act.cu; `dtype` is a CudaDtype (bias_act.h). Returns a CUDA error message or null.
const char* LaunchBiasActCuda(const BiasActParams& p, int dtype, const void* x, const void* b,
                              const void* ref, const void* dy, void* y, void* stream);
#endif

// Runs the op on Device; the CPU version is RunBiasActCpu, the GPU one bias_act.cu.
template <typename Device>
struct Launcher;

template <>
struct Launcher<Eigen::ThreadPoolDevice> {
  template <typename T>
  static void Run(OpKernelContext* ctx, const BiasActParams& p, const T* x, const T* b,
                  const T* ref, const T* dy, T* y) {
    RunBiasActCpu(ctx, p, x, b, ref, dy, y);
  }
};

#if GOOGLE_CUDA
template <>
struct Launcher<Eigen::GpuDevice> {
  template <typename T>
  static void Run(OpKernelContext* ctx, const BiasActParams& p, const T* x, const T* b,
                  const T* ref, const T* dy, T* y) {
    void* stream = reinterpret_cast<void*>(ctx->eigen_device<Eigen::GpuDevice>().stream());
    const char* error = LaunchBiasActCuda(p, CudaDtypeOf<T>(), x, b, ref, dy, y, stream);
    OP_REQUIRES(ctx, error == nullptr,
                tensorflow::errors::Internal("bias_act CUDA launch failed: ", error));
  }
};
#endif

template <typename Device, typename T>
class BiasActOp : public OpKernel {
 public:
  explicit BiasActOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    std::string act;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("act", &act));
    OP_REQUIRES(ctx, ParseAct(act.c_str(), &act_),
                InvalidArgument("bias_act: unknown activation '", act, "'."));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("grad", &grad_));
    OP_REQUIRES(ctx, grad_ >= 0 && grad_ <= 2,
                InvalidArgument("bias_act: grad must be 0, 1 or 2, got ", grad_, "."));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("alpha", &alpha_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("gain", &gain_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("clamp", &clamp_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("dim", &dim_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& b = ctx->input(1);
    const Tensor& ref = ctx->input(2);
    const Tensor& dy = ctx->input(3);
    const int rank = x.dims();
    OP_REQUIRES(ctx, b.dims() == 1,
                InvalidArgument("bias_act: the bias must be 1-D, got shape ",
                                b.shape().DebugString(), "."));
    BiasActParams p;
    p.size = x.NumElements();
    p.channels = b.NumElements();
    p.inner = 1;
    if (p.channels > 0) {
      OP_REQUIRES(ctx, dim_ >= 0 && dim_ < rank,
                  InvalidArgument("bias_act: dim ", dim_, " is out of range for x of rank ",
                                  rank, "."));
      OP_REQUIRES(ctx, x.dim_size(dim_) == p.channels,
                  InvalidArgument("bias_act: bias shape ", b.shape().DebugString(),
                                  " does not match x.shape[", dim_, "] of x ",
                                  x.shape().DebugString(), "."));
      for (int d = dim_ + 1; d < rank; ++d) p.inner *= x.dim_size(d);
    }
    if (grad_ >= 1)
      OP_REQUIRES(ctx, ref.shape() == x.shape(),
                  InvalidArgument("bias_act: ref must have the shape of x ",
                                  x.shape().DebugString(), ", got ",
                                  ref.shape().DebugString(), "."));
    if (grad_ == 2)
      OP_REQUIRES(ctx, dy.shape() == x.shape(),
                  InvalidArgument("bias_act: dy must have the shape of x ",
                                  x.shape().DebugString(), ", got ",
                                  dy.shape().DebugString(), "."));
    p.grad = grad_;
    p.act = act_;
    p.alpha = alpha_;
    p.gain = gain_;
    p.clamp = clamp_;

    Tensor* y = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &y));
    if (p.size == 0) return;
    const T* b_ptr = p.channels ? b.flat<T>().data() : nullptr;
    const T* ref_ptr = grad_ >= 1 ? ref.flat<T>().data() : nullptr;
    const T* dy_ptr = grad_ == 2 ? dy.flat<T>().data() : nullptr;
    Launcher<Device>::Run(ctx, p, x.flat<T>().data(), b_ptr, ref_ptr, dy_ptr, y->flat<T>().data());
  }

 private:
  Act act_;
  int grad_;
  float alpha_, gain_, clamp_;
  int dim_;
};


TFS_REGISTER_KERNELS("TfStyleganBiasAct", BiasActOp)

}  // namespace tf_stylegan
