// A fake libcublas.so.13 for the emulated CUDA device: the functions cublas_loader.cpp
// binds, with a reference column-major SGEMM and the argument checks cuBLAS makes, so that
// the loader, the operand swap of gemm.cu and its leading dimensions are exercised without
// cuBLAS. "Device" memory is host memory here (the emulation's).
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace {
struct FakeHandle {
  void* stream = nullptr;
  int math_mode = 0;
};
constexpr int kSuccess = 0, kNotInitialized = 1, kInvalidValue = 7;
int max1(int v) { return v > 1 ? v : 1; }
}  // namespace

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

FAKE_EXPORT int cublasCreate_v2(FakeHandle** handle) {
  if (!handle) return kInvalidValue;
  *handle = std::make_unique<FakeHandle>().release();  // owned by the caller until cublasDestroy_v2
  return kSuccess;
}

FAKE_EXPORT int cublasDestroy_v2(FakeHandle* handle) {
  if (!handle) return kNotInitialized;
  std::unique_ptr<FakeHandle> owned(handle);
  return kSuccess;
}

FAKE_EXPORT int cublasSetStream_v2(FakeHandle* handle, void* stream) {
  if (!handle) return kNotInitialized;
  handle->stream = stream;
  return kSuccess;
}

FAKE_EXPORT int cublasSetMathMode(FakeHandle* handle, int mode) {
  if (!handle) return kNotInitialized;
  if (mode != 0 && mode != 2 && mode != 3 && mode != 1) return kInvalidValue;
  handle->math_mode = mode;
  return kSuccess;
}

FAKE_EXPORT const char* cublasGetStatusString(int status) {
  switch (status) {
    case kSuccess: return "CUBLAS_STATUS_SUCCESS";
    case kNotInitialized: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case kInvalidValue: return "CUBLAS_STATUS_INVALID_VALUE";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

// Column-major C[m,n] = alpha·op(A)·op(B) + beta·C, A element (i, p) at A[i + p·lda].
FAKE_EXPORT int cublasSgemm_v2(FakeHandle* handle, int transa, int transb, int m, int n, int k, const float* alpha,
                               const float* A, int lda, const float* B, int ldb, const float* beta, float* C, int ldc) {
  if (!handle) return kNotInitialized;
  if ((transa != 0 && transa != 1) || (transb != 0 && transb != 1)) return kInvalidValue;
  if (m < 0 || n < 0 || k < 0) return kInvalidValue;
  if (lda < max1(transa == 0 ? m : k) || ldb < max1(transb == 0 ? k : n) || ldc < max1(m)) return kInvalidValue;
  if (!alpha || !beta) return kInvalidValue;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float sum = 0.0f;
      for (int p = 0; p < k; ++p) {
        const float a = transa == 0 ? A[i + static_cast<int64_t>(p) * lda] : A[p + static_cast<int64_t>(i) * lda];
        const float b = transb == 0 ? B[p + static_cast<int64_t>(j) * ldb] : B[j + static_cast<int64_t>(p) * ldb];
        sum += a * b;
      }
      float& c = C[i + static_cast<int64_t>(j) * ldc];
      // With beta = 0, C is not read (it may hold NaN), as cuBLAS documents.
      c = *beta == 0.0f ? *alpha * sum : *alpha * sum + *beta * c;
    }
  return kSuccess;
}
