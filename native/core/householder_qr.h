// The Q factor of a thin QR factorization, by blocked Householder in float64.
//
// Panels of kPanel columns are factored with plain reflections; each panel's reflectors are
// accumulated in compact WY form (I - V·T·Vᵀ) and applied to the rest of the matrix, and
// then backwards to the identity to form Q, as two GEMM-shaped loops that keep the work in
// cache and vectorize. Every sum runs in a fixed order (no FMA contraction, no reassociation,
// no thread-count-dependent splits), so Q is bit-identical on every platform and ISA.
#ifndef RNNKIT_CORE_HOUSEHOLDER_QR_H
#define RNNKIT_CORE_HOUSEHOLDER_QR_H

#include <atomic>
#include <cstdint>

namespace rk {

// `a` holds an [m, k] row-major matrix with m >= k >= 1; on return it holds Q [m, k] with
// Qᵀ·Q = I and A = Q·R, each column of Q multiplied by the sign of R's diagonal entry
// (so that diag(R) >= 0, which makes Q unique). Throws std::bad_alloc for its workspace.
// When `stop` is set (the caller no longer wants Q), throws rk::Error (InvalidState) at the
// next panel. `spare_core`: leave one core free (work running beside a live event loop).
void householder_q(double* a, int64_t m, int64_t k, const std::atomic<bool>* stop = nullptr, bool spare_core = false);

// Throws rk::Error (InvalidState) when `stop` is set.
void check_stop(const std::atomic<bool>* stop);

}  // namespace rk

#endif
