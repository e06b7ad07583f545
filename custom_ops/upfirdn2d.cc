// TfStyleganUpfirdn2d: upsample, pad, FIR-filter and downsample NHWC images in
// one pass (see upfirdn2d.h). Unlike zero-stuffing followed by a dense
// convolution, it visits only the filter taps that land on input pixels and
// computes only the outputs that downsampling keeps. CPU kernel threaded over
// output rows and vectorised over channels; the CUDA kernel is upfirdn2d.cu.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"
#include "tf_kernel_util.h"
#include "upfirdn2d.h"

namespace tf_stylegan {

using tensorflow::shape_inference::DimensionHandle;

REGISTER_OP("TfStyleganUpfirdn2d")
    .Input("x: T")
    .Input("f: float")
    .Output("y: T")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("upx: int = 1")
    .Attr("upy: int = 1")
    .Attr("downx: int = 1")
    .Attr("downy: int = 1")
    .Attr("padx0: int = 0")
    .Attr("padx1: int = 0")
    .Attr("pady0: int = 0")
    .Attr("pady1: int = 0")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle x, f;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &x));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 2, &f));
      int upx, upy, downx, downy, padx0, padx1, pady0, pady1;
      TF_RETURN_IF_ERROR(c->GetAttr("upx", &upx));
      TF_RETURN_IF_ERROR(c->GetAttr("upy", &upy));
      TF_RETURN_IF_ERROR(c->GetAttr("downx", &downx));
      TF_RETURN_IF_ERROR(c->GetAttr("downy", &downy));
      TF_RETURN_IF_ERROR(c->GetAttr("padx0", &padx0));
      TF_RETURN_IF_ERROR(c->GetAttr("padx1", &padx1));
      TF_RETURN_IF_ERROR(c->GetAttr("pady0", &pady0));
      TF_RETURN_IF_ERROR(c->GetAttr("pady1", &pady1));
      auto out_dim = [&](DimensionHandle in, DimensionHandle taps, int up, int p0, int p1,
                         int down) -> DimensionHandle {
        if (!c->ValueKnown(in) || !c->ValueKnown(taps)) return c->UnknownDim();
        const int64_t size =
            Upfirdn2dOutSize(c->Value(in), up, p0, p1, static_cast<int>(c->Value(taps)), down);
        return size > 0 ? c->MakeDim(size) : c->UnknownDim();  // the kernel reports it
      };
      c->set_output(0, c->MakeShape({c->Dim(x, 0),
                                     out_dim(c->Dim(x, 1), c->Dim(f, 0), upy, pady0, pady1, downy),
                                     out_dim(c->Dim(x, 2), c->Dim(f, 1), upx, padx0, padx1, downx),
                                     c->Dim(x, 3)}));
      return absl::OkStatus();
    })
    .Doc("Zero-stuff, pad, correlate with the 2-D kernel f and subsample NHWC x.");

namespace {

// Computes output rows [begin, end), a row being one (image, output y).
template <typename T>
void Upfirdn2dRows(const Upfirdn2dParams& p, const T* x, const float* f, T* y, int64_t begin,
                   int64_t end) {
  using S = Acc<T>;
  const int64_t c = p.channels;
  std::vector<S> acc(c);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / p.out_h, oy = row % p.out_h;
    const int ky0 = Upfirdn2dFirstTap(oy, p.downy, p.pady0, p.upy);
    const int64_t qy = oy * p.downy - p.pady0;
    T* out = y + row * p.out_w * c;
    for (int64_t ox = 0; ox < p.out_w; ++ox, out += c) {
      std::fill(acc.begin(), acc.end(), S(0));
      const int kx0 = Upfirdn2dFirstTap(ox, p.downx, p.padx0, p.upx);
      const int64_t qx = ox * p.downx - p.padx0;
      for (int ky = ky0; ky < p.fh; ky += p.upy) {
        const int64_t iy = (qy + ky) / p.upy;
        if (iy < 0 || iy >= p.in_h) continue;
        const T* in_row = x + (n * p.in_h + iy) * p.in_w * c;
        for (int kx = kx0; kx < p.fw; kx += p.upx) {
          const int64_t ix = (qx + kx) / p.upx;
          if (ix < 0 || ix >= p.in_w) continue;
          const S w = static_cast<S>(f[ky * p.fw + kx]);
          const T* src = in_row + ix * c;
          for (int64_t ch = 0; ch < c; ++ch) acc[ch] += w * static_cast<S>(src[ch]);
        }
      }
      for (int64_t ch = 0; ch < c; ++ch) out[ch] = static_cast<T>(acc[ch]);
    }
  }
}

}  // namespace

#if GOOGLE_CUDA
// In upfirdn2d.cu; `dtype` is a CudaDtype. Returns a CUDA error message or null.
const char* LaunchUpfirdn2dCuda(const Upfirdn2dParams& p, int dtype, const void* x,
                                const float* f, void* y, void* stream);
#endif

template <typename Device>
struct Upfirdn2dLauncher;

template <>
struct Upfirdn2dLauncher<Eigen::ThreadPoolDevice> {
  template <typename T>
  static void Run(OpKernelContext* ctx, const Upfirdn2dParams& p, const T* x, const float* f,
                  T* y) {
    const int64_t rows = p.n * p.out_h;
    const int64_t taps = std::max<int64_t>(1, (p.fw / p.upx) * (p.fh / p.upy));
    const int64_t cost = std::max<int64_t>(1, p.out_w * p.channels * taps * 2);
    auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
    tensorflow::Shard(workers->num_threads, workers->workers, rows, cost,
                      [&](int64_t begin, int64_t end) { Upfirdn2dRows(p, x, f, y, begin, end); });
  }
};

#if GOOGLE_CUDA
template <>
struct Upfirdn2dLauncher<Eigen::GpuDevice> {
  template <typename T>
  static void Run(OpKernelContext* ctx, const Upfirdn2dParams& p, const T* x, const float* f,
                  T* y) {
    void* stream = reinterpret_cast<void*>(ctx->eigen_device<Eigen::GpuDevice>().stream());
    const char* error = LaunchUpfirdn2dCuda(p, CudaDtypeOf<T>(), x, f, y, stream);
    OP_REQUIRES(ctx, error == nullptr,
                tensorflow::errors::Internal("upfirdn2d CUDA launch failed: ", error));
  }
};
#endif

template <typename Device, typename T>
class Upfirdn2dOp : public OpKernel {
 public:
  explicit Upfirdn2dOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("upx", &p_.upx));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("upy", &p_.upy));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("downx", &p_.downx));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("downy", &p_.downy));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("padx0", &p_.padx0));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("padx1", &p_.padx1));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("pady0", &p_.pady0));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("pady1", &p_.pady1));
    OP_REQUIRES(ctx, p_.upx >= 1 && p_.upy >= 1 && p_.downx >= 1 && p_.downy >= 1,
                InvalidArgument("upfirdn2d: up/down factors must be >= 1, got up=(", p_.upx,
                                ", ", p_.upy, ") down=(", p_.downx, ", ", p_.downy, ")."));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& f = ctx->input(1);
    OP_REQUIRES(ctx, x.dims() == 4,
                InvalidArgument("upfirdn2d expects NHWC input, got shape ",
                                x.shape().DebugString(), "."));
    OP_REQUIRES(ctx, f.dims() == 2 && f.NumElements() > 0,
                InvalidArgument("upfirdn2d: filter must be 1-D or 2-D, got shape ",
                                f.shape().DebugString(), "."));
    Upfirdn2dParams p = p_;
    p.n = x.dim_size(0);
    p.in_h = x.dim_size(1);
    p.in_w = x.dim_size(2);
    p.channels = x.dim_size(3);
    p.fh = static_cast<int>(f.dim_size(0));
    p.fw = static_cast<int>(f.dim_size(1));
    p.out_h = Upfirdn2dOutSize(p.in_h, p.upy, p.pady0, p.pady1, p.fh, p.downy);
    p.out_w = Upfirdn2dOutSize(p.in_w, p.upx, p.padx0, p.padx1, p.fw, p.downx);
    OP_REQUIRES(ctx, p.out_h > 0 && p.out_w > 0,
                InvalidArgument("upfirdn2d: padding [", p.padx0, ", ", p.padx1, ", ", p.pady0,
                                ", ", p.pady1, "] of a ", p.in_h, "x", p.in_w,
                                " input leaves less than the ", p.fh, "x", p.fw,
                                " filter; reduce the negative padding."));
    Tensor* y = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({p.n, p.out_h, p.out_w, p.channels}),
                                             &y));
    if (y->NumElements() == 0) return;
    Upfirdn2dLauncher<Device>::Run(ctx, p, x.flat<T>().data(), f.flat<float>().data(),
                                   y->flat<T>().data());
  }

 private:
  Upfirdn2dParams p_;
};

TFS_REGISTER_KERNELS("TfStyleganUpfirdn2d", Upfirdn2dOp)

}  // namespace tf_stylegan
