// cuBLAS loaded at run time with dlopen, so that the plugin needs no cuBLAS to build or to
// load, and says which files it tried when there is none. The few functions used are
// declared here from cuBLAS 12/13's cublas_api.h (their C ABI has been stable since the
// _v2 API); no cuBLAS header is needed.
#ifndef RNNKIT_CUDA_CUBLAS_LOADER_H
#define RNNKIT_CUDA_CUBLAS_LOADER_H

#include <memory>
#include <string>
#include <vector>

namespace rk::cuda {

typedef struct cublasContext* cublasHandle_t;
typedef int cublasStatus_t;      // cublasStatus_t is a C enum: int-sized
typedef int cublasOperation_t;
typedef int cublasMath_t;
typedef struct rk_stream_opaque* cublasStream_t;  // cudaStream_t as cuBLAS sees it

constexpr cublasStatus_t CUBLAS_STATUS_SUCCESS = 0;
constexpr cublasStatus_t CUBLAS_STATUS_INVALID_VALUE = 7;
constexpr cublasOperation_t CUBLAS_OP_N = 0;
constexpr cublasOperation_t CUBLAS_OP_T = 1;
constexpr cublasMath_t CUBLAS_DEFAULT_MATH = 0;
constexpr cublasMath_t CUBLAS_PEDANTIC_MATH = 2;
constexpr cublasMath_t CUBLAS_TF32_TENSOR_OP_MATH = 3;

struct CublasApi {
  cublasStatus_t (*create)(cublasHandle_t*) = nullptr;
  cublasStatus_t (*destroy)(cublasHandle_t) = nullptr;
  cublasStatus_t (*set_stream)(cublasHandle_t, cublasStream_t) = nullptr;
  cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t) = nullptr;
  cublasStatus_t (*sgemm)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const float*,
                          const float*, int, const float*, int, const float*, float*, int) = nullptr;
  const char* (*status_string)(cublasStatus_t) = nullptr;
};

// The library, open for the life of the process (cuBLAS is never unloaded: its handles
// and the CUDA runtime's exit handlers may still refer to it).
class CublasLibrary {
 public:
  // Tries RNNKIT_CUBLAS=<path> alone when set; else libcublas.so.13, .so.12 and libcublas.so
  // through the loader's search path, then in the standard CUDA library folders.
  static std::unique_ptr<CublasLibrary> load(std::string* reason);
  const CublasApi& api() const { return api_; }
  const std::string& path() const { return path_; }
  std::string status_text(cublasStatus_t status) const;

 private:
  void* handle_ = nullptr;  // dlopen's handle, never dlclose'd (see above)
  CublasApi api_;
  std::string path_;
};

// A cuBLAS handle, destroyed with its owner.
class CublasHandle {
 public:
  CublasHandle() = default;
  CublasHandle(const CublasApi* api, cublasHandle_t h) : api_(api), handle_(h) {}
  CublasHandle(CublasHandle&& o) noexcept : api_(o.api_), handle_(o.handle_) { o.handle_ = nullptr; }
  CublasHandle& operator=(CublasHandle&& o) noexcept {
    if (this != &o) {
      reset();
      api_ = o.api_;
      handle_ = o.handle_;
      o.handle_ = nullptr;
    }
    return *this;
  }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  ~CublasHandle() { reset(); }
  cublasHandle_t get() const { return handle_; }

 private:
  void reset() {
    if (handle_) api_->destroy(handle_);
    handle_ = nullptr;
  }
  const CublasApi* api_ = nullptr;
  cublasHandle_t handle_ = nullptr;
};

}  // namespace rk::cuda

#endif
