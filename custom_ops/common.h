// Definitions shared by every kernel source, with no TensorFlow or CUDA headers,
// so that the TF ops and the standalone CUDA harness compile the same code.
#pragma once

#if defined(__CUDACC__)
#define TFS_HD __host__ __device__ __forceinline__
#else
#define TFS_HD inline
#endif

namespace tf_stylegan {

// Element types of the CUDA kernels.
enum CudaDtype : int { kCudaFloat32 = 0, kCudaFloat16 = 1, kCudaBfloat16 = 2 };

}  // namespace tf_stylegan
