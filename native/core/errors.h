// Errors the core raises. Each carries one of rnnkit's stable codes; the N-API layer maps
// them onto TypeError / RangeError / Error with that code (lib/errors.ts lists the codes).
#ifndef RNNKIT_CORE_ERRORS_H
#define RNNKIT_CORE_ERRORS_H

#include <stdexcept>
#include <string>

namespace rk {

enum class ErrorCode { InvalidArgument, ModelFile, Disposed, OutOfMemory, Unsupported, InvalidState, Device };

inline const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "RNNKIT_INVALID_ARGUMENT";
    case ErrorCode::ModelFile: return "RNNKIT_MODEL_FILE";
    case ErrorCode::Disposed: return "RNNKIT_DISPOSED";
    case ErrorCode::OutOfMemory: return "RNNKIT_OUT_OF_MEMORY";
    case ErrorCode::Unsupported: return "RNNKIT_UNSUPPORTED";
    case ErrorCode::InvalidState: return "RNNKIT_INVALID_STATE";
    case ErrorCode::Device: return "RNNKIT_DEVICE";
  }
  return "RNNKIT_DEVICE";
}

// Any rnnkit error: a message and a code (JavaScript Error).
struct Error : std::runtime_error {
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code(code) {}
  ErrorCode code;
};
// A caller passed the wrong kind of value (JavaScript TypeError).
struct TypeError : Error {
  explicit TypeError(const std::string& message, ErrorCode code = ErrorCode::InvalidArgument) : Error(code, message) {}
};
// A value of the right kind is out of range or has the wrong shape (RangeError).
struct RangeError : Error {
  explicit RangeError(const std::string& message, ErrorCode code = ErrorCode::InvalidArgument) : Error(code, message) {}
};
// A device operation failed (driver error, or out of memory with ErrorCode::OutOfMemory).
struct DeviceError : Error {
  explicit DeviceError(const std::string& message, ErrorCode code = ErrorCode::Device) : Error(code, message) {}
};

}  // namespace rk

#endif
