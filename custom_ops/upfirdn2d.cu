// CUDA kernel of TfStyleganUpfirdn2d. A block's threads cover 256 (output x,
// channel) pairs, channels fastest, so neighbouring threads read neighbouring
// memory; each block walks a strip of output rows (grid y) of one image (grid z),
// so the input rows that consecutive outputs share are read again from L1.
// Index arithmetic is 32-bit and taps outside the image are cut from the loop
// bounds: 64-bit division and per-tap checks cost more than the filter itself.
// The networks' own filters (4 taps, no upsampling) take a kernel that keeps the
// taps in registers and shares input rows between 4 outputs. (A shared-memory
// tiled variant measured slower on an H200: custom_ops/README.md.)
// Free of TensorFlow headers, shared by the TF op and the standalone harness.
#include <algorithm>
#include <type_traits>

#include "cuda_types.cuh"
#include "upfirdn2d.h"

namespace tf_stylegan {
namespace {

constexpr int kBlock = 256;
constexpr int kRows = 8;
constexpr unsigned int kMaxGridYZ = 65535;

// One output element: the taps along y for row oy, those along x fixed by the caller.
template <typename T>
__device__ __forceinline__ float Upfirdn2dAt(const Upfirdn2dParams& p, const T* image,
                                             const float* f, int oy, int ix0, int kx0,
                                             int sx0, int sx1) {
  const int channels = static_cast<int>(p.channels), in_w = static_cast<int>(p.in_w);
  const int ky0 = Upfirdn2dFirstTap(oy, p.downy, p.pady0, p.upy);
  const int iy0 = (oy * p.downy - p.pady0 + ky0) / p.upy;  // exact division
  const int sy0 = max(0, -iy0);
  const int sy1 = min((p.fh - ky0 + p.upy - 1) / p.upy, static_cast<int>(p.in_h) - iy0);
  float acc = 0.f;
  for (int sy = sy0; sy < sy1; ++sy) {
    const T* in = image + (static_cast<int64_t>(iy0 + sy) * in_w + ix0 + sx0) * channels;
    const float* tap = f + (ky0 + sy * p.upy) * p.fw + kx0 + sx0 * p.upx;
#pragma unroll 4
    for (int sx = sx0; sx < sx1; ++sx, in += channels, tap += p.upx) {
      acc += __ldg(tap) * LoadF(in, 0);
    }
  }
  return acc;
}

template <typename T>
__global__ void Upfirdn2dKernel(Upfirdn2dParams p, const T* x, const float* f, T* y) {
  const int channels = static_cast<int>(p.channels), in_w = static_cast<int>(p.in_w);
  const int out_h = static_cast<int>(p.out_h), row_work = static_cast<int>(p.out_w) * channels;
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= row_work) return;
  const int ch = j % channels, ox = j / channels;
  // Along x the taps and their input columns are fixed for this thread: taps
  // kx0, kx0 + upx, ... read columns ix0, ix0 + 1, ...; keep those inside the image.
  const int kx0 = Upfirdn2dFirstTap(ox, p.downx, p.padx0, p.upx);
  const int ix0 = (ox * p.downx - p.padx0 + kx0) / p.upx;  // exact division
  const int sx0 = max(0, -ix0), sx1 = min((p.fw - kx0 + p.upx - 1) / p.upx, in_w - ix0);
  for (int64_t n = blockIdx.z; n < p.n; n += gridDim.z) {
    const T* image = x + n * p.in_h * in_w * channels + ch;
    T* out = y + n * out_h * row_work + j;
    // A block takes strips of kRows consecutive output rows, so the input rows
    // that neighbouring output rows share are still in L1 when they are read again.
    for (int row0 = blockIdx.y * kRows; row0 < out_h; row0 += gridDim.y * kRows) {
      for (int oy = row0; oy < min(out_h, row0 + kRows); ++oy) {
        StoreF(out, static_cast<int64_t>(oy) * row_work,
               Upfirdn2dAt(p, image, f, oy, ix0, kx0, sx0, sx1));
      }
    }
  }
}

// The networks' own case: no upsampling, a 4-tap filter (4x4, or a 1-D pass
// 1x4 or 4x1) and downsampling by 1 or 2. The taps live in registers and each
// thread computes a block of kGroup output rows by GX columns from one read of
// the input pixels that the block shares: a 4x4 filter reads 49 input pixels
// for 16 outputs instead of 256, and no filter value per tap.
constexpr int kGroup = 4;

// Each thread computes GX consecutive output columns (4 for filters with 4 taps
// along x, 1 for a vertical pass) with strides DX and DY between outputs.
template <typename T, int FH, int FW, int DY, int GX, int DX>
__global__ void Upfirdn2dSmallKernel(Upfirdn2dParams p, const T* x, const float* f, T* y) {
  const int channels = static_cast<int>(p.channels), in_w = static_cast<int>(p.in_w);
  const int in_h = static_cast<int>(p.in_h), out_h = static_cast<int>(p.out_h);
  const int out_w = static_cast<int>(p.out_w), row_stride = out_w * channels;
  const int groups = (out_w + GX - 1) / GX;
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= groups * channels) return;
  float taps[FH][FW];
#pragma unroll
  for (int k = 0; k < FH * FW; ++k) taps[k / FW][k % FW] = __ldg(f + k);
  const int ch = j % channels, ox0 = (j / channels) * GX;
  const int qx = ox0 * p.downx - p.padx0;  // input column of tap 0 for output column ox0
  constexpr int kSpanX = (GX - 1) * DX + FW;  // input columns that the GX outputs read
  bool column_inside[kSpanX];
#pragma unroll
  for (int c = 0; c < kSpanX; ++c) column_inside[c] = qx + c >= 0 && qx + c < in_w;
  for (int64_t n = blockIdx.z; n < p.n; n += gridDim.z) {
    const T* image = x + n * in_h * in_w * channels + static_cast<int64_t>(qx) * channels + ch;
    T* out = y + n * out_h * row_stride + static_cast<int64_t>(ox0) * channels + ch;
    for (int row0 = blockIdx.y * kRows; row0 < out_h; row0 += gridDim.y * kRows) {
      const int row_end = min(out_h, row0 + kRows);
      for (int oy = row0; oy < row_end; oy += kGroup) {
        const int qy = oy * DY - p.pady0;  // input row of tap 0 for output row oy
        float acc[kGroup][GX] = {};
#pragma unroll
        for (int i = 0; i < (kGroup - 1) * DY + FH; ++i) {
          if (qy + i < 0 || qy + i >= in_h) continue;
          const T* in = image + static_cast<int64_t>(qy + i) * in_w * channels;
#pragma unroll
          for (int c = 0; c < kSpanX; ++c) {
            const float v = column_inside[c] ? LoadF(in, c * channels) : 0.f;
#pragma unroll
            for (int r = 0; r < kGroup; ++r) {
              const int ky = i - r * DY;
#pragma unroll
              for (int g = 0; g < GX; ++g) {
                const int kx = c - g * DX;
                if (ky >= 0 && ky < FH && kx >= 0 && kx < FW) acc[r][g] += taps[ky][kx] * v;
              }
            }
          }
        }
#pragma unroll
        for (int r = 0; r < kGroup; ++r) {
#pragma unroll
          for (int g = 0; g < GX; ++g) {
            if (oy + r < row_end && ox0 + g < out_w) {
              StoreF(out, static_cast<int64_t>(oy + r) * row_stride + g * channels, acc[r][g]);
            }
          }
        }
      }
    }
  }
}

template <typename T>
void LaunchTyped(const Upfirdn2dParams& p, const T* x, const float* f, T* y, cudaStream_t s) {
  const unsigned int row_blocks =
      static_cast<unsigned int>(std::min<int64_t>((p.out_h + kRows - 1) / kRows, kMaxGridYZ));
  const unsigned int images = static_cast<unsigned int>(std::min<int64_t>(p.n, kMaxGridYZ));
  const auto grid_for = [&](int gx) {
    const int64_t work = (p.out_w + gx - 1) / gx * p.channels;
    return dim3(static_cast<unsigned int>((work + kBlock - 1) / kBlock), row_blocks, images);
  };
  using One = std::integral_constant<int, 1>;
  using Two = std::integral_constant<int, 2>;
  using Four = std::integral_constant<int, 4>;
  // Picks DY (and DX where columns are grouped) from the run-time factors.
  const auto launch_small = [&](auto fh, auto fw) {
    constexpr int kFH = decltype(fh)::value, kFW = decltype(fw)::value, kGX = kFW == 1 ? 1 : 4;
    const auto go = [&](auto dy, auto dx) {
      Upfirdn2dSmallKernel<T, kFH, kFW, decltype(dy)::value, kGX, decltype(dx)::value>
          <<<grid_for(kGX), kBlock, 0, s>>>(p, x, f, y);
    };
    if (p.downy == 1 && p.downx == 1) go(One(), One());
    else if (p.downy == 1) go(One(), Two());
    else if (p.downx == 1) go(Two(), One());
    else go(Two(), Two());
  };
  const bool small = p.upx == 1 && p.upy == 1 && (p.downy == 1 || p.downy == 2) &&
                     (p.downx == 1 || p.downx == 2 || p.fw == 1);
  if (small && p.fh == 4 && p.fw == 4) launch_small(Four(), Four());
  else if (small && p.fh == 1 && p.fw == 4) launch_small(One(), Four());
  else if (small && p.fh == 4 && p.fw == 1) launch_small(Four(), One());
  else Upfirdn2dKernel<<<grid_for(1), kBlock, 0, s>>>(p, x, f, y);
}

}  // namespace

const char* LaunchUpfirdn2dCuda(const Upfirdn2dParams& p, int dtype, const void* x,
                                const float* f, void* y, void* stream) {
  if (p.n * p.out_h * p.out_w * p.channels == 0) return nullptr;
  const int64_t row_work = p.out_w * p.channels;
  const auto span = [](int64_t in, int up, int pad0, int pad1, int taps, int down, int64_t out) {
    return in * up + (pad0 < 0 ? -pad0 : pad0) + (pad1 < 0 ? -pad1 : pad1) + taps + out * down;
  };
  constexpr int64_t kIntMax = 2147483647;
  if (row_work > kIntMax || span(p.in_w, p.upx, p.padx0, p.padx1, p.fw, p.downx, p.out_w) > kIntMax ||
      span(p.in_h, p.upy, p.pady0, p.pady1, p.fh, p.downy, p.out_h) > kIntMax) {
    return "an image row or column is too long for the kernel's 32-bit index arithmetic";
  }
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case kCudaFloat32:
      LaunchTyped(p, static_cast<const float*>(x), f, static_cast<float*>(y), s);
      break;
    case kCudaFloat16:
      LaunchTyped(p, static_cast<const __half*>(x), f, static_cast<__half*>(y), s);
      break;
    case kCudaBfloat16:
      LaunchTyped(p, static_cast<const __nv_bfloat16*>(x), f, static_cast<__nv_bfloat16*>(y), s);
      break;
    default:
      return "unsupported dtype";
  }
  return LaunchError();
}

}  // namespace tf_stylegan
