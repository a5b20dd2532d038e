#include "cublas_loader.h"

#include <dlfcn.h>

#include <cstdlib>

namespace rk::cuda {
namespace {

// Where CUDA toolkits and distributions put libcublas when the loader's path misses it.
const char* const kFolders[] = {
    "/usr/local/cuda/lib64/",
    "/usr/local/cuda/targets/x86_64-linux/lib/",
    "/usr/local/cuda/targets/sbsa-linux/lib/",
    "/usr/lib/x86_64-linux-gnu/",
    "/usr/lib/aarch64-linux-gnu/",
    "/usr/lib64/",
};
const char* const kNames[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};

template <typename F>
bool bind(void* lib, const char* name, F* out, std::string* missing) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (!*out) *missing += std::string(missing->empty() ? "" : ", ") + name;
  return *out != nullptr;
}

}  // namespace

std::unique_ptr<CublasLibrary> CublasLibrary::load(std::string* reason) {
  std::vector<std::string> candidates;
  const char* forced = std::getenv("RNNKIT_CUBLAS");
  if (forced && *forced) {
    candidates.push_back(forced);
  } else {
#ifdef RNNKIT_CUBLAS_BESIDE_PLUGIN
    // The emulated plugin's fake cuBLAS lives beside it (build-cuda/libcublas.so.13). Found
    // through the plugin's own path rather than its RUNPATH: a dlopen's RUNPATH is that of
    // the caller, which interposers such as ASan's replace.
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&CublasLibrary::load), &self) && self.dli_fname) {
      const std::string path = self.dli_fname;
      candidates.push_back(path.substr(0, path.rfind('/') + 1) + "libcublas.so.13");
    }
#endif
    for (const char* name : kNames) candidates.push_back(name);
    for (const char* folder : kFolders)
      for (const char* name : kNames) candidates.push_back(std::string(folder) + name);
  }
  std::string tried;
  for (const std::string& path : candidates) {
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      tried += (tried.empty() ? "" : "; ") + path;
      continue;
    }
    auto out = std::make_unique<CublasLibrary>();
    out->handle_ = lib;
    out->path_ = path;
    std::string missing;
    CublasApi& a = out->api_;
    bind(lib, "cublasCreate_v2", &a.create, &missing);
    bind(lib, "cublasDestroy_v2", &a.destroy, &missing);
    bind(lib, "cublasSetStream_v2", &a.set_stream, &missing);
    bind(lib, "cublasSetMathMode", &a.set_math_mode, &missing);
    bind(lib, "cublasSgemm_v2", &a.sgemm, &missing);
    bind(lib, "cublasGetStatusString", &a.status_string, &missing);
    if (missing.empty()) return out;
    tried += (tried.empty() ? "" : "; ") + path + " (lacks " + missing + ")";
  }
  *reason = "cuBLAS not found (tried " + tried + (forced && *forced ? ", from RNNKIT_CUBLAS" : "") +
            "; set RNNKIT_CUBLAS=<path to libcublas.so.N>)";
  return nullptr;
}

std::string CublasLibrary::status_text(cublasStatus_t status) const {
  const char* s = api_.status_string ? api_.status_string(status) : nullptr;
  return std::string("cuBLAS status ") + std::to_string(status) + (s ? std::string(" (") + s + ")" : "");
}

}  // namespace rk::cuda
