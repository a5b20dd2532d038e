// The CUDA device's process-wide state: whether it can run (and why not), its stream,
// cuBLAS and the allocator. Probed on first use (cheap: no CUDA context), started on the
// first entry that needs the GPU, and never torn down: the static CUDA runtime runs its own
// exit handlers, and freeing device memory or cuBLAS handles after them would touch a
// runtime that is gone.
#ifndef RNNKIT_CUDA_CONTEXT_H
#define RNNKIT_CUDA_CONTEXT_H

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "allocator.h"
#include "cublas_loader.h"
#include "runtime.h"

namespace rk::cuda {

// A stream, destroyed with its owner.
class Stream {
 public:
  Stream() = default;
  explicit Stream(cudaStream_t s) : stream_(s) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    if (stream_) cudaStreamDestroy(stream_);
  }
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

struct Context {
  std::string unavailable;  // the probe's reason (driver, device, cuBLAS); empty: usable
  std::string description;  // what runs, when usable
  std::string start_error;  // why the context, stream or cuBLAS handle could not be made
  std::atomic<bool> start_done{false};
  // The reason the device cannot run, or null; a start error counts once start has run.
  const char* reason() const;
  std::unique_ptr<Stream> stream;
  std::unique_ptr<CublasLibrary> cublas;
  CublasHandle blas;
  // cuBLAS calls on the one handle come from any host thread (the addon's worker pool); a
  // handle is not meant to be used by several threads at once.
  std::mutex blas_mutex;
  CachingAllocator allocator;
};

// The context, probed on first call; never throws, never aborts.
Context& context();
// The context, started (CUDA context, stream, cuBLAS handle) if the probe found no reason.
Context& started();

}  // namespace rk::cuda

#endif
