// The fused recurrence of the CPU device: all timesteps in one pool launch. R is packed
// chunk by chunk (32 units) with all gates of a chunk together. Small batches are split by
// chunks: a thread's slice of R stays in its own cache across timesteps, its GEMM output
// feeds its own pointwise step directly, and threads meet once per step. Larger batches are
// split by rows: each thread runs its rows through every step without meeting the others.
#ifndef RNNKIT_CPU_RECURRENT_H
#define RNNKIT_CPU_RECURRENT_H

#include <cstddef>
#include <cstdint>

#include "../core/device_abi.h"

namespace rk::cpu {

size_t packed_recurrent_bytes(int64_t hidden, int64_t gates);
void pack_recurrent(const float* r, int64_t hidden, int64_t gates, float* packed);
void recurrent_forward(const rk_recurrent_forward_args& args);
// BPTT's per-step loop likewise: split by units, each thread runs the pointwise backward of
// its units, then (after one barrier, as it needs every unit's gate gradients) the GEMM for
// its own units of dh_prev, which is all its next step reads; split by rows, no barrier.
void recurrent_backward(const rk_recurrent_backward_args& args);
// Whether a recurrence over `batch` rows on the pool's threads splits its rows among them.
bool splits_by_rows(int64_t batch);
// Whether the fused paths are on (RNNKIT_CPU_FUSED=0 turns them off, to test the plain loop).
bool fused_enabled();

}  // namespace rk::cpu

#endif
