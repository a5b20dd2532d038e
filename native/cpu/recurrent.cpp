#include "recurrent.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "../core/cell_math.h"
#include "gemm.h"
#include "isa.h"
#include "kernels.h"
#include "thread_pool.h"

namespace rk::cpu {
namespace {

int64_t chunk_count(int64_t hidden) { return (hidden + kPanel - 1) / kPanel; }

// Panel (chunk c, gate g) holds op(B) = Rᵀ columns g·H + c·kPanel + j, i.e. rows of R.
const float* chunk_panels(const void* packed, int64_t hidden, int64_t gates, int64_t chunk) {
  return static_cast<const float*>(packed) + chunk * gates * hidden * kPanel;
}

// h·Rᵀ for this thread's chunks [c0, c1): writes hr columns g·H + c·kPanel + [0, kPanel).
// h is read in place ([rows, hidden]).
// Odd steps walk the depth backwards (see Kernels::gemm_block).
void multiply_chunks(const Kernels& kern, int64_t rows, int64_t hidden, int64_t gates, const float* h,
                     const void* packed, int64_t c0, int64_t c1, float* hr, int64_t ldc, int64_t step) {
  if (c0 >= c1) return;
  const int64_t cols = std::min(hidden, c1 * kPanel) - c0 * kPanel;
  kern.gemm_block(rows, hidden, h, hidden, chunk_panels(packed, hidden, gates, c0), hidden * kPanel,
                  (c1 - c0) * gates, gates, hidden, cols, 1.0f, false, hr + c0 * kPanel, ldc, step % 2 == 1);
}

// How the threads share a recurrence. By units: every thread computes its chunks of units
// for every row, keeps its slice of R in its own cache, and the threads meet once per step
// (each step reads every unit of h). By rows: each thread runs its own batch rows through
// every step with no meeting at all, reading all of R every step; it wins once every thread
// has enough rows to reuse R well, and it needs no cross-core traffic per step.
struct Share {
  Range rows, chunks;
  int64_t u0, u1;  // the units of `chunks`
  bool meet;
};

constexpr int64_t kMinRowsPerThread = 8;
// 5, not 4: AVX2 runs a part of 5 rows as one group with 10 accumulators, where 4 rows (8)
// left its FMA units short of independent work (Zen 2, (32,100,128,256) LSTM next to a busy
// process: 1.03-1.08x the quiet 1-thread time with parts of 4 rows, 0.88-0.89x with 5).
constexpr int64_t kMinRowsPerCrowdedPart = 5;
// The least work per step and thread worth a meeting per step (a meeting costs a few
// hundred nanoseconds between cores): below it one thread runs the whole recurrence.
constexpr double kMinStepFlopsPerThread = 8 * 1024;

// RNNKIT_CPU_SPLIT=rows or units forces a split (units: a team of every thread the units
// allow, whatever the work), for tests and measurements.
const std::string& forced_split() {
  static const std::string forced = [] {
    const char* env = std::getenv("RNNKIT_CPU_SPLIT");
    return std::string(env ? env : "");
  }();
  return forced;
}

Share share_of(bool by_rows, int64_t batch, int64_t hidden, int index, int count) {
  const Range all_chunks{0, chunk_count(hidden)};
  const Range rows = by_rows ? split_range(batch, 1, index, count) : Range{0, batch};
  const Range chunks = by_rows ? all_chunks : split_range(all_chunks.end, 1, index, count);
  return {rows, chunks, chunks.begin * kPanel, std::min(hidden, chunks.end * kPanel), !by_rows && count > 1};
}

// One thread's part of a recurrence: its share, and the meetings of a team split by units.
class Member {
 public:
  Member(bool by_rows, int64_t batch, int64_t hidden, int index, int count)
      : by_rows_(by_rows), batch_(batch), hidden_(hidden), index_(index), count_(count),
        share_(share_of(by_rows, batch, hidden, index, count)) {}
  const Share& share() const { return share_; }
  bool by_rows() const { return by_rows_; }
  // This member's part of [0, total) cut in `grain`s among the team as it stands.
  Range part(int64_t total, int64_t grain) const { return split_range(total, grain, index_, count_); }
  // Meets the team where the share says so. False: this thread leaves the recurrence (the
  // team ended after a stall); the caller, which always stays, then shares it alone.
  bool meet() {
    if (!share_.meet) return true;
    count_ = ThreadPool::instance().meet(index_, count_);
    if (index_ >= count_) return false;
    share_ = share_of(by_rows_, batch_, hidden_, index_, count_);
    return true;
  }

 private:
  bool by_rows_;
  int64_t batch_, hidden_;
  int index_, count_;
  Share share_;
};

// Runs body(member) for a recurrence over `batch` rows and `hidden` units with `gates` gate
// blocks: split by rows into independent parts, or by units into a team sized by the work
// per step.
template <typename Body>
void share_recurrence(int64_t batch, int64_t hidden, int64_t gates, int64_t steps, const Body& body) {
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.threads();
  if (threads > 1 && splits_by_rows(batch)) {
    // While the pool is crowded (max_parts() above threads), finer parts, down to
    // kMinRowsPerCrowdedPart rows, let the threads that run take over the rows of one that
    // does not.
    const int64_t parts = std::clamp<int64_t>(batch / kMinRowsPerCrowdedPart, threads, pool.max_parts());
    pool.run([&](int part, int count) { body(Member(true, batch, hidden, part, count)); },
             static_cast<int>(std::min(parts, batch)));
    return;
  }
  const double step_flops = 2.0 * static_cast<double>(batch) * gates * hidden * hidden;
  const int wanted = forced_split() == "units" ? threads : pool.parts_for(step_flops, kMinStepFlopsPerThread);
  const int team = static_cast<int>(std::min<int64_t>(chunk_count(hidden), wanted));
  pool.run_team([&](int index, int count) { body(Member(false, batch, hidden, index, count)); }, team,
                step_flops * steps);
}

template <typename P>
P shift(P p, int64_t floats) {
  return p ? p + floats : p;
}

// The arguments of rows [rows.begin, rows.end) only: every operand is row-major over the batch.
rk_cell_forward_args rows_of(rk_cell_forward_args a, Range rows) {
  const int64_t n = rows.begin, H = a.hidden, GH = gate_count(a.cell) * H;
  a.batch = rows.end - rows.begin;
  a.xw = shift(a.xw, n * GH);
  a.hr = shift(a.hr, n * GH);
  a.h_prev = shift(a.h_prev, n * H);
  a.c_prev = shift(a.c_prev, n * H);
  a.h_next = shift(a.h_next, n * H);
  a.c_next = shift(a.c_next, n * H);
  a.gates = shift(a.gates, n * GH);
  a.extra = shift(a.extra, n * H);
  a.lengths = shift(a.lengths, n);
  a.output = shift(a.output, n * (a.output_mode == RK_OUTPUT_LAST ? H : a.output_stride));
  return a;
}

rk_cell_backward_args rows_of(rk_cell_backward_args a, Range rows) {
  const int64_t n = rows.begin, H = a.hidden, GH = gate_count(a.cell) * H;
  a.batch = rows.end - rows.begin;
  a.gates = shift(a.gates, n * GH);
  a.extra = shift(a.extra, n * H);
  a.h_prev = shift(a.h_prev, n * H);
  a.c_prev = shift(a.c_prev, n * H);
  a.c_cur = shift(a.c_cur, n * H);
  a.h_cur = shift(a.h_cur, n * H);
  a.dh = shift(a.dh, n * H);
  a.dc = shift(a.dc, n * H);
  a.d_output = shift(a.d_output, n * (a.output_mode == RK_OUTPUT_LAST ? H : a.d_output_stride));
  a.d_rh = shift(a.d_rh, n * H);
  a.lengths = shift(a.lengths, n);
  a.dgx = shift(a.dgx, n * GH);
  a.dgh = shift(a.dgh, n * GH);
  a.dh_prev = shift(a.dh_prev, n * H);
  a.dc_prev = shift(a.dc_prev, n * H);
  return a;
}

// Split by rows, a part's projection goes to a region of the scratch of its own, [block
// steps, its rows, G·H], rather than to its rows of each step's [N, G·H]: with every
// part's rows side by side each step, the cores' prefetchers ran into each other's lines
// (Zen 2, 2 threads on different L3s; figures in the stop-23 note).
float* own_projection(const rk_recurrent_forward_args& args, Range rows) {
  const int64_t GH = gate_count(args.step.cell) * args.step.hidden;
  return const_cast<float*>(args.step.xw) + std::max<int64_t>(1, args.block_steps) * rows.begin * GH;
}

// Row n of processing step t of the recurrence's input, in either layout args.x may have.
struct InputRows {
  const float* x;
  int64_t step_stride, row_stride;
  const float* row(int64_t t, int64_t n) const { return x + t * step_stride + n * row_stride; }
};

InputRows input_rows(const rk_recurrent_forward_args& args) {
  if (args.x_row_stride != 0) return {args.x, args.x_step_stride, args.x_row_stride};
  return {args.x, args.step.batch * args.input_size, args.input_size};
}

// Rows [rows.begin, rows.end) of the block of steps from t, counted step by step (row s·N + n
// is row n of step t + s), projected into dst (row i at dst + i·G·H), columns [col0, col1):
// one GEMM where the rows lie evenly spaced (time-major), else one per step.
void project_rows(const rk_recurrent_forward_args& args, const InputRows& in, int64_t t, Range rows, float* dst,
                  int64_t col0 = 0, int64_t col1 = -1) {
  const int64_t N = args.step.batch, D = args.input_size, GH = gate_count(args.step.cell) * args.step.hidden;
  const auto* input = static_cast<const float*>(args.input);
  if (in.step_stride == N * in.row_stride) {
    gemm_packed_b_here(rows.end - rows.begin, GH, D, in.row(t, rows.begin), in.row_stride, input,
                       dst + rows.begin * GH, GH, col0, col1);
    return;
  }
  for (int64_t r = rows.begin; r < rows.end;) {
    const int64_t s = r / N, n = r % N, count = std::min(rows.end - r, N - n);
    gemm_packed_b_here(count, GH, D, in.row(t + s, n), in.row_stride, input, dst + r * GH, GH, col0, col1);
    r += count;
  }
}

// This member's part of the input projection of steps [t, t + steps): split by rows, its own
// rows into `own` (its region, own_projection); in a team of several split by units, into
// args.step.xw, its own units of every gate where whole panels hold them (H a multiple of
// kPanel), so that its cells read only what it wrote, else a share of the block's rows,
// which every member's cells read (alone: all of them, in one GEMM). Returns whether the
// team must meet before the cells run.
bool project_block(const rk_recurrent_forward_args& args, const Member& member, float* own, int64_t mr, int64_t t,
                   int64_t steps) {
  const rk_cell_forward_args& first = args.step;
  const int64_t N = first.batch, D = args.input_size, GH = gate_count(first.cell) * first.hidden;
  const InputRows in = input_rows(args);
  float* xw = const_cast<float*>(first.xw);
  if (member.by_rows()) {
    const Range rows = member.share().rows;
    const int64_t count = rows.end - rows.begin;
    for (int64_t s = 0; s < steps; ++s)
      gemm_packed_b_here(count, GH, D, in.row(t + s, rows.begin), in.row_stride, static_cast<const float*>(args.input),
                         own + s * count * GH, GH);
    return false;
  }
  const int64_t H = first.hidden;
  const Share& share = member.share();
  if (share.meet && H % kPanel == 0) {
    for (int64_t gate = 0; gate < GH; gate += H)
      project_rows(args, in, t, {0, steps * N}, xw, gate + share.u0, gate + share.u1);
    return false;
  }
  project_rows(args, in, t, member.part(steps * N, mr), xw);
  return true;
}

}  // namespace

bool splits_by_rows(int64_t batch) {
  if (forced_split() == "rows") return true;
  if (forced_split() == "units") return false;
  return batch >= kMinRowsPerThread * ThreadPool::instance().threads();
}

bool fused_enabled() {
  static const bool enabled = [] {
    const char* env = std::getenv("RNNKIT_CPU_FUSED");
    return !(env && std::string(env) == "0");
  }();
  return enabled;
}

size_t packed_recurrent_bytes(int64_t hidden, int64_t gates) {
  if (!fused_enabled()) return 0;
  return static_cast<size_t>(chunk_count(hidden) * gates * hidden * kPanel) * sizeof(float);
}

void pack_recurrent(const float* r, int64_t hidden, int64_t gates, float* packed) {
  const int64_t H = hidden;
  for (int64_t c = 0; c < chunk_count(H); ++c)
    for (int64_t g = 0; g < gates; ++g) {
      float* panel = packed + (c * gates + g) * H * kPanel;
      for (int64_t j = 0; j < kPanel; ++j) {
        const int64_t unit = c * kPanel + j;
        const float* row = unit < H ? r + (g * H + unit) * H : nullptr;
        for (int64_t p = 0; p < H; ++p) panel[p * kPanel + j] = row ? row[p] : 0.0f;
      }
    }
}

void recurrent_forward(const rk_recurrent_forward_args& args) {
  const Kernels& kern = active_kernels();
  const rk_cell_forward_args& first = args.step;
  const int64_t N = first.batch, H = first.hidden, G = gate_count(first.cell), GH = G * H;
  const bool gru_before = first.cell == RK_CELL_GRU_RESET_BEFORE;
  const int64_t slot = N * H;
  // All state slots live in one buffer; step 0's h_prev (c_prev) is its start.
  float* const h_states = const_cast<float*>(first.h_prev);
  float* const c_states = const_cast<float*>(first.c_prev);
  const bool projects = args.x != nullptr;
  const int64_t block = projects ? std::max<int64_t>(1, args.block_steps) : args.steps;
  share_recurrence(N, H, G, args.steps, [&](Member member) {
    const Share& share = member.share();
    const int64_t rows = share.rows.end - share.rows.begin;
    if (rows <= 0) return;  // only when splitting by rows: no meetings to attend
    float* const own = projects && member.by_rows() ? own_projection(args, share.rows) : nullptr;
    for (int64_t t = 0; t < args.steps; ++t) {
      if (projects && t % block == 0) {
        const bool shared = project_block(args, member, own, kern.mr, t, std::min(block, args.steps - t));
        if (shared && !member.meet()) return;  // the cells read every member's rows of the block
      }
      rk_cell_forward_args a = first;
      a.step = t;
      a.xw = first.xw + (t % block) * N * GH;
      a.h_prev = h_states + (t % args.state_slots) * slot;
      a.h_next = h_states + ((t + 1) % args.state_slots) * slot;
      if (c_states) {
        a.c_prev = c_states + (t % args.state_slots) * slot;
        a.c_next = c_states + ((t + 1) % args.state_slots) * slot;
      }
      if (first.gates) a.gates = first.gates + t * args.gates_step;
      if (first.extra) a.extra = first.extra + t * args.extra_step;
      if (first.output) a.output = first.output + t * args.output_step;
      a = rows_of(a, share.rows);
      if (own) a.xw = own + (t % block) * rows * GH;
      float* hr = const_cast<float*>(a.hr);

      if (gru_before) {
        // r, z and r⊙h_prev for my units; the candidate's GEMM needs r⊙h_prev of all units.
        multiply_chunks(kern, rows, H, 2, a.h_prev, args.recurrent, share.chunks.begin, share.chunks.end, hr, GH, t);
        a.phase = 0;
        if (share.u0 < share.u1) kern.cell_forward(a, share.u0, share.u1);
        if (!member.meet()) return;
        multiply_chunks(kern, rows, H, 1, a.extra, args.candidate, share.chunks.begin, share.chunks.end, hr + 2 * H, GH, t);
        a.phase = 1;
      } else {
        multiply_chunks(kern, rows, H, G, a.h_prev, args.recurrent, share.chunks.begin, share.chunks.end, hr, GH, t);
      }
      if (share.u0 < share.u1) kern.cell_forward(a, share.u0, share.u1);
      if (!member.meet()) return;  // the next step reads every unit of h
    }
  });
}

void recurrent_backward(const rk_recurrent_backward_args& args) {
  const Kernels& kern = active_kernels();
  const rk_cell_backward_args& last = args.step;
  const int64_t N = last.batch, H = last.hidden, G = gate_count(last.cell), GH = G * H;
  const bool gru_before = last.cell == RK_CELL_GRU_RESET_BEFORE;
  const int64_t recurrent_rows = gru_before ? 2 * H : GH;
  share_recurrence(N, H, G, args.steps, [&](Member member) {
    // Panels of a plain pack_b over H columns are the units' 32-wide chunks.
    const Share& share = member.share();
    const int64_t rows = share.rows.end - share.rows.begin;
    if (rows <= 0) return;
    // The gate gradients are read in place, GH floats per row.
    auto multiply = [&](const float* a, int64_t k, const void* packed, bool accumulate, float* c) {
      const Range chunks = share.chunks;
      if (share.u1 <= share.u0) return;
      kern.gemm_block(rows, k, a, GH, static_cast<const float*>(packed) + chunks.begin * k * kPanel, k * kPanel,
                      chunks.end - chunks.begin, 1, 0, share.u1 - share.u0, 1.0f, accumulate, c + share.u0, H, false);
    };
    for (int64_t i = 0; i < args.steps; ++i) {
      rk_cell_backward_args a = last;
      a.step = last.step - i;
      const int64_t back_states = i * args.state_step, back_gates = i * args.gates_step;
      if (last.gates) a.gates = last.gates - back_gates;
      if (last.extra) a.extra = last.extra - back_states;
      a.h_prev = last.h_prev - back_states;
      a.h_cur = last.h_cur - back_states;
      if (last.c_prev) {
        a.c_prev = last.c_prev - back_states;
        a.c_cur = last.c_cur - back_states;
      }
      a.dgx = last.dgx - back_gates;
      a.dgh = last.dgh - back_gates;
      if (last.d_output) a.d_output = last.d_output - i * args.d_output_step;
      if (i % 2 == 1) {
        a.dh = last.dh_prev;
        a.dh_prev = const_cast<float*>(last.dh);
        a.dc = last.dc_prev;
        a.dc_prev = const_cast<float*>(last.dc);
      }
      a = rows_of(a, share.rows);
      a.phase = 0;
      if (share.u0 < share.u1) kern.cell_backward(a, share.u0, share.u1);
      if (!member.meet()) return;  // the GEMMs read the gate gradients of every unit
      if (gru_before) {
        multiply(a.dgh + 2 * H, H, args.candidate, false, const_cast<float*>(a.d_rh));
        a.phase = 1;
        if (share.u0 < share.u1) kern.cell_backward(a, share.u0, share.u1);
        if (!member.meet()) return;  // the reset gate's gradients of every unit
      }
      multiply(a.dgh, recurrent_rows, args.recurrent, true, a.dh_prev);
    }
  });
}

}  // namespace rk::cpu
