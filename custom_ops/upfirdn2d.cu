// CUDA kernel of TfStyleganUpfirdn2d: one thread per output element, channels
// fastest so that neighbouring threads read neighbouring memory. Free of
// TensorFlow headers, shared by the TF op and the standalone harness.
#include "cuda_types.cuh"
#include "upfirdn2d.h"

namespace tf_stylegan {
namespace {

template <typename T>
__global__ void Upfirdn2dKernel(Upfirdn2dParams p, const T* x, const float* f, T* y) {
  const int64_t total = p.n * p.out_h * p.out_w * p.channels;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += stride) {
    const int64_t ch = i % p.channels;
    int64_t t = i / p.channels;
    const int64_t ox = t % p.out_w;
    t /= p.out_w;
    const int64_t oy = t % p.out_h;
    const int64_t n = t / p.out_h;
    const int64_t qy = oy * p.downy - p.pady0, qx = ox * p.downx - p.padx0;
    const int kx0 = Upfirdn2dFirstTap(ox, p.downx, p.padx0, p.upx);
    float acc = 0.f;
    for (int ky = Upfirdn2dFirstTap(oy, p.downy, p.pady0, p.upy); ky < p.fh; ky += p.upy) {
      const int64_t iy = (qy + ky) / p.upy;
      if (iy < 0 || iy >= p.in_h) continue;
      const int64_t row = (n * p.in_h + iy) * p.in_w;
      for (int kx = kx0; kx < p.fw; kx += p.upx) {
        const int64_t ix = (qx + kx) / p.upx;
        if (ix < 0 || ix >= p.in_w) continue;
        acc += __ldg(f + ky * p.fw + kx) * LoadF(x, (row + ix) * p.channels + ch);
      }
    }
    StoreF(y, i, acc);
  }
}

}  // namespace

const char* LaunchUpfirdn2dCuda(const Upfirdn2dParams& p, int dtype, const void* x,
                                const float* f, void* y, void* stream) {
  const int64_t total = p.n * p.out_h * p.out_w * p.channels;
  if (total == 0) return nullptr;
  constexpr int kBlock = 256;
  const unsigned int grid = GridFor(total, kBlock);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case kCudaFloat32:
      Upfirdn2dKernel<<<grid, kBlock, 0, s>>>(p, static_cast<const float*>(x), f,
                                              static_cast<float*>(y));
      break;
    case kCudaFloat16:
      Upfirdn2dKernel<<<grid, kBlock, 0, s>>>(p, static_cast<const __half*>(x), f,
                                              static_cast<__half*>(y));
      break;
    case kCudaBfloat16:
      Upfirdn2dKernel<<<grid, kBlock, 0, s>>>(p, static_cast<const __nv_bfloat16*>(x), f,
                                              static_cast<__nv_bfloat16*>(y));
      break;
    default:
      return "unsupported dtype";
  }
  return LaunchError();
}

}  // namespace tf_stylegan
