#include "initializers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "errors.h"
#include "householder_qr.h"

// a·b + c must round twice everywhere: never fused into an FMA (which AVX-512 clones or
// another compiler would otherwise do, changing the values from one machine to the next).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#elif defined(_MSC_VER)
#pragma fp_contract(off)
#endif

namespace rk {
namespace {

uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

// log(x) for x in (0, 1]: x = m·2^e with m in [√½, √2), log m = 2·atanh(s), s = (m-1)/(m+1)
// (|s| < 0.172), the series to s^23. Only + - * /: the same bits everywhere.
double portable_log(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;  // x is normal: u1 >= 2^-53
  double m;
  std::memcpy(&m, &bits, sizeof m);
  if (m > 1.4142135623730951) m *= 0.5, e += 1;
  const double s = (m - 1.0) / (m + 1.0), z = s * s;
  double poly = 1.0 / 23.0;
  for (int n = 21; n >= 1; n -= 2) poly = poly * z + 1.0 / n;
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  return e * ln2_hi + (2.0 * s * poly + e * ln2_lo);
}

// sin and cos of 2π·u for u in [0, 1): quadrant from 4u (exact), the rest in [-π/4, π/4]
// by Taylor series to x^17 / x^18.
void portable_sincos_turns(double u, double* sin_out, double* cos_out) {
  const double t = 4.0 * u;
  int q = static_cast<int>(t);
  double g = t - q;  // exact, [0, 1)
  if (g > 0.5) g -= 1.0, q += 1;
  const double x = g * 1.5707963267948966, z = x * x;
  // sin x = x·(1 - z/3! + z²/5! - ...), Horner from 1/17!.
  double s = 1.0 / 355687428096000.0;    // 1/17!
  s = s * -z + 1.0 / 1307674368000.0;    // 1/15!
  s = s * -z + 1.0 / 6227020800.0;       // 1/13!
  s = s * -z + 1.0 / 39916800.0;         // 1/11!
  s = s * -z + 1.0 / 362880.0;           // 1/9!
  s = s * -z + 1.0 / 5040.0;             // 1/7!
  s = s * -z + 1.0 / 120.0;              // 1/5!
  s = s * -z + 1.0 / 6.0;                // 1/3!
  s = s * -z + 1.0;
  const double sn = x * s;
  double c = 1.0 / 6402373705728000.0;   // 1/18!
  c = c * -z + 1.0 / 20922789888000.0;   // 1/16!
  c = c * -z + 1.0 / 87178291200.0;      // 1/14!
  c = c * -z + 1.0 / 479001600.0;        // 1/12!
  c = c * -z + 1.0 / 3628800.0;          // 1/10!
  c = c * -z + 1.0 / 40320.0;            // 1/8!
  c = c * -z + 1.0 / 720.0;              // 1/6!
  c = c * -z + 1.0 / 24.0;               // 1/4!
  c = c * -z + 0.5;                      // 1/2!
  const double cs = 1.0 - z * c;
  switch (q & 3) {
    case 0: *sin_out = sn, *cos_out = cs; break;
    case 1: *sin_out = cs, *cos_out = -sn; break;
    case 2: *sin_out = -sn, *cos_out = -cs; break;
    default: *sin_out = -cs, *cos_out = sn; break;
  }
}

int64_t draw_size(const InitDraw& d) { return element_count(d.shape); }

// Values drawn between two checks of the stop flag.
constexpr int64_t kChunk = int64_t{1} << 20;

void fill_uniform(float* out, int64_t n, Xoshiro128& rng, double lo, double hi, const std::atomic<bool>* stop) {
  const double width = hi - lo;
  for (int64_t i = 0; i < n; ++i) {
    if (i % kChunk == 0) check_stop(stop);
    float v = static_cast<float>(lo + width * rng.uniform());
    // Keep the upper bound exclusive after rounding to float32 (when the range allows).
    if (static_cast<double>(v) >= hi && hi > lo) v = static_cast<float>(lo + width * 0.5);
    out[i] = v;
  }
}

void fill_orthogonal(float* out, const Shape& shape, Xoshiro128& rng, double gain, const std::atomic<bool>* stop,
                     bool spare_core) {
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  const int64_t cols = shape.back();
  if (rows == 0 || cols == 0) return;
  const int64_t m = std::max(rows, cols), k = std::min(rows, cols);
  std::vector<double> a(static_cast<size_t>(m * k));
  for (size_t i = 0; i < a.size(); ++i) {
    if (i % kChunk == 0) check_stop(stop);
    a[i] = rng.normal();
  }
  householder_q(a.data(), m, k, stop, spare_core);
  if (rows >= cols) {
    for (int64_t i = 0; i < m * k; ++i) out[i] = static_cast<float>(gain * a[i]);
  } else {
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < m; ++c) out[r * m + c] = static_cast<float>(gain * a[c * k + r]);
  }
}

void fill_draw(const InitDraw& d, float* out, const std::atomic<bool>* stop, bool spare_core) {
  const int64_t n = draw_size(d);
  using K = InitDraw::Kind;
  switch (d.kind) {
    case K::Zeros:
      std::fill(out, out + n, 0.0f);
      return;
    case K::Constant:
      std::fill(out, out + n, static_cast<float>(d.a));
      return;
    case K::Identity: {
      std::fill(out, out + n, 0.0f);
      const int64_t rows = d.shape[0], cols = d.shape[1];
      for (int64_t i = 0; i < std::min(rows, cols); ++i) out[i * cols + i] = static_cast<float>(d.a);
      return;
    }
    default:
      break;
  }
  Xoshiro128 rng(d.seed);
  switch (d.kind) {
    case K::Uniform:
      fill_uniform(out, n, rng, d.a, d.b, stop);
      return;
    case K::Normal:
      for (int64_t i = 0; i < n; ++i) {
        if (i % kChunk == 0) check_stop(stop);
        out[i] = static_cast<float>(d.a + d.b * rng.normal());
      }
      return;
    case K::TruncatedNormal:
      for (int64_t i = 0; i < n; ++i) {
        if (i % kChunk == 0) check_stop(stop);
        out[i] = static_cast<float>(d.a + d.b * rng.truncated_normal());
      }
      return;
    case K::Orthogonal:
      fill_orthogonal(out, d.shape, rng, d.a, stop, spare_core);
      return;
    default:
      return;
  }
}

}  // namespace

Xoshiro128::Xoshiro128(double seed) {
  // splitmix32 over the seed's float64 bits (high word, then low word); -0 is 0.
  const double s = seed == 0 ? 0.0 : seed;
  uint64_t bits;
  std::memcpy(&bits, &s, sizeof bits);
  uint32_t x = static_cast<uint32_t>(bits >> 32) ^ (static_cast<uint32_t>(bits) * 0x9e3779b9u);
  for (uint32_t& word : s_) {
    x += 0x9e3779b9u;
    uint32_t z = x;
    z = (z ^ (z >> 16)) * 0x85ebca6bu;
    z = (z ^ (z >> 13)) * 0xc2b2ae35u;
    word = z ^ (z >> 16);
  }
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
}

uint32_t Xoshiro128::next_u32() {
  const uint32_t result = rotl(s_[1] * 5u, 7) * 9u;
  const uint32_t t = s_[1] << 9;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 11);
  return result;
}

double Xoshiro128::uniform() {
  const uint32_t hi = next_u32() >> 5;  // 27 bits
  const uint32_t lo = next_u32() >> 6;  // 26 bits
  return (hi * 67108864.0 + lo) / 9007199254740992.0;
}

double Xoshiro128::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - uniform();  // (0, 1]
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * portable_log(u1));
  double s, c;
  portable_sincos_turns(u2, &s, &c);
  spare_ = r * s;
  has_spare_ = true;
  return r * c;
}

double Xoshiro128::truncated_normal() {
  for (;;) {
    const double z = normal();
    if (z >= -2 && z <= 2) return z;
  }
}

void validate(const InitArray& array) {
  int64_t total = 0;
  for (const InitDraw& d : array.parts) {
    if (!std::isfinite(d.a) || !std::isfinite(d.b) || !std::isfinite(d.seed))
      throw RangeError("initializer parameters and seed must be finite numbers");
    if (d.kind == InitDraw::Kind::Orthogonal && d.shape.size() < 2)
      throw RangeError("the orthogonal initializer needs a shape of rank >= 2; got shape " + shape_string(d.shape));
    if (d.kind == InitDraw::Kind::Identity && d.shape.size() != 2)
      throw RangeError("the identity initializer needs a 2-D shape; got shape " + shape_string(d.shape));
    total += draw_size(d);
  }
  if (total != element_count(array.shape))
    throw RangeError("initializer parts fill " + std::to_string(total) + " values of shape " +
                     shape_string(array.shape) + " (" + std::to_string(element_count(array.shape)) + ")");
}

void generate(const InitArray& array, float* out, const std::atomic<bool>* stop, bool spare_core) {
  for (const InitDraw& d : array.parts) {
    fill_draw(d, out, stop, spare_core);
    out += draw_size(d);
  }
}

}  // namespace rk
