#include "backends.h"

#ifndef _WIN32
#include <dlfcn.h>
#include <sys/stat.h>
#endif

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "../cpu/cpu_device.h"

namespace rk::napi {
namespace {

// Entries a plugin must provide; every other entry is optional (device_abi.h says which,
// and the core falls back when they are null).
#define RK_MANDATORY_ENTRIES(X)                                                                              \
  X(last_error) X(alloc) X(release) X(copy) X(fill) X(synchronize) X(memory_stats) X(gemm) X(permute_steps) \
  X(reverse_valid_steps) X(cell_forward) X(cell_backward) X(sum_rows) X(sum_squares) X(axpby) X(multiply)   \
  X(clamp) X(copy_2d) X(bias_activation) X(activation_backward) X(loss) X(optimizer_step) X(count_correct) \
  X(embedding_forward) X(embedding_backward) X(dropout)

#ifndef _WIN32
bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Where the plugin may be: RNNKIT_CUDA_PLUGIN alone when set; else beside the addon binary
// (prebuilds/<platform>/ or build/Release/), then build-cuda/ at the package root (two
// levels above either folder), where `npm run build:cuda` puts it during development.
std::vector<std::string> candidate_paths() {
  const char* env = std::getenv("RNNKIT_CUDA_PLUGIN");
  // A bare file name is in the working directory, as for any path (dlopen would search the
  // library path for it instead).
  if (env && *env) return {std::strchr(env, '/') ? std::string(env) : "./" + std::string(env)};
  Dl_info info{};
  if (!dladdr(reinterpret_cast<const void*>(&candidate_paths), &info) || !info.dli_fname) return {};
  const std::string dir = parent_dir(info.dli_fname);
  return {dir + "/rnnkit_cuda.so", parent_dir(parent_dir(dir)) + "/build-cuda/rnnkit_cuda.so"};
}
#endif

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The CUDA plugin: loaded once per process, on first use.
struct Plugin {
  bool available = false;
  std::string reason;
  rk_device_ops ops{};  // the plugin's table; version 1 tables are padded with null v2 entries
  std::unique_ptr<Device> device;

  void load() {
#ifdef _WIN32
    // The plugin is a Linux shared library (CMakeLists.txt); Windows runs on the CPU.
    reason = "the CUDA device plugin is built for Linux only; rnnkit runs on the CPU here";
  }
#else
    const std::vector<std::string> paths = candidate_paths();
    std::string path;
    for (const std::string& p : paths)
      if (is_file(p)) {
        path = p;
        break;
      }
    if (path.empty()) {
      const char* env = std::getenv("RNNKIT_CUDA_PLUGIN");
      reason = std::string("the CUDA device plugin ") + (env && *env ? "named by RNNKIT_CUDA_PLUGIN " : "") +
               "was not found (tried: " + join(paths) + ")";
      return;
    }
    // Never dlclose'd: the static CUDA runtime registers exit handlers that must find
    // its code still mapped, and tensors on the device may outlive any owner we could name.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* error = dlerror();
      reason = "cannot load the CUDA device plugin: " + std::string(error ? error : path);
      return;
    }
    const std::string where = "the CUDA device plugin " + path;
    auto entry = reinterpret_cast<rk_get_device_ops_fn>(dlsym(handle, RK_DEVICE_ENTRY));
    if (!entry) {
      reason = where + " does not export " RK_DEVICE_ENTRY;
      return;
    }
    const rk_device_ops* table = entry();
    if (!table) {
      reason = where + ": " RK_DEVICE_ENTRY " returned no device table";
      return;
    }
    if (table->abi_version < RK_DEVICE_ABI_MIN_VERSION || table->abi_version > RK_DEVICE_ABI_VERSION) {
      reason = where + " has device ABI version " + std::to_string(table->abi_version) +
               "; this rnnkit supports versions " + std::to_string(RK_DEVICE_ABI_MIN_VERSION) + " to " +
               std::to_string(RK_DEVICE_ABI_VERSION);
      return;
    }
    // Read no further than the table's own version has entries.
    const size_t size = table->abi_version == 1   ? RK_DEVICE_OPS_V1_SIZE
                        : table->abi_version == 2 ? RK_DEVICE_OPS_V2_SIZE
                        : table->abi_version == 3 ? RK_DEVICE_OPS_V3_SIZE
                                                  : sizeof ops;
    std::memcpy(&ops, table, size);
    std::vector<std::string> missing;
    if (!ops.name) missing.push_back("name");
#define RK_CHECK_ENTRY(entry) \
  if (!ops.entry) missing.push_back(#entry);
    RK_MANDATORY_ENTRIES(RK_CHECK_ENTRY)
#undef RK_CHECK_ENTRY
    if (!missing.empty()) {
      reason = where + " lacks mandatory entries: " + join(missing);
      return;
    }
    if (std::strcmp(ops.name, "cuda") != 0) {
      reason = where + " provides the device '" + ops.name + "', expected 'cuda'";
      return;
    }
    const char* note = nullptr;
    available = ops.probe ? ops.probe(&note) != 0 : true;
    if (note) reason = note;
    else if (!available) reason = where + " cannot run on this machine (it gave no reason)";
    if (available) device = std::make_unique<Device>(&ops);
  }
#endif
};

Plugin& cuda_plugin() {
  static Plugin plugin;
  static std::once_flag once;
  std::call_once(once, [] { plugin.load(); });
  return plugin;
}

}  // namespace

const Device& cpu_device() {
  static const Device device(rk::cpu::device_ops());
  return device;
}

std::vector<BackendStatus> backend_statuses() {
  const Plugin& cuda = cuda_plugin();
  return {{"cpu", true, ""}, {"cuda", cuda.available, cuda.reason}};
}

const Device& device_for(const std::string& name) {
  if (name == "cpu") return cpu_device();
  if (name == "cuda") {
    const Plugin& cuda = cuda_plugin();
    if (!cuda.available)
      throw DeviceError("backend 'cuda' is unavailable: " + cuda.reason, ErrorCode::Unsupported);
    return *cuda.device;
  }
  throw TypeError("backend must be 'cpu' or 'cuda', got '" + name + "'");
}

}  // namespace rk::napi
