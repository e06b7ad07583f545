// CUDA kernel of TfStyleganBiasAct. Free of TensorFlow headers: the TF op
// (bias_act.cc) and the standalone harness (test_cuda/) both call
// LaunchBiasActCuda, so the harness tests exactly the kernel that TF runs.
#include "bias_act.h"
#include "cuda_types.cuh"

namespace tf_stylegan {
namespace {

template <typename T, Act A, int G>
__global__ void BiasActKernel(BiasActParams p, const T* x, const T* b, const T* ref,
                              const T* dy, T* y) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < p.size;
       i += stride) {
    const float bias = p.channels ? LoadF(b, (i / p.inner) % p.channels) : 0.f;
    const float r = G >= 1 ? LoadF(ref, i) : 0.f;
    const float d = G == 2 ? LoadF(dy, i) : 0.f;
    StoreF(y, i, BiasActElement<A, G, float>(LoadF(x, i), r, d, bias, p.alpha, p.gain, p.clamp));
  }
}

template <typename T, int G>
void LaunchForAct(const BiasActParams& p, const T* x, const T* b, const T* ref, const T* dy,
                  T* y, cudaStream_t stream) {
  constexpr int kBlock = 256;
  const unsigned int grid = GridFor(p.size, kBlock);
  WithAct(p.act, [&](auto act) {
    BiasActKernel<T, decltype(act)::value, G><<<grid, kBlock, 0, stream>>>(p, x, b, ref, dy, y);
  });
}

template <typename T>
void LaunchTyped(const BiasActParams& p, const void* x, const void* b, const void* ref,
                 const void* dy, void* y, cudaStream_t stream) {
  auto cx = static_cast<const T*>(x), cb = static_cast<const T*>(b);
  auto cr = static_cast<const T*>(ref), cd = static_cast<const T*>(dy);
  auto cy = static_cast<T*>(y);
  if (p.grad == 0) LaunchForAct<T, 0>(p, cx, cb, cr, cd, cy, stream);
  else if (p.grad == 1) LaunchForAct<T, 1>(p, cx, cb, cr, cd, cy, stream);
  else LaunchForAct<T, 2>(p, cx, cb, cr, cd, cy, stream);
}

}  // namespace

const char* LaunchBiasActCuda(const BiasActParams& p, int dtype, const void* x, const void* b,
                              const void* ref, const void* dy, void* y, void* stream) {
  if (p.size == 0) return nullptr;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case kCudaFloat32: LaunchTyped<float>(p, x, b, ref, dy, y, s); break;
    case kCudaFloat16: LaunchTyped<__half>(p, x, b, ref, dy, y, s); break;
    case kCudaBfloat16: LaunchTyped<__nv_bfloat16>(p, x, b, ref, dy, y, s); break;
    default: return "unsupported dtype";
  }
  return LaunchError();
}

}  // namespace tf_stylegan
