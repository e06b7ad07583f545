// TensorFlow-side helpers shared by the op sources (bias_act.cc, upfirdn2d.cc).
#pragma once

#include <type_traits>

#include "common.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace tf_stylegan {

using tensorflow::DEVICE_CPU;
using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::TensorShape;
using tensorflow::errors::InvalidArgument;
using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

// Accumulation type of the CPU kernels: double for double, float otherwise.
template <typename T>
using Acc = typename std::conditional<std::is_same<T, double>::value, double, float>::type;

#if GOOGLE_CUDA
template <typename T>
constexpr int CudaDtypeOf() {
  if constexpr (std::is_same<T, float>::value) return kCudaFloat32;
  else if constexpr (std::is_same<T, Eigen::half>::value) return kCudaFloat16;
  else return kCudaBfloat16;
}
#endif

}  // namespace tf_stylegan

// Registers KERNEL<Device, T> for op NAME: CPU for half, bfloat16, float and
// double; GPU (when built with CUDA) for half, bfloat16 and float.
#define TFS_REGISTER_CPU_KERNEL(NAME, KERNEL, T)                                            \
  REGISTER_KERNEL_BUILDER(Name(NAME).Device(tensorflow::DEVICE_CPU).TypeConstraint<T>("T"), \
                          KERNEL<Eigen::ThreadPoolDevice, T>);
#define TFS_REGISTER_GPU_KERNEL(NAME, KERNEL, T)                                            \
  REGISTER_KERNEL_BUILDER(Name(NAME).Device(tensorflow::DEVICE_GPU).TypeConstraint<T>("T"), \
                          KERNEL<Eigen::GpuDevice, T>);
#define TFS_REGISTER_CPU_KERNELS(NAME, KERNEL)               \
  TFS_REGISTER_CPU_KERNEL(NAME, KERNEL, Eigen::half)         \
  TFS_REGISTER_CPU_KERNEL(NAME, KERNEL, tensorflow::bfloat16) \
  TFS_REGISTER_CPU_KERNEL(NAME, KERNEL, float)               \
  TFS_REGISTER_CPU_KERNEL(NAME, KERNEL, double)
#if GOOGLE_CUDA
#define TFS_REGISTER_KERNELS(NAME, KERNEL)                    \
  TFS_REGISTER_CPU_KERNELS(NAME, KERNEL)                      \
  TFS_REGISTER_GPU_KERNEL(NAME, KERNEL, Eigen::half)          \
  TFS_REGISTER_GPU_KERNEL(NAME, KERNEL, tensorflow::bfloat16) \
  TFS_REGISTER_GPU_KERNEL(NAME, KERNEL, float)
#else
#define TFS_REGISTER_KERNELS(NAME, KERNEL) TFS_REGISTER_CPU_KERNELS(NAME, KERNEL)
#endif
