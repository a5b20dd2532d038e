// The CUDA device: its context (what can run and why not) and the rk_device_ops table,
// the one entry point of the plugin. Each op lives in the file named for what it computes.
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
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

// Asking whether the device can run must stay cheap (the registry asks when the addon
// loads): the probe loads the driver and cuBLAS and counts devices, but creates no CUDA
// context (a context costs a GPU hundreds of milliseconds and memory). The context, the
// stream and the cuBLAS handle are made on the first entry that needs them (start).
//
// The probe's reasons, in the order a machine can lack them: a driver, a driver new enough,
// a device, cuBLAS. Each is a sentence for rk.backends().
void probe(Context& c) {
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
  const cudaError_t pe = cudaGetDeviceProperties(&prop, 0);
  if (pe != cudaSuccess) {
    c.unavailable = std::string("CUDA device 0 could not be queried: ") + cudaGetErrorString(pe);
    return;
  }
  std::string why;
  c.cublas = CublasLibrary::load(&why);
  if (!c.cublas) {
    c.unavailable = why;
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

// cuBLAS math: full FP32 by default, so that results match the CPU device's; "tf32" opts
// into TF32 tensor cores (faster GEMMs, about 1e-3 relative). RNNKIT_CUDA_MATH sets it at
// start, the option "math" at any time.
cublasMath_t math_from(const char* name, bool* ok) {
  *ok = true;
  if (std::strcmp(name, "fp32") == 0) return CUBLAS_DEFAULT_MATH;
  if (std::strcmp(name, "tf32") == 0) return CUBLAS_TF32_TENSOR_OP_MATH;
  *ok = false;
  return CUBLAS_DEFAULT_MATH;
}

std::atomic<cublasMath_t> math_mode{[] {
  const char* env = std::getenv("RNNKIT_CUDA_MATH");
  bool ok = false;
  const cublasMath_t m = env ? math_from(env, &ok) : CUBLAS_DEFAULT_MATH;
  return ok ? m : CUBLAS_DEFAULT_MATH;
}()};

// The context (made by cudaSetDevice), the stream and the cuBLAS handle; an error here (out
// of memory for the context, say) is the start error every entry then reports.
std::string start(Context& c) {
  cudaError_t e = cudaSetDevice(0);
  if (e != cudaSuccess) return std::string("CUDA device 0 could not be opened: ") + cudaGetErrorString(e);
  cudaStream_t s = nullptr;
  e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  if (e != cudaSuccess) return std::string("no CUDA stream: ") + cudaGetErrorString(e);
  c.stream = std::make_unique<Stream>(s);
  const CublasApi& api = c.cublas->api();
  cublasHandle_t h = nullptr;
  cublasStatus_t st = api.create(&h);
  if (st != CUBLAS_STATUS_SUCCESS) return "cuBLAS (" + c.cublas->path() + ") could not start: " + c.cublas->status_text(st);
  c.blas = CublasHandle(&api, h);
  st = api.set_stream(h, reinterpret_cast<cublasStream_t>(s));
  if (st == CUBLAS_STATUS_SUCCESS) st = api.set_math_mode(h, math_mode.load());
  if (st != CUBLAS_STATUS_SUCCESS) return "cuBLAS could not be set up: " + c.cublas->status_text(st);
  return "";
}

// Runs a step of the set-up, turning an exception into a reason: never throws, never aborts.
template <typename F>
std::string guarded(F&& step) {
  try {
    return step();
  } catch (const std::exception& e) {
    return std::string("the CUDA device could not start: ") + e.what();
  } catch (...) {
    return "the CUDA device could not start";
  }
}

Context& holder() {
  static Immortal<Context> context;
  return context.get();
}

}  // namespace

Context& context() {
  static std::once_flag once;
  std::call_once(once, [] {
    Context& c = holder();
    const std::string error = guarded([&] {
      probe(c);
      return c.unavailable;
    });
    if (c.unavailable.empty()) c.unavailable = error;
  });
  return holder();
}

Context& started() {
  Context& c = context();
  static std::once_flag once;
  std::call_once(once, [&] {
    if (c.unavailable.empty()) c.start_error = guarded([&] { return start(c); });
    c.start_done.store(true, std::memory_order_release);
  });
  return c;
}

const char* Context::reason() const {
  if (!unavailable.empty()) return unavailable.c_str();
  if (start_done.load(std::memory_order_acquire) && !start_error.empty()) return start_error.c_str();
  return nullptr;
}

cudaStream_t stream() {
  Context& c = started();
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
  const char* why = started().reason();
  if (!why) return true;
  fail(std::string("the CUDA device is unavailable: ") + why);
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
  if (p && !context().reason()) context().allocator.release(p);
}

int memory_stats(uint64_t* bytes, uint64_t* allocations, uint64_t* cached) {
  *bytes = *allocations = *cached = 0;
  if (context().reason()) return 0;  // nothing allocated on an unusable device
  context().allocator.stats(bytes, allocations, cached);
  return 0;
}

// Device-to-host copies made so far (the read-only option "host_copies"): the tests count
// them to prove that predict, fit, backward and optimizer steps keep data on the device.
std::atomic<uint64_t> host_copies{0};

// Host-to-device and device-to-host copies return complete: the host buffer may be reused
// or read as soon as the call returns (ABI v1 has no completion events). Device-to-device
// copies are queued on the stream.
int copy(void* dst, const void* src, size_t bytes, int32_t kind) {
  RK_REQUIRE_READY();
  if (bytes == 0) return 0;
  if (kind == RK_DEVICE_TO_HOST) host_copies.fetch_add(1, std::memory_order_relaxed);
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

// "math": "fp32" (default) or "tf32"; applied to the cuBLAS handle at once if it exists.
int set_option(const char* name, const char* value) {
  if (std::strcmp(name, "math") != 0) {
    last_error_message = std::string("the cuda device has no settable option '") + name + "' (options: math)";
    return RK_STATUS_INVALID_ARGUMENT;
  }
  bool ok = false;
  const cublasMath_t m = math_from(value, &ok);
  if (!ok) {
    last_error_message = std::string("math must be 'fp32' or 'tf32', got '") + value + "'";
    return RK_STATUS_INVALID_ARGUMENT;
  }
  math_mode.store(m);
  Context& c = context();
  if (c.start_done.load() && c.blas.get()) {
    std::lock_guard<std::mutex> lock(c.blas_mutex);
    const cublasStatus_t st = c.cublas->api().set_math_mode(c.blas.get(), m);
    if (st != CUBLAS_STATUS_SUCCESS) return fail("cublasSetMathMode failed: " + c.cublas->status_text(st));
  }
  return 0;
}

// "math", and the read-only count of device-to-host copies "host_copies".
int get_option(const char* name, char* value, size_t capacity) {
  std::string text;
  if (std::strcmp(name, "math") == 0) {
    text = math_mode.load() == CUBLAS_TF32_TENSOR_OP_MATH ? "tf32" : "fp32";
  } else if (std::strcmp(name, "host_copies") == 0) {
    text = std::to_string(host_copies.load(std::memory_order_relaxed));
  } else {
    last_error_message = std::string("the cuda device has no option '") + name + "' (options: math, host_copies)";
    return RK_STATUS_INVALID_ARGUMENT;
  }
  if (text.size() + 1 > capacity) {
    last_error_message = "get_option: the value does not fit";
    return RK_STATUS_INVALID_ARGUMENT;
  }
  std::memcpy(value, text.c_str(), text.size() + 1);
  return 0;
}

// The fused recurrences are optional in the ABI; this device runs the core's per-step loop
// (a cuBLAS GEMM and a cell kernel per step).
size_t packed_recurrent_bytes(int64_t, int64_t) { return 0; }

// Asked once by the registry when it loads the plugin: usable with a note on what runs (the
// GPU, driver and cuBLAS, or the emulated build), or not with the reason.
int32_t probe(const char** note) {
  const Context& c = context();
  if (const char* why = c.reason()) {
    *note = why;
    return 0;
  }
  *note = c.description.c_str();
  return 1;
}

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
  // No prepared GEMM operands (ABI v2 optional): a GPU reads the canonical weights as fast
  // as any copy of them, so the core keeps no second copy and calls gemm.
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
  o.sum_squares_many = sum_squares_many;
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
  o.set_option = set_option;
  o.get_option = get_option;
  o.probe = probe;
  o.gather_rows = gather_rows;
  o.transpose_2d = transpose_2d;
  // Shapes, merges and masks (ABI v4).
  o.repeat_rows = repeat_rows;
  o.sum_repeats = sum_repeats;
  o.rows_differ = rows_differ;
  o.mask_rows = mask_rows;
  // Normalization (ABI v4).
  o.layer_norm_forward = layer_norm_forward;
  o.layer_norm_backward = layer_norm_backward;
  o.batch_norm_statistics = batch_norm_statistics;
  o.batch_norm_forward = batch_norm_forward;
  o.batch_norm_backward = batch_norm_backward;
  o.window_gather_1d = window_gather_1d;
  o.window_scatter_1d = window_scatter_1d;
  o.pool_1d_forward = pool_1d_forward;
  o.pool_1d_backward = pool_1d_backward;
  o.global_pool_1d_forward = global_pool_1d_forward;
  o.global_pool_1d_backward = global_pool_1d_backward;
  return o;
}();

}  // namespace
}  // namespace rk::cuda

#define RK_EXPORT extern "C" __attribute__((visibility("default")))

// The table is returned whether or not the device can run: its entries then fail with the
// reason, and its probe says it up front. The one symbol the plugin exports.
RK_EXPORT const rk_device_ops* rk_get_device_ops(void) {
#if RNNKIT_CUDA_EMULATED
  // RNNKIT_CUDA_EMULATE=no-normalization: a table without the normalization entries, so that
  // the core's refusal of a device lacking an optional entry is tested.
  if (rk_emulation::simulates("no-normalization")) {
    static const rk_device_ops without = [] {
      rk_device_ops o = rk::cuda::kOps;
      o.layer_norm_forward = nullptr;
      o.layer_norm_backward = nullptr;
      o.batch_norm_statistics = nullptr;
      o.batch_norm_forward = nullptr;
      o.batch_norm_backward = nullptr;
      return o;
    }();
    return &without;
  }
#endif
  return &rk::cuda::kOps;
}
