// Weight initial values, generated natively (lib/initializers.ts resolves Keras's initializer
// semantics into the draws below and validates them).
//
// The generator is xoshiro128** seeded through splitmix32 from the seed's float64 bits, with
// Box-Muller normals in float64: the same sequence lib/initializers.ts used to draw in
// JavaScript. log, sin and cos are computed here with + - * / only (no libm, no FMA), so the
// values are bit-identical on every platform; they match V8's Math.log/sin/cos to an ulp of
// float64, so float32 values equal the former JavaScript ones except in rare last-bit cases.
//
// orthogonal: Q of the QR factorization of a standard normal matrix [max(r,c), min(r,c)]
// with the sign of diag(R) folded in (so diag(R) > 0: Q is Haar distributed), transposed for
// wide shapes, times gain. Blocked Householder in float64 (see householder_qr.h).
#ifndef RNNKIT_CORE_INITIALIZERS_H
#define RNNKIT_CORE_INITIALIZERS_H

#include <atomic>
#include <cstdint>
#include <vector>

#include "tensor.h"

namespace rk {

// One draw: which distribution, its two parameters, the seed, and the shape it fills.
struct InitDraw {
  enum class Kind { Zeros, Constant, Uniform, Normal, TruncatedNormal, Orthogonal, Identity };
  Kind kind = Kind::Zeros;
  // Constant: a = value. Uniform: [a, b). Normal / TruncatedNormal (redrawn beyond 2σ):
  // mean a, stddev b. Orthogonal, Identity: gain a.
  double a = 0, b = 0;
  double seed = 0;
  Shape shape;
};

// An array made of draws laid end to end (e.g. an LSTM bias: zeros, ones, zeros).
struct InitArray {
  Shape shape;
  std::vector<InitDraw> parts;
};

// Throws RangeError when the parts do not fill the shape or a draw does not fit its kind.
void validate(const InitArray& array);
// Fills `out` (element_count(array.shape) floats). Validate first. Once `stop` is set,
// throws rk::Error (InvalidState) within about a million values or one QR panel.
// `spare_core`: the orthogonal QR leaves one core free (work beside a live event loop).
void generate(const InitArray& array, float* out, const std::atomic<bool>* stop = nullptr, bool spare_core = false);

// The seeded generator (exposed for tests of the exact sequence).
class Xoshiro128 {
 public:
  explicit Xoshiro128(double seed);
  uint32_t next_u32();
  double uniform();          // [0, 1), 53 bits
  double normal();           // Box-Muller, second variate kept for the next call
  double truncated_normal(); // redrawn until within [-2, 2]

 private:
  uint32_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace rk

#endif
