// Loads and stores that widen every storage type to float, for the CUDA kernels.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

namespace tf_stylegan {

__device__ __forceinline__ float LoadF(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float LoadF(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ float LoadF(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}

__device__ __forceinline__ void StoreF(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void StoreF(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }
__device__ __forceinline__ void StoreF(__nv_bfloat16* p, int64_t i, float v) {
  p[i] = __float2bfloat16_rn(v);
}

// Four consecutive elements from i, which must be a multiple of 4 with the
// pointer aligned to four elements: one 16-byte (float) or 8-byte load or store.
__device__ __forceinline__ void Load4(const float* p, int64_t i, float v[4]) {
  const float4 q = *reinterpret_cast<const float4*>(p + i);
  v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
}
__device__ __forceinline__ void Load4(const __half* p, int64_t i, float v[4]) {
  const uint2 q = *reinterpret_cast<const uint2*>(p + i);
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&q.x));
  const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&q.y));
  v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
}
__device__ __forceinline__ void Load4(const __nv_bfloat16* p, int64_t i, float v[4]) {
  const uint2 q = *reinterpret_cast<const uint2*>(p + i);
  const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&q.x));
  const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&q.y));
  v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
}

__device__ __forceinline__ void Store4(float* p, int64_t i, const float v[4]) {
  *reinterpret_cast<float4*>(p + i) = make_float4(v[0], v[1], v[2], v[3]);
}
__device__ __forceinline__ void Store4(__half* p, int64_t i, const float v[4]) {
  const __half2 a = __floats2half2_rn(v[0], v[1]), b = __floats2half2_rn(v[2], v[3]);
  *reinterpret_cast<uint2*>(p + i) =
      make_uint2(*reinterpret_cast<const unsigned int*>(&a), *reinterpret_cast<const unsigned int*>(&b));
}
__device__ __forceinline__ void Store4(__nv_bfloat16* p, int64_t i, const float v[4]) {
  const __nv_bfloat162 a = __floats2bfloat162_rn(v[0], v[1]), b = __floats2bfloat162_rn(v[2], v[3]);
  *reinterpret_cast<uint2*>(p + i) =
      make_uint2(*reinterpret_cast<const unsigned int*>(&a), *reinterpret_cast<const unsigned int*>(&b));
}

// Whether a pointer (null counts) suits Load4/Store4 for element type T.
template <typename T>
inline bool Aligned4(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % (4 * sizeof(T)) == 0;
}

// Grid for a grid-stride loop over `work` items.
inline unsigned int GridFor(int64_t work, int block) {
  const int64_t blocks = (work + block - 1) / block;
  return static_cast<unsigned int>(blocks < 65536 * 8 ? (blocks > 0 ? blocks : 1) : 65536 * 8);
}

// Null when the last launch succeeded, else CUDA's message.
inline const char* LaunchError() {
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

}  // namespace tf_stylegan
