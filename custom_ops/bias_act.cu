// CUDA kernel of TfStyleganBiasAct. Free of TensorFlow headers: the TF op
// (bias_act.cc) and the standalone harness (test_cuda/) both call
// LaunchBiasActCuda, so the harness tests exactly the kernel that TF runs.
#include "bias_act.h"
#include "cuda_types.cuh"

namespace tf_stylegan {
namespace {

// The bias index of element i. 64-bit division costs far more on the GPU than
// the element's math, so tensors under 2^32 elements divide in 32 bits.
__device__ __forceinline__ int64_t BiasIndex(int64_t i, const BiasActParams& p, bool narrow) {
  if (narrow) {
    const uint32_t j = static_cast<uint32_t>(i), c = static_cast<uint32_t>(p.channels);
    return p.inner == 1 ? j % c : (j / static_cast<uint32_t>(p.inner)) % c;
  }
  return (i / p.inner) % p.channels;
}

template <typename T, Act A, int G>
__device__ __forceinline__ void BiasActOne(const BiasActParams& p, const T* x, const T* b,
                                           const T* ref, const T* dy, T* y, int64_t i,
                                           bool narrow) {
  const float bias = p.channels ? LoadF(b, BiasIndex(i, p, narrow)) : 0.f;
  const float r = G >= 1 ? LoadF(ref, i) : 0.f;
  const float d = G == 2 ? LoadF(dy, i) : 0.f;
  StoreF(y, i, BiasActElement<A, G, float>(LoadF(x, i), r, d, bias, p.alpha, p.gain, p.clamp));
}

// One element per thread and step: for tensors whose buffers are not aligned to
// four elements.
template <typename T, Act A, int G>
__global__ void BiasActKernel(BiasActParams p, const T* x, const T* b, const T* ref,
                              const T* dy, T* y) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const bool narrow = p.size <= 0xffffffffLL;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < p.size;
       i += stride) {
    BiasActOne<T, A, G>(p, x, b, ref, dy, y, i, narrow);
  }
}

// Four consecutive elements per thread and step, with vector loads and stores
// (a scalar load per element leaves much of the memory bandwidth unused); the
// last size % 4 elements go one per thread.
template <typename T, Act A, int G>
__global__ void BiasActKernel4(BiasActParams p, const T* x, const T* b, const T* ref,
                               const T* dy, T* y) {
  const int64_t first = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const bool narrow = p.size <= 0xffffffffLL;
  const int64_t body = p.size / 4 * 4;
  for (int64_t i = first * 4; i < body; i += stride * 4) {
    float xs[4], rs[4] = {0, 0, 0, 0}, ds[4] = {0, 0, 0, 0}, bs[4] = {0, 0, 0, 0}, ys[4];
    Load4(x, i, xs);
    if (G >= 1) Load4(ref, i, rs);
    if (G == 2) Load4(dy, i, ds);
    if (p.channels && p.inner == 1) {  // bias along the last axis: walk it
      int64_t c = BiasIndex(i, p, narrow);
      for (int v = 0; v < 4; ++v, c = c + 1 == p.channels ? 0 : c + 1) bs[v] = LoadF(b, c);
    } else if (p.channels) {
      for (int v = 0; v < 4; ++v) bs[v] = LoadF(b, BiasIndex(i + v, p, narrow));
    }
    for (int v = 0; v < 4; ++v) {
      ys[v] = BiasActElement<A, G, float>(xs[v], rs[v], ds[v], bs[v], p.alpha, p.gain, p.clamp);
    }
    Store4(y, i, ys);
  }
  if (first < p.size - body) BiasActOne<T, A, G>(p, x, b, ref, dy, y, body + first, narrow);
}

template <typename T, int G>
void LaunchForAct(const BiasActParams& p, const T* x, const T* b, const T* ref, const T* dy,
                  T* y, cudaStream_t stream) {
  constexpr int kBlock = 256;
  const bool vector = Aligned4<T>(x) && Aligned4<T>(ref) && Aligned4<T>(dy) && Aligned4<T>(y);
  const unsigned int grid = GridFor(vector ? (p.size + 3) / 4 : p.size, kBlock);
  WithAct(p.act, [&](auto act) {
    constexpr Act kAct = decltype(act)::value;
    if (vector) {
      BiasActKernel4<T, kAct, G><<<grid, kBlock, 0, stream>>>(p, x, b, ref, dy, y);
    } else {
      BiasActKernel<T, kAct, G><<<grid, kBlock, 0, stream>>>(p, x, b, ref, dy, y);
    }
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
