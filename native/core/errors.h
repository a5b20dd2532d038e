// Errors the core raises. The N-API layer maps them onto TypeError / RangeError / Error.
#ifndef RNNKIT_CORE_ERRORS_H
#define RNNKIT_CORE_ERRORS_H

#include <stdexcept>
#include <string>

namespace rk {

// A caller passed the wrong kind of value (JavaScript TypeError).
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A value of the right kind is out of range or has the wrong shape (RangeError).
struct RangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A device operation failed (out of memory, driver error): plain Error.
struct DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace rk

#endif
