// What every source of the CUDA device shares: the CUDA runtime (or its host emulation),
// kernel launches, grid sizes, and turning CUDA errors into the ABI's status + message.
#ifndef RNNKIT_CUDA_RUNTIME_H
#define RNNKIT_CUDA_RUNTIME_H

#include <cstddef>
#include <cstdint>
#include <math.h>
#include <string>

#ifdef __CUDACC__
#include <cuda_runtime.h>
#define RNNKIT_CUDA_EMULATED 0
#else
#include "emulation.h"
#define RNNKIT_CUDA_EMULATED 1
#endif

#include "../core/device_abi.h"

namespace rk::cuda {

// The one stream every entry is ordered on (created by the context; null before).
cudaStream_t stream();

// Sets the thread's last error; returns the nonzero status the ABI expects.
int fail(const std::string& message);
// A failed CUDA call as a status + "what: cuda message".
int fail_cuda(cudaError_t error, const char* what);
// The context is usable (else last_error says why and this returns false).
bool ready();

// Grid-stride kernels: a fixed cap on blocks, so that a launch's size does not grow with
// the data and every thread loops. 256 threads, at most 1024 blocks.
constexpr unsigned kThreads = 256;
inline unsigned blocks_for(size_t count) {
  const size_t b = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b == 0 ? 1 : b > 1024 ? 1024 : b);
}

// How many elements a shape holds; 0 when any dimension is not positive (so a negative
// dimension launches nothing instead of wrapping to a huge size_t).
inline size_t elements(int64_t a, int64_t b = 1, int64_t c = 1) {
  return (a <= 0 || b <= 0 || c <= 0) ? 0 : static_cast<size_t>(a) * static_cast<size_t>(b) * static_cast<size_t>(c);
}

// A launch on the device's stream, then the launch's own error.
template <typename... Params, typename... Args>
int launch(const char* what, void (*kernel)(Params...), size_t count, Args... args) {
  if (count == 0) return 0;
#ifdef __CUDACC__
  kernel<<<blocks_for(count), kThreads, 0, stream()>>>(static_cast<Params>(args)...);
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? 0 : fail_cuda(e, what);
#else
  (void)what;
  dim3 grid(blocks_for(count)), block(kThreads);
  rk_emulation::cap_grid(&grid, &block);
  rk_emulation::launch(kernel, grid, block, stream(), args...);
  return 0;
#endif
}

// The first index and the stride of a grid-stride loop.
#define RK_GRID_START (static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x)
#define RK_GRID_STRIDE (static_cast<size_t>(gridDim.x) * blockDim.x)
#define RK_GRID_LOOP(i, count) for (size_t i = RK_GRID_START; i < static_cast<size_t>(count); i += RK_GRID_STRIDE)

// Runs a CUDA call; on failure returns its status from the enclosing entry.
#define RK_CUDA_TRY(call, what)                      \
  do {                                               \
    const cudaError_t rk_e_ = (call);                \
    if (rk_e_ != cudaSuccess) return ::rk::cuda::fail_cuda(rk_e_, what); \
  } while (0)

// Every entry starts with this: an unusable context fails with its reason.
#define RK_REQUIRE_READY() \
  do {                     \
    if (!::rk::cuda::ready()) return 1; \
  } while (0)

}  // namespace rk::cuda

#endif
