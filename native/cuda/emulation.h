// The CUDA runtime as far as native/cuda uses it, emulated on the host, so that the same
// .cu sources compile with g++ into build-cuda/rnnkit_cuda_emu.so (DESIGN principle 3).
//
// A kernel launch runs every block of the grid and every thread of a block as plain,
// sequential host loops, one thread after the other. So the kernels must not depend on
// threads running together: no __syncthreads, no warp shuffles, no shared-memory
// reductions (the kernels here use grid-stride loops and atomics instead). Device memory is
// host memory, streams are no-ops (everything completes before the call returns) and
// atomics are plain read-modify-writes (one thread runs at a time).
//
// What this cannot check, only a GPU can: races between threads (here they never overlap),
// stream ordering against the host (here everything is synchronous), the ulp of the
// device's expf/tanhf, and nvcc's FMA contraction (here g++ does not contract).
#ifndef RNNKIT_CUDA_EMULATION_H
#define RNNKIT_CUDA_EMULATION_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The launch coordinates of the thread the emulation is running now.
namespace rk_emulation {
inline thread_local dim3 block_index, thread_index, block_dim, grid_dim;
}
#define blockIdx (::rk_emulation::block_index)
#define threadIdx (::rk_emulation::thread_index)
#define blockDim (::rk_emulation::block_dim)
#define gridDim (::rk_emulation::grid_dim)

typedef int cudaError_t;
enum : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
};
typedef struct rk_emulated_stream* cudaStream_t;
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
#define cudaStreamNonBlocking 0x01

struct cudaDeviceProp {
  char name[256];
  int major, minor;
  size_t totalGlobalMem;
};

namespace rk_emulation {
// RNNKIT_CUDA_EMULATE=no-driver | old-driver | no-device | out-of-memory makes the emulated plugin fail as
// a machine without them would, so that those reasons are tested without such a machine
// (no-normalization: its table lacks the optional normalization entries; device.cu).
inline bool simulates(const char* what) {
  const char* e = std::getenv("RNNKIT_CUDA_EMULATE");
  return e && std::strcmp(e, what) == 0;
}
}  // namespace rk_emulation

namespace rk_emulation {
// RNNKIT_CUDA_EMULATE_GRID=<blocks>x<threads> (e.g. 3x32) caps the grid of every grid-stride
// launch, so that the stride loops run several rounds on the check's small data too: a
// kernel's result must not depend on its grid.
inline void cap_grid(dim3* grid, dim3* block) {
  static const struct Cap {
    unsigned blocks = 0, threads = 0;
    Cap() {
      const char* e = std::getenv("RNNKIT_CUDA_EMULATE_GRID");
      unsigned b = 0, t = 0;
      if (e && std::sscanf(e, "%ux%u", &b, &t) == 2 && b > 0 && t > 0) blocks = b, threads = t;
    }
  } cap;
  if (!cap.blocks) return;
  if (grid->x > cap.blocks) grid->x = cap.blocks;
  block->x = cap.threads;
}
}  // namespace rk_emulation

inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
  }
  return "unknown error";
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaDriverGetVersion(int* v) {
  *v = rk_emulation::simulates("old-driver") ? 12080 : 13000;
  return cudaSuccess;
}
inline cudaError_t cudaRuntimeGetVersion(int* v) { *v = 13000; return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) {
  *n = rk_emulation::simulates("no-device") ? 0 : 1;
  if (rk_emulation::simulates("old-driver")) return cudaErrorInsufficientDriver;
  return *n ? cudaSuccess : cudaErrorNoDevice;
}
inline cudaError_t cudaSetDevice(int) {  // where the runtime makes the device's context
  return rk_emulation::simulates("out-of-memory") ? cudaErrorMemoryAllocation : cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::strcpy(p->name, "emulated on the CPU");
  return cudaSuccess;
}

inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  // 256-byte aligned like cudaMalloc; at least one byte so that 0 bytes gives a pointer.
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }

inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { *s = nullptr; return cudaSuccess; }
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                                     size_t height, cudaMemcpyKind, cudaStream_t) {
  if (width > dpitch || width > spitch) return cudaErrorInvalidValue;  // as the runtime checks
  for (size_t r = 0; r < height; ++r)
    std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  std::memset(p, value, bytes);
  return cudaSuccess;
}

// Single-threaded emulation: an atomic is a plain update; returns the old value as CUDA does.
template <typename T>
inline T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}

namespace rk_emulation {
// kernel<<<grid, block, 0, stream>>>(args...): every block, every thread, in order.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t, Args... args) {
  grid_dim = grid;
  block_dim = block;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx)
        for (unsigned tz = 0; tz < block.z; ++tz)
          for (unsigned ty = 0; ty < block.y; ++ty)
            for (unsigned tx = 0; tx < block.x; ++tx) {
              block_index = dim3(bx, by, bz);
              thread_index = dim3(tx, ty, tz);
              kernel(static_cast<Params>(args)...);
            }
}
}  // namespace rk_emulation

#endif
