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
