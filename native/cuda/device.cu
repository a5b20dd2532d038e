// The CUDA device: its context (what can run and why not) and the rk_device_ops table,
// the one entry point of the plugin. Each op lives in the file named for what it computes.
#include <dlfcn.h>

#include <mutex>
#include <new>
#include <string>
#include <type_traits>

#include "context.h"
#include "ops.h"

namespace rk::cuda {
namespace {

thread_local std::string last_error_message;

const char* last_error() { return last_error_message.c_str(); }

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// Holds a T constructed on first use and never destroyed (see context.h).
template <typename T>
class Immortal {
 public:
  Immortal() { new (storage_) T(); }
  T& get() { return *std::launder(reinterpret_cast<T*>(storage_)); }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

// The reasons, in the order a machine can lack them: a driver, a driver new enough, a
// device, cuBLAS. Each is a sentence for rk.backends().
void initialise(Context& c) {
  // The runtime would find out too, but only as "insufficient driver"; without libcuda
  // there is simply no NVIDIA driver.
#if RNNKIT_CUDA_EMULATED
  const bool driver = !rk_emulation::simulates("no-driver");
  const char* why_not = "simulated by RNNKIT_CUDA_EMULATE=no-driver";
#else
  const bool driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD) || dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  const char* why_not = driver ? "" : dlerror();
#endif
  if (!driver) {
    c.unavailable = "no NVIDIA driver (libcuda.so.1 could not be loaded: " + std::string(why_not ? why_not : "") + ")";
    return;
  }
  int runtime = 0, driver_version = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver_version);
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e == cudaErrorInsufficientDriver) {
    c.unavailable = "the NVIDIA driver supports CUDA " + version_text(driver_version) + " but this plugin's runtime needs CUDA " +
                    version_text(runtime) + " (update the driver)";
    return;
  }
  if (e == cudaErrorNoDevice || (e == cudaSuccess && devices == 0)) {
    c.unavailable = "no CUDA device (the NVIDIA driver " + version_text(driver_version) + " found none)";
    return;
  }
  if (e != cudaSuccess) {
    c.unavailable = std::string("the CUDA runtime could not start: ") + cudaGetErrorString(e);
    return;
  }
  cudaDeviceProp prop;
  if (cudaSetDevice(0) != cudaSuccess || cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    c.unavailable = std::string("CUDA device 0 could not be opened: ") + cudaGetErrorString(cudaGetLastError());
    return;
  }
  cudaStream_t s = nullptr;
  if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) {
    c.unavailable = std::string("no CUDA stream: ") + cudaGetErrorString(cudaGetLastError());
    return;
  }
  c.stream = std::make_unique<Stream>(s);
  std::string why;
  c.cublas = CublasLibrary::load(&why);
  if (!c.cublas) {
    c.unavailable = why;
    return;
  }
  const CublasApi& api = c.cublas->api();
  cublasHandle_t h = nullptr;
  cublasStatus_t st = api.create(&h);
  if (st != CUBLAS_STATUS_SUCCESS) {
    c.unavailable = "cuBLAS (" + c.cublas->path() + ") could not start: " + c.cublas->status_text(st);
    return;
  }
  c.blas = CublasHandle(&api, h);
  // Full FP32 by default (no TF32), so that results match the CPU device's.
  st = api.set_stream(h, reinterpret_cast<cublasStream_t>(s));
  if (st == CUBLAS_STATUS_SUCCESS) st = api.set_math_mode(h, CUBLAS_DEFAULT_MATH);
  if (st != CUBLAS_STATUS_SUCCESS) {
    c.unavailable = "cuBLAS could not be set up: " + c.cublas->status_text(st);
    return;
  }
#if RNNKIT_CUDA_EMULATED
  c.description = "emulated on the CPU (the CUDA device's kernels as host loops; cuBLAS: " + c.cublas->path() + ")";
#else
  c.description = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) +
                  "), driver CUDA " + version_text(driver_version) + ", runtime " + version_text(runtime) +
                  ", cuBLAS " + c.cublas->path();
#endif
}

}  // namespace

Context& context() {
  static Immortal<Context> holder;
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      initialise(holder.get());
    } catch (const std::exception& e) {
      holder.get().unavailable = std::string("the CUDA device could not start: ") + e.what();
    } catch (...) {
      holder.get().unavailable = "the CUDA device could not start";
    }
  });
  return holder.get();
}

cudaStream_t stream() {
  Context& c = context();
  return c.stream ? c.stream->get() : nullptr;
}

int fail(const std::string& message) {
  last_error_message = message;
  return 1;
}

int fail_cuda(cudaError_t error, const char* what) {
  return fail(std::string(what) + ": " + cudaGetErrorString(error));
}

bool ready() {
  Context& c = context();
  if (c.unavailable.empty()) return true;
  fail("the CUDA device is unavailable: " + c.unavailable);
  return false;
}

namespace {

void* alloc(size_t bytes) {
  if (!ready()) return nullptr;
  std::string error;
  void* p = context().allocator.allocate(bytes, &error);
  if (!p) fail(error);
  return p;
}

void release(void* p) {
  if (p && context().unavailable.empty()) context().allocator.release(p);
}

int memory_stats(uint64_t* bytes, uint64_t* allocations, uint64_t* cached) {
  *bytes = *allocations = *cached = 0;
  if (!context().unavailable.empty()) return 0;  // nothing allocated on an unusable device
  context().allocator.stats(bytes, allocations, cached);
  return 0;
}

// Host-to-device and device-to-host copies return complete: the host buffer may be reused
// or read as soon as the call returns (ABI v1 has no completion events). Device-to-device
// copies are queued on the stream.
int copy(void* dst, const void* src, size_t bytes, int32_t kind) {
  RK_REQUIRE_READY();
  if (bytes == 0) return 0;
  const cudaMemcpyKind k = kind == RK_HOST_TO_DEVICE   ? cudaMemcpyHostToDevice
                           : kind == RK_DEVICE_TO_HOST ? cudaMemcpyDeviceToHost
                                                       : cudaMemcpyDeviceToDevice;
  RK_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, k, stream()), "copy");
  if (kind != RK_DEVICE_TO_DEVICE) RK_CUDA_TRY(cudaStreamSynchronize(stream()), "copy (synchronize)");
  return 0;
}

int synchronize() {
  RK_REQUIRE_READY();
  RK_CUDA_TRY(cudaStreamSynchronize(stream()), "synchronize");
  return 0;
}

// The fused recurrences are optional in the ABI; this device runs the core's per-step loop
// (a cuBLAS GEMM and a cell kernel per step).
size_t packed_recurrent_bytes(int64_t, int64_t) { return 0; }

const rk_device_ops kOps = [] {
  rk_device_ops o{};  // entries added to the ABI later stay null until implemented
  o.abi_version = RK_DEVICE_ABI_VERSION;
  o.name = "cuda";
  o.last_error = last_error;
  o.alloc = alloc;
  o.release = release;
  o.copy = copy;
  o.fill = fill;
  o.synchronize = synchronize;
  o.memory_stats = memory_stats;
  o.gemm = gemm;
  o.packed_b_bytes = packed_b_bytes;
  o.pack_b = pack_b;
  o.gemm_packed_b = gemm_packed_b;
  o.packed_recurrent_bytes = packed_recurrent_bytes;
  o.pack_recurrent = nullptr;
  o.recurrent_forward = nullptr;
  o.recurrent_backward = nullptr;
  o.permute_steps = permute_steps;
  o.reverse_valid_steps = reverse_valid_steps;
  o.cell_forward = cell_forward;
  o.cell_backward = cell_backward;
  o.sum_rows = sum_rows;
  o.sum_squares = sum_squares;
  o.axpby = axpby;
  o.multiply = multiply;
  o.clamp = clamp;
  o.copy_2d = copy_2d;
  o.bias_activation = bias_activation;
  o.activation_backward = activation_backward;
  o.loss = loss;
  o.optimizer_step = optimizer_step;
  o.count_correct = count_correct;
  o.embedding_forward = embedding_forward;
  o.embedding_backward = embedding_backward;
  o.dropout = dropout;
  return o;
}();

}  // namespace
}  // namespace rk::cuda

#define RK_EXPORT extern "C" __attribute__((visibility("default")))

// The table is returned whether or not the device can run: its entries then fail with the
// reason, and rk_cuda_unavailable_reason says it up front.
RK_EXPORT const rk_device_ops* rk_get_device_ops(void) { return &rk::cuda::kOps; }

// Why this device cannot run, or null when it can. Never aborts: a missing driver, device
// or cuBLAS is a sentence here.
RK_EXPORT const char* rk_cuda_unavailable_reason(void) {
  const rk::cuda::Context& c = rk::cuda::context();
  return c.unavailable.empty() ? nullptr : c.unavailable.c_str();
}

// What runs when the device is usable (the GPU, driver and cuBLAS; or that it is the
// emulated build), else null.
RK_EXPORT const char* rk_cuda_device_info(void) {
  const rk::cuda::Context& c = rk::cuda::context();
  return c.unavailable.empty() ? c.description.c_str() : nullptr;
}
