// V8's count of external memory, raised while a JavaScript handle owns a native buffer, so
// that garbage collection feels the native memory behind small handles.
#ifndef RNNKIT_NAPI_EXTERNAL_MEMORY_H
#define RNNKIT_NAPI_EXTERNAL_MEMORY_H

#include <node_api.h>

#include <cstdint>
#include <utility>

namespace rk::napi {

class ExternalMemory {
 public:
  ExternalMemory() = default;
  ExternalMemory(napi_env env, int64_t bytes) : env_(env), bytes_(bytes) { adjust(bytes_); }
  ExternalMemory(ExternalMemory&& other) noexcept
      : env_(std::exchange(other.env_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  ExternalMemory& operator=(ExternalMemory&& other) noexcept {
    release();
    env_ = std::exchange(other.env_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    return *this;
  }
  ~ExternalMemory() { release(); }

  // The status is ignored: this also runs in finalizers while the environment shuts down,
  // where a throwing call would end the process.
  void release() noexcept {
    adjust(-bytes_);
    bytes_ = 0;
  }

 private:
  void adjust(int64_t delta) noexcept {
    int64_t total = 0;
    if (env_ && delta) napi_adjust_external_memory(env_, delta, &total);
  }
  napi_env env_ = nullptr;
  int64_t bytes_ = 0;
};

}  // namespace rk::napi

#endif
