// upfirdn2d: parameters and the output-size rule, shared by the CPU kernel
// (upfirdn2d.cc), the CUDA kernel (upfirdn2d.cu) and the CUDA harness.
//
// The op zero-stuffs NHWC `x` by (upx, upy), pads it (negative pads crop),
// correlates every channel with the 2-D float32 kernel `f` and keeps every
// (downx, downy)-th pixel. Convolution vs correlation, the filter's gain and
// 1-D (separable) filters are handled in Python, which passes the final kernel.
#pragma once

#include <stdint.h>

#include "common.h"

namespace tf_stylegan {

struct Upfirdn2dParams {
  int64_t n, in_h, in_w, channels;
  int64_t out_h, out_w;
  int upx, upy, downx, downy;
  int padx0, padx1, pady0, pady1;
  int fw, fh;
};

// Output length along one axis: ceil((in * up + pad0 + pad1 - taps + 1) / down).
// Zero or less means that the padding leaves less than one filter's width.
TFS_HD int64_t Upfirdn2dOutSize(int64_t in, int up, int pad0, int pad1, int taps, int down) {
  const int64_t span = in * up + pad0 + pad1 - taps + 1;
  return span <= 0 ? span : (span + down - 1) / down;
}

// First filter tap k >= 0 at which the zero-stuffed input is non-zero, for
// output position `o`: (o * down - pad0 + k) must be a multiple of `up`.
// `I` is the index type: int64_t on the CPU, int in the CUDA kernel's rows.
template <typename I>
TFS_HD int Upfirdn2dFirstTap(I o, int down, int pad0, int up) {
  const I q = o * down - pad0;
  const I r = q % up;
  return static_cast<int>(r == 0 ? 0 : (r > 0 ? up - r : -r));
}

}  // namespace tf_stylegan
