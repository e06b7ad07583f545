// C entry points around the op launchers (bias_act.cu, upfirdn2d.cu) for
// run.py, which loads this library with ctypes. Buffers are host memory; each
// call copies them to the device, runs the kernel once for the result, then
// times `repeats` more launches with CUDA events.
#include <stdio.h>
#include <string.h>

#include <vector>

#include "../bias_act.h"
#include "../cuda_types.cuh"
#include "../upfirdn2d.h"

namespace tf_stylegan {
const char* LaunchBiasActCuda(const BiasActParams& p, int dtype, const void* x, const void* b,
                              const void* ref, const void* dy, void* y, void* stream);
const char* LaunchUpfirdn2dCuda(const Upfirdn2dParams& p, int dtype, const void* x,
                                const float* f, void* y, void* stream);
}  // namespace tf_stylegan

using namespace tf_stylegan;

static char g_error[512];

static bool Check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  snprintf(g_error, sizeof(g_error), "%s: %s", what, cudaGetErrorString(e));
  return false;
}

// Device copies of host buffers, freed on scope exit.
struct DeviceBuffers {
  std::vector<void*> ptrs;
  ~DeviceBuffers() {
    for (void* p : ptrs) cudaFree(p);
  }
  // `shift` bytes past an aligned allocation, to reach the kernels' unaligned paths.
  void* Upload(const void* host, size_t bytes, size_t shift = 0) {
    if (host == nullptr || bytes == 0) return nullptr;
    char* d = static_cast<char*>(Alloc(bytes + shift));
    if (d == nullptr) return nullptr;
    if (!Check(cudaMemcpy(d + shift, host, bytes, cudaMemcpyHostToDevice), "upload")) return nullptr;
    return d + shift;
  }
  void* Alloc(size_t bytes, size_t shift = 0) {
    void* d = nullptr;
    if (!Check(cudaMalloc(&d, bytes + shift), "cudaMalloc")) return nullptr;
    ptrs.push_back(d);
    return static_cast<char*>(d) + shift;
  }
};

// Runs `launch` once, then times `repeats` launches; milliseconds per launch or -1.
template <typename F>
static double Timed(F launch, int repeats) {
  const char* e = launch();
  if (e) {
    snprintf(g_error, sizeof(g_error), "launch: %s", e);
    return -1;
  }
  if (!Check(cudaDeviceSynchronize(), "first run")) return -1;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaEventRecord(start);
  for (int i = 0; i < repeats; ++i) launch();
  cudaEventRecord(stop);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (!Check(cudaGetLastError(), "timed runs")) return -1;
  return repeats > 0 ? ms / repeats : 0.0;
}

extern "C" {

const char* tfs_last_error() { return g_error; }

// Device name, theoretical DRAM bandwidth (GB/s, 0 if unknown) and the
// measured device-to-device copy bandwidth (GB/s), the practical ceiling.
int tfs_device_info(char* name, int name_len, double* peak_gbs, double* copy_gbs) {
  cudaDeviceProp prop;
  if (!Check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties")) return -1;
  snprintf(name, name_len, "%s", prop.name);
  int clock_khz = 0, bus_bits = 0;
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0);
  cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
  cudaGetLastError();  // the clock attribute is unsupported on some drivers
  *peak_gbs = 2.0 * clock_khz * 1e3 * (bus_bits / 8) / 1e9;
  const size_t bytes = size_t(1) << 30;
  DeviceBuffers buf;
  void* a = buf.Alloc(bytes);
  void* b = buf.Alloc(bytes);
  if (!a || !b) return -1;
  double ms = Timed(
      [&]() -> const char* {
        cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice);
        return nullptr;
      },
      20);
  if (ms < 0) return -1;
  *copy_gbs = 2.0 * bytes / (ms * 1e-3) / 1e9;  // read + write
  return 0;
}

// `misalign`: place every tensor one element past an aligned address.
double tfs_bias_act(const BiasActParams* p, int dtype, int elem_bytes, const void* x,
                    const void* b, const void* ref, const void* dy, void* y, int repeats,
                    int misalign) {
  DeviceBuffers buf;
  const size_t bytes = size_t(p->size) * elem_bytes, shift = misalign ? elem_bytes : 0;
  void* dx = buf.Upload(x, bytes, shift);
  void* db = buf.Upload(b, size_t(p->channels) * elem_bytes);
  void* dr = p->grad >= 1 ? buf.Upload(ref, bytes, shift) : nullptr;
  void* dd = p->grad == 2 ? buf.Upload(dy, bytes, shift) : nullptr;
  void* out = buf.Alloc(bytes, shift);
  if (!dx || !out || (p->channels && !db)) return -1;
  const double ms = Timed(
      [&]() { return LaunchBiasActCuda(*p, dtype, dx, db, dr, dd, out, nullptr); }, repeats);
  if (ms < 0 || !Check(cudaMemcpy(y, out, bytes, cudaMemcpyDeviceToHost), "download")) return -1;
  return ms;
}

double tfs_upfirdn2d(const Upfirdn2dParams* p, int dtype, int elem_bytes, const void* x,
                     const float* f, void* y, int repeats) {
  DeviceBuffers buf;
  const size_t in_bytes = size_t(p->n * p->in_h * p->in_w * p->channels) * elem_bytes;
  const size_t out_bytes = size_t(p->n * p->out_h * p->out_w * p->channels) * elem_bytes;
  void* dx = buf.Upload(x, in_bytes);
  void* df = buf.Upload(f, size_t(p->fh * p->fw) * sizeof(float));
  void* out = buf.Alloc(out_bytes);
  if (!dx || !df || !out) return -1;
  const double ms = Timed(
      [&]() {
        return LaunchUpfirdn2dCuda(*p, dtype, dx, static_cast<const float*>(df), out, nullptr);
      },
      repeats);
  if (ms < 0 || !Check(cudaMemcpy(y, out, out_bytes, cudaMemcpyDeviceToHost), "download"))
    return -1;
  return ms;
}

}  // extern "C"
