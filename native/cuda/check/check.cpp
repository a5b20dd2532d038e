// rnnkit_cuda_check: every entry of the CUDA device's ops table, run by the emulated plugin
// (build-cuda/rnnkit_cuda_emu.so: the same .cu sources compiled as C++), against the CPU
// device (native/cpu, independent code), on seeded random inputs over many shapes and
// options. One line per op: cases, the largest relative error, OK/FAIL. Exact where the
// op must be exact. Also the plugin's reasons: fake cuBLAS found / not found, and the real
// plugin (rnnkit_cuda.so) loading without a driver. Exit 1 on any failure.
//
//   rnnkit_cuda_check [--emu path] [--real path]   (defaults: beside this program)
//                     [--grid 3x32]     cap the emulated grids, so that grid-stride loops stride
//                     [--ops path]      compare that plugin instead (the real one, on a GPU)
//
// The relative error of element i is |got - ref| / max(|ref|, rms(ref)): the floor keeps
// values that cancel to near zero (GEMM sums) from dividing by nothing.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../core/device_abi.h"
#include "../../cpu/cpu_device.h"

namespace {

constexpr double kTolerance = 1e-5;

using Floats = std::vector<float>;
using Outs = std::vector<Floats>;

// ---- results --------------------------------------------------------------------------

struct Stat {
  int cases = 0;
  double worst = 0.0;
  bool exact = false;
  bool failed = false;
  std::string note;
};
std::map<std::string, Stat> stats;
std::vector<std::string> order;

Stat& stat(const std::string& op, bool exact) {
  if (!stats.count(op)) order.push_back(op);
  Stat& s = stats[op];
  s.exact = exact;
  return s;
}

void record(const std::string& op, bool exact, double err, bool ok, const std::string& why = "") {
  Stat& s = stat(op, exact);
  s.cases++;
  if (!(err <= s.worst)) s.worst = err;
  if (!ok && !s.failed) {
    s.failed = true;
    s.note = why;
  }
}

double rel_error(const Floats& got, const Floats& ref) {
  if (got.size() != ref.size()) return INFINITY;
  double ms = 0.0;
  for (float r : ref) ms += static_cast<double>(r) * r;
  const double floor = std::max(std::sqrt(ms / std::max<size_t>(1, ref.size())), 1e-30);
  double worst = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (std::isnan(ref[i]) && std::isnan(got[i])) continue;
    const double e = std::fabs(static_cast<double>(got[i]) - ref[i]) / std::max(std::fabs(static_cast<double>(ref[i])), floor);
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;
  }
  return worst;
}

void compare(const std::string& op, bool exact, const Outs& got, const Outs& ref, const std::string& what) {
  double worst = 0.0;
  bool ok = got.size() == ref.size();
  for (size_t k = 0; ok && k < ref.size(); ++k) {
    if (exact) {
      ok = got[k].size() == ref[k].size() &&
           (ref[k].empty() || std::memcmp(got[k].data(), ref[k].data(), ref[k].size() * sizeof(float)) == 0);
      if (!ok) worst = std::max(worst, rel_error(got[k], ref[k]));
    } else {
      worst = std::max(worst, rel_error(got[k], ref[k]));
    }
  }
  if (!exact) ok = ok && worst <= kTolerance;
  record(op, exact, worst, ok, what);
}

void compare_double(const std::string& op, double got, double ref, const std::string& what) {
  const double e = std::fabs(got - ref) / std::max(std::fabs(ref), 1e-30);
  record(op, false, e, e <= kTolerance || got == ref, what);
}

// ---- devices --------------------------------------------------------------------------

// A device and the buffers of one case (released when the case ends).
class Dev {
 public:
  explicit Dev(const rk_device_ops* o) : o(o) {}
  const rk_device_ops* o;

  struct Release {
    const rk_device_ops* o;
    void operator()(void* p) const { o->release(p); }
  };

  void* raw(size_t bytes) {
    void* p = o->alloc(bytes);
    if (!p) {
      std::fprintf(stderr, "%s: alloc(%zu) failed: %s\n", o->name, bytes, o->last_error());
      std::exit(1);
    }
    held_.emplace_back(p, Release{o});
    return p;
  }
  template <typename T>
  T* up(const std::vector<T>& v) {
    T* p = static_cast<T*>(raw(std::max<size_t>(1, v.size()) * sizeof(T)));
    if (!v.empty()) must(o->copy(p, v.data(), v.size() * sizeof(T), RK_HOST_TO_DEVICE), "copy");
    return p;
  }
  Floats down(const float* p, size_t count) {
    Floats v(count);
    if (count) must(o->copy(v.data(), p, count * sizeof(float), RK_DEVICE_TO_HOST), "copy");
    return v;
  }
  void must(int status, const char* what) {
    if (status != 0) {
      std::fprintf(stderr, "%s: %s failed: %s\n", o->name, what, o->last_error());
      std::exit(1);
    }
  }
  void end_case() { held_.clear(); }

 private:
  std::vector<std::unique_ptr<void, Release>> held_;
};

std::unique_ptr<Dev> cpu, emu;
// The compared plugin is the emulated one (else a real GPU: atomics add in any order).
bool emulated = true;

// Runs one case on both devices and compares what it returns.
void both(const std::string& op, bool exact, const std::string& what, const std::function<Outs(Dev&)>& body) {
  const Outs ref = body(*cpu);
  cpu->end_case();
  const Outs got = body(*emu);
  emu->end_case();
  compare(op, exact, got, ref, what);
}

std::mt19937_64 rng(20261206);
Floats random(size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  Floats v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::string shape(std::initializer_list<int64_t> dims) {
  std::string s;
  for (int64_t d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

// ---- ops ------------------------------------------------------------------------------

void check_memory() {
  for (size_t n : {size_t(1), size_t(1000), size_t(300001)}) {
    const Floats v = random(n);
    const rk_device_ops* o = emu->o;
    uint64_t live0, count0, cached0;
    o->memory_stats(&live0, &count0, &cached0);
    Floats back;
    {
      float* p = emu->up(v);
      float* q = static_cast<float*>(emu->raw(n * sizeof(float)));
      emu->must(o->copy(q, p, n * sizeof(float), RK_DEVICE_TO_DEVICE), "copy");
      emu->must(o->synchronize(), "synchronize");
      back = emu->down(q, n);
    }
    uint64_t live1, count1, cached1;
    o->memory_stats(&live1, &count1, &cached1);
    emu->end_case();
    uint64_t live2, count2, cached2;
    o->memory_stats(&live2, &count2, &cached2);
    const bool counted = count1 == count0 + 2 && live1 >= live0 + 2 * n * sizeof(float) && count2 == count0 &&
                         live2 == live0 && cached2 >= 2 * n * sizeof(float);
    compare("alloc/copy/release", true, {back}, {v}, shape({int64_t(n)}));
    record("memory_stats", true, counted ? 0.0 : 1.0, counted, "live/cached counts");
  }
  // A released block is handed out again (the cache), not cudaMalloc'd anew.
  void* a = emu->o->alloc(4096);
  emu->o->release(a);
  void* b = emu->o->alloc(4000);
  record("alloc (cache reuse)", true, a == b ? 0.0 : 1.0, a == b, "same size class reused");
  emu->o->release(b);
}

void check_fill() {
  for (size_t n : {size_t(1), size_t(7), size_t(70000)})
    both("fill", true, shape({int64_t(n)}), [&](Dev& d) {
      float* p = d.up(random(n));
      d.must(d.o->fill(p, 0.625f, n), "fill");
      return Outs{d.down(p, n)};
    });
}

void check_gemm() {
  const int64_t shapes[][3] = {{1, 1, 1}, {1, 7, 5}, {3, 5, 7}, {17, 33, 9}, {64, 48, 40}, {5, 3, 0}};
  for (auto& s : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int ab = 0; ab < 4; ++ab) {
          const int64_t m = s[0], n = s[1], k = s[2];
          const float alpha = ab & 1 ? 0.5f : 1.0f, beta = ab & 1 ? 1.5f : 0.0f;
          const int64_t pad = ab & 2 ? 0 : 1;  // tight leading dimensions (0 for an empty k), or padded
          const int64_t lda = (ta ? m : k) + 3 * pad, ldb = (tb ? k : n) + 2 * pad, ldc = n + pad;
          const Floats a = random((ta ? k : m) * lda), b = random((tb ? n : k) * ldb), c = random(m * ldc);
          both("gemm", false, shape({m, n, k}) + (ta ? " A^T" : "") + (tb ? " B^T" : ""), [&](Dev& d) {
            Floats c0 = c;
            // beta = 0: C must not be read; the emulated device's C holds NaN to prove it.
            if (beta == 0.0f && &d == emu.get()) std::fill(c0.begin(), c0.end(), NAN);
            float* pc = d.up(c0);
            d.must(d.o->gemm(ta, tb, m, n, k, alpha, d.up(a), lda, d.up(b), ldb, beta, pc, ldc), "gemm");
            Floats out = d.down(pc, m * ldc);
            for (int64_t r = 0; r < m; ++r)  // the pitch padding is not C's: drop it
              for (int64_t j = n; j < ldc; ++j) out[r * ldc + j] = 0.0f;
            return Outs{out};
          });
        }
  // cuBLAS's own argument check reaches the caller as a status and a message.
  {
    float* a = emu->up(random(64));
    const int status = emu->o->gemm(0, 0, 4, 4, 4, 1.0f, a, 2 /* lda < k */, a, 4, 0.0f, a, 4);
    const bool ok = status != 0 && std::strstr(emu->o->last_error(), "INVALID_VALUE");
    record("gemm (cuBLAS argument check)", true, ok ? 0.0 : 1.0, ok, emu->o->last_error());
    emu->end_case();
  }
  const bool optional = emu->o->packed_recurrent_bytes(16, 4) == 0 && !emu->o->recurrent_forward &&
                        !emu->o->recurrent_backward && !emu->o->pack_recurrent && !emu->o->packed_b_bytes &&
                        !emu->o->pack_b && !emu->o->gemm_packed_b;
  record("recurrent_*, pack_b (optional: none; per-step loop, plain gemm)", true, optional ? 0.0 : 1.0, optional,
         "expected null");
}

std::vector<int32_t> lengths_for(int64_t batch, int64_t steps) {
  // Zeros, full lengths and everything between, in a seeded order.
  std::vector<int32_t> v(batch);
  for (int64_t n = 0; n < batch; ++n) v[n] = static_cast<int32_t>(n % (steps + 1));
  if (batch > 1) v[1] = static_cast<int32_t>(steps);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

void check_permute() {
  const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 6, 3}, {9, 4, 16}};
  for (auto& s : shapes)
    for (int with_lengths = 0; with_lengths < 2; ++with_lengths)
      for (int reverse = 0; reverse < 2; ++reverse)
        for (int tm = 0; tm < 2; ++tm) {
          const int64_t N = s[0], T = s[1], W = s[2];
          const Floats src = random(N * T * W), garbage(N * T * W, NAN);
          const std::vector<int32_t> lengths = lengths_for(N, T);
          both("permute_steps", true, shape({N, T, W}), [&](Dev& d) {
            float* dst = d.up(garbage);  // padded steps must be written as zeros, not left
            d.must(d.o->permute_steps(d.up(src), dst, N, T, W, with_lengths ? d.up(lengths) : nullptr, reverse, tm),
                   "permute_steps");
            return Outs{d.down(dst, N * T * W)};
          });
          if (reverse && tm)
            both("reverse_valid_steps", true, shape({N, T, W}), [&](Dev& d) {
              float* dst = d.up(garbage);
              d.must(d.o->reverse_valid_steps(d.up(src), dst, N, T, W, with_lengths ? d.up(lengths) : nullptr),
                     "reverse_valid_steps");
              return Outs{d.down(dst, N * T * W)};
            });
        }
}

const char* cell_name(int c) {
  static const char* names[] = {"rnn", "lstm", "gru_reset_after", "gru_reset_before"};
  return names[c];
}
int gates_of(int c) { return c == RK_CELL_RNN ? 1 : c == RK_CELL_LSTM ? 4 : 3; }

void check_cells() {
  const int64_t shapes[][2] = {{1, 1}, {3, 7}, {5, 16}};
  const int64_t T = 4;
  const int recs[] = {RK_ACT_SIGMOID, RK_ACT_HARD_SIGMOID, RK_ACT_TANH};
  for (int cell = 0; cell < 4; ++cell)
    for (int phase = 0; phase < (cell == RK_CELL_GRU_RESET_BEFORE ? 2 : 1); ++phase)
      for (int act = 0; act <= RK_ACT_SOFTPLUS; ++act)
        for (auto& s : shapes)
          for (int64_t t = 0; t < T; ++t)
            for (int variant = 0; variant < 8; ++variant) {
              const int64_t N = s[0], H = s[1], G = gates_of(cell);
              const int rec = recs[(act + t) % 3];
              const bool last = variant & 1, carry = variant & 2, training = variant & 4;
              const bool biases = (variant + act) % 3 != 0, with_d_output = variant != 3;
              const std::vector<int32_t> lengths = lengths_for(N, T);
              const std::string what = std::string(cell_name(cell)) + " phase " + std::to_string(phase) + " act " +
                                       std::to_string(act) + " " + shape({N, H}) + " t=" + std::to_string(t);
              const Floats xw = random(N * G * H, -2, 2), hr = random(N * G * H, -2, 2), bw = random(G * H),
                           br = random(G * H), h_prev = random(N * H), c_prev = random(N * H, -2, 2),
                           out0 = random(N * T * H), gates0 = random(N * G * H), extra0 = random(N * H),
                           h0 = random(N * H), c0 = random(N * H);
              const int64_t out_size = last ? N * H : N * T * H;
              both("cell_forward", false, what, [&](Dev& d) {
                rk_cell_forward_args a{};
                a.cell = cell, a.activation = act, a.recurrent_activation = rec, a.phase = phase;
                a.batch = N, a.hidden = H, a.step = t;
                a.xw = d.up(xw), a.hr = d.up(hr);
                a.bias_w = biases ? d.up(bw) : nullptr, a.bias_r = biases ? d.up(br) : nullptr;
                a.h_prev = d.up(h_prev), a.c_prev = d.up(c_prev);
                float* h_next = d.up(h0);
                float* c_next = d.up(c0);
                float* gates = training ? d.up(gates0) : nullptr;
                float* extra = d.up(extra0);
                float* out = d.up(out0);
                a.h_next = h_next, a.c_next = c_next, a.gates = gates;
                a.extra = (cell == RK_CELL_GRU_RESET_BEFORE || cell == RK_CELL_GRU_RESET_AFTER) ? extra : nullptr;
                a.lengths = d.up(lengths);
                a.output = last ? out : out + t * H;
                a.output_stride = T * H;
                a.output_mode = last ? RK_OUTPUT_LAST : RK_OUTPUT_SEQUENCE;
                a.masked_output = carry ? RK_MASKED_CARRY : RK_MASKED_ZEROS;
                d.must(d.o->cell_forward(&a), "cell_forward");
                return Outs{d.down(h_next, N * H), d.down(c_next, N * H),
                            training ? d.down(gates, N * G * H) : Floats{}, d.down(extra, N * H),
                            d.down(out, out_size)};
              });
              // Backward: saved gates as activations produce them, the rest random.
              const Floats gates_saved = random(N * G * H, 0.05f, 0.95f), extra_saved = random(N * H),
                           h_cur = random(N * H, -0.9f, 0.9f), dh = random(N * H), dc = random(N * H),
                           d_out = random(out_size), d_rh = random(N * H), dgx0 = random(N * G * H),
                           dgh0 = random(N * G * H), dhp0 = random(N * H), dcp0 = random(N * H);
              both("cell_backward", false, what, [&](Dev& d) {
                rk_cell_backward_args a{};
                a.cell = cell, a.activation = act, a.recurrent_activation = rec, a.phase = phase;
                a.batch = N, a.hidden = H, a.step = t;
                a.gates = d.up(gates_saved), a.extra = d.up(extra_saved);
                a.h_prev = d.up(h_prev), a.c_prev = d.up(c_prev), a.c_cur = d.up(c0), a.h_cur = d.up(h_cur);
                a.dh = d.up(dh), a.dc = d.up(dc);
                const float* dout = d.up(d_out);
                a.d_output = with_d_output ? (last ? dout : dout + t * H) : nullptr;
                a.d_output_stride = T * H;
                a.output_mode = last ? RK_OUTPUT_LAST : RK_OUTPUT_SEQUENCE;
                a.masked_output = carry ? RK_MASKED_CARRY : RK_MASKED_ZEROS;
                a.d_rh = d.up(d_rh);
                a.lengths = d.up(lengths);
                float* dgx = d.up(dgx0);
                float* dgh = d.up(dgh0);
                float* dhp = d.up(dhp0);
                float* dcp = d.up(dcp0);
                a.dgx = dgx, a.dgh = dgh, a.dh_prev = dhp, a.dc_prev = dcp;
                d.must(d.o->cell_backward(&a), "cell_backward");
                return Outs{d.down(dgx, N * G * H), d.down(dgh, N * G * H), d.down(dhp, N * H), d.down(dcp, N * H)};
              });
            }
}

void check_reductions() {
  const int64_t shapes[][2] = {{1, 1}, {7, 13}, {100, 33}, {3, 1000}};
  for (auto& s : shapes)
    for (int acc = 0; acc < 2; ++acc) {
      const Floats x = random(s[0] * s[1]), out0 = random(s[1]);
      both("sum_rows", false, shape({s[0], s[1]}), [&](Dev& d) {
        float* out = d.up(out0);
        d.must(d.o->sum_rows(d.up(x), s[0], s[1], out, acc), "sum_rows");
        return Outs{d.down(out, s[1])};
      });
    }
  for (size_t n : {size_t(1), size_t(1000), size_t(300007)}) {
    const Floats x = random(n, -3, 3);
    double r[2];
    Dev* devs[2] = {cpu.get(), emu.get()};
    for (int i = 0; i < 2; ++i) {
      devs[i]->must(devs[i]->o->sum_squares(devs[i]->up(x), n, &r[i]), "sum_squares");
      devs[i]->end_case();
    }
    compare_double("sum_squares", r[1], r[0], shape({int64_t(n)}));
    // Deterministic: the same input gives the same bits again.
    double again = 0.0;
    emu->must(emu->o->sum_squares(emu->up(x), n, &again), "sum_squares");
    emu->end_case();
    record("sum_squares (repeatable)", true, again == r[1] ? 0.0 : 1.0, again == r[1], "bits differ between runs");
  }
  // Many tensors at once (a global norm), an empty one among them.
  {
    const std::vector<size_t> counts = {1000, 0, 300007, 7};
    std::vector<Floats> xs;
    for (size_t c : counts) xs.push_back(random(c, -3, 3));
    double r[2];
    Dev* devs[2] = {cpu.get(), emu.get()};
    for (int i = 0; i < 2; ++i) {
      std::vector<const float*> ptrs;
      for (const Floats& x : xs) ptrs.push_back(devs[i]->up(x));
      devs[i]->must(devs[i]->o->sum_squares_many(ptrs.data(), counts.data(), static_cast<int32_t>(counts.size()), &r[i]),
                    "sum_squares_many");
      devs[i]->end_case();
    }
    compare_double("sum_squares_many", r[1], r[0], shape({4}));
  }
}

void check_pointwise() {
  for (size_t n : {size_t(1), size_t(9), size_t(70001)}) {
    const Floats x = random(n, -2, 2), y = random(n, -2, 2), out0 = random(n);
    for (int with_y = 0; with_y < 2; ++with_y)
      both("axpby", false, shape({int64_t(n)}), [&](Dev& d) {
        float* out = d.up(out0);
        d.must(d.o->axpby(0.75f, d.up(x), -1.25f, with_y ? d.up(y) : nullptr, out, n), "axpby");
        return Outs{d.down(out, n)};
      });
    both("multiply", false, shape({int64_t(n)}), [&](Dev& d) {
      float* out = d.up(out0);
      d.must(d.o->multiply(d.up(x), d.up(y), out, n), "multiply");
      return Outs{d.down(out, n)};
    });
    both("clamp", true, shape({int64_t(n)}), [&](Dev& d) {
      float* out = d.up(out0);
      d.must(d.o->clamp(d.up(x), -0.3f, 0.5f, out, n), "clamp");
      return Outs{d.down(out, n)};
    });
  }
  const int64_t blocks[][4] = {{1, 1, 1, 1}, {5, 7, 9, 7}, {12, 30, 17, 11}};  // rows, src pitch, dst pitch, width
  for (auto& b : blocks) {
    const Floats src = random(b[0] * b[1]), dst0 = random(b[0] * b[2]);
    both("copy_2d", true, shape({b[0], b[3]}), [&](Dev& d) {
      float* dst = d.up(dst0);
      d.must(d.o->copy_2d(d.up(src), b[1], dst, b[2], b[0], b[3]), "copy_2d");
      return Outs{d.down(dst, b[0] * b[2])};
    });
  }
}

// ABI v3: gathering rows (repeats, any order, a single row) and pitched transposes.
void check_rows() {
  const int64_t gathers[][2] = {{1, 1}, {7, 5}, {40, 33}};  // source rows, row width
  for (auto& g : gathers) {
    const Floats src = random(g[0] * g[1]);
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < g[0] + 3; ++i) idx.push_back(static_cast<int64_t>(rng() % g[0]));
    const int64_t n = static_cast<int64_t>(idx.size());
    both("gather_rows", true, shape({g[0], g[1]}), [&](Dev& d) {
      float* dst = d.up(random(n * g[1]));
      d.must(d.o->gather_rows(d.up(src), g[1], idx.data(), n, dst), "gather_rows");
      return Outs{d.down(dst, n * g[1])};
    });
  }
  const int64_t blocks[][4] = {{1, 1, 1, 1}, {5, 7, 9, 12}, {33, 17, 20, 40}};  // rows, cols, src pitch, dst pitch
  for (auto& b : blocks) {
    const Floats src = random(b[0] * b[2]), dst0 = random(b[1] * b[3]);
    both("transpose_2d", true, shape({b[0], b[1]}), [&](Dev& d) {
      float* dst = d.up(dst0);
      d.must(d.o->transpose_2d(d.up(src), b[0], b[1], b[2], dst, b[3]), "transpose_2d");
      return Outs{d.down(dst, b[1] * b[3])};
    });
  }
}

// ABI v4 shapes, merges and masks: repeated rows and their sum (added in the same order,
// so exact), the per-row mask of Masking (some rows all equal to the value, one with a NaN)
// and masked rows zeroed.
void check_shapes() {
  const int64_t repeats[][3] = {{1, 1, 1}, {3, 4, 5}, {40, 7, 33}};  // rows, repeats, width
  for (auto& r : repeats) {
    const Floats src = random(r[0] * r[2]), big = random(r[0] * r[1] * r[2]);
    both("repeat_rows", true, shape({r[0], r[1], r[2]}), [&](Dev& d) {
      float* dst = d.up(random(r[0] * r[1] * r[2]));
      d.must(d.o->repeat_rows(d.up(src), r[0], r[1], r[2], dst), "repeat_rows");
      return Outs{d.down(dst, r[0] * r[1] * r[2])};
    });
    both("sum_repeats", true, shape({r[0], r[1], r[2]}), [&](Dev& d) {
      float* dst = d.up(random(r[0] * r[2]));
      d.must(d.o->sum_repeats(d.up(big), r[0], r[1], r[2], dst), "sum_repeats");
      return Outs{d.down(dst, r[0] * r[2])};
    });
  }
  const int64_t masks[][2] = {{1, 1}, {9, 3}, {300, 17}};  // rows, width
  for (auto& m : masks) {
    Floats x = random(m[0] * m[1]);
    std::vector<uint8_t> valid0(m[0]);
    for (int64_t r = 0; r < m[0]; ++r) {
      if (rng() % 3 == 0) std::fill(x.begin() + r * m[1], x.begin() + (r + 1) * m[1], 0.5f);
      valid0[r] = static_cast<uint8_t>(rng() % 2);
    }
    if (m[0] > 2) x[m[1]] = NAN;  // row 1: never equal to the value
    both("rows_differ", true, shape({m[0], m[1]}), [&](Dev& d) {
      auto* valid = static_cast<uint8_t*>(d.raw(m[0]));
      d.must(d.o->rows_differ(d.up(x), m[0], m[1], 0.5f, valid), "rows_differ");
      std::vector<uint8_t> host(m[0]);
      d.must(d.o->copy(host.data(), valid, host.size(), RK_DEVICE_TO_HOST), "copy");
      return Outs{Floats(host.begin(), host.end())};
    });
    both("mask_rows", true, shape({m[0], m[1]}), [&](Dev& d) {
      float* dst = d.up(random(m[0] * m[1]));
      d.must(d.o->mask_rows(d.up(x), m[0], m[1], d.up(valid0), dst), "mask_rows");
      return Outs{d.down(dst, m[0] * m[1])};
    });
  }
}

void check_dense() {
  const int64_t shapes[][2] = {{1, 1}, {5, 7}, {33, 10}};
  for (int act = 0; act <= RK_ACT_SOFTMAX; ++act)
    for (auto& s : shapes)
      for (int with_bias = 0; with_bias < 2; ++with_bias) {
        const int64_t R = s[0], C = s[1];
        const Floats y0 = random(R * C, -3, 3), bias = random(C), dy = random(R * C);
        const std::string what = "act " + std::to_string(act) + " " + shape({R, C});
        Floats y_cpu;
        both("bias_activation", false, what, [&](Dev& d) {
          float* y = d.up(y0);
          d.must(d.o->bias_activation(y, R, C, with_bias ? d.up(bias) : nullptr, act), "bias_activation");
          Floats out = d.down(y, R * C);
          if (&d == cpu.get()) y_cpu = out;
          return Outs{out};
        });
        both("activation_backward", false, what, [&](Dev& d) {
          float* dp = d.up(Floats(R * C, 0.0f));
          d.must(d.o->activation_backward(d.up(y_cpu), d.up(dy), dp, R, C, act), "activation_backward");
          return Outs{d.down(dp, R * C)};
        });
      }
}

void check_losses() {
  const int64_t shapes[][2] = {{1, 1}, {4, 3}, {17, 10}};
  for (int kind = 0; kind <= RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY; ++kind)
    for (int logits = 0; logits < 2; ++logits)
      for (auto& s : shapes) {
        const int64_t R = s[0], C = s[1];
        const bool sparse = kind == RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
        const bool probabilities = !logits && kind >= RK_LOSS_BINARY_CROSSENTROPY;
        Floats pred = probabilities ? random(R * C, 0.01f, 0.99f) : random(R * C, -3, 3);
        if (probabilities && kind == RK_LOSS_BINARY_CROSSENTROPY && R * C > 2) pred[0] = 0.0f, pred[1] = 1.0f;  // clipped
        Floats target;
        if (sparse) {
          for (int64_t r = 0; r < R; ++r) target.push_back(static_cast<float>(rng() % C));
        } else if (kind == RK_LOSS_BINARY_CROSSENTROPY) {
          for (int64_t i = 0; i < R * C; ++i) target.push_back(static_cast<float>(rng() % 2));
        } else if (kind >= RK_LOSS_CATEGORICAL_CROSSENTROPY) {
          target = random(R * C, 0.0f, 1.0f);
        } else {
          target = random(R * C, -2, 2);
        }
        const std::string what = "loss " + std::to_string(kind) + (logits ? " logits " : " ") + shape({R, C});
        double host[2];
        int i = 0;
        both("loss (gradient)", false, what, [&](Dev& d) {
          float* grad = d.up(random(R * C));
          d.must(d.o->loss(kind, logits, d.up(pred), d.up(target), R, C, grad, &host[i++]), "loss");
          return Outs{d.down(grad, R * C)};
        });
        compare_double("loss (value)", host[1], host[0], what);
        if (sparse && R > 1) {  // a label that is not a class index: both refuse
          Floats bad = target;
          bad[R - 1] = static_cast<float>(C) + 0.5f;
          std::string messages[2];
          Dev* devs[2] = {cpu.get(), emu.get()};
          bool refused = true;
          for (int k = 0; k < 2; ++k) {
            double v = 0.0;
            float* grad = devs[k]->up(Floats(R * C));
            refused = refused && devs[k]->o->loss(kind, logits, devs[k]->up(pred), devs[k]->up(bad), R, C, grad, &v) != 0;
            messages[k] = devs[k]->o->last_error();
            devs[k]->end_case();
          }
          const bool ok = refused && messages[0] == messages[1];
          record("loss (bad sparse label refused)", true, ok ? 0.0 : 1.0, ok, messages[0] + " / " + messages[1]);
        }
      }
}

void check_count_correct() {
  const int64_t shapes[][2] = {{1, 1}, {13, 1}, {20, 4}, {50, 10}};
  for (auto& s : shapes)
    for (int mode = 0; mode < 3; ++mode) {  // 0 argmax vs dense targets, 1 sparse, 2 binary
      const int64_t R = s[0], C = s[1];
      Floats pred = random(R * C, 0, 1), target = random(R * C, 0, 1);
      for (float& p : pred) p = std::round(p * 4) / 4;  // ties: the first maximum wins on both
      if (mode == 1) {
        target.clear();
        for (int64_t r = 0; r < R; ++r) target.push_back(static_cast<float>(rng() % C));
      }
      int64_t host[2];
      int i = 0;
      both("count_correct", true, shape({R, C}) + " mode " + std::to_string(mode), [&](Dev& d) {
        d.must(d.o->count_correct(d.up(pred), d.up(target), R, C, mode == 1, mode == 2, 0.5f, &host[i]), "count_correct");
        return Outs{Floats{static_cast<float>(host[i++])}};
      });
    }
}

void check_optimizer() {
  struct Config {
    int kind, nesterov;
    float momentum;
    int64_t iteration;
  } configs[] = {{RK_OPT_SGD, 0, 0.0f, 1},  {RK_OPT_SGD, 0, 0.9f, 1},     {RK_OPT_SGD, 1, 0.9f, 1},
                 {RK_OPT_ADAM, 0, 0.0f, 1}, {RK_OPT_ADAM, 0, 0.0f, 7},    {RK_OPT_RMSPROP, 0, 0.0f, 1},
                 {RK_OPT_RMSPROP, 0, 0.5f, 3}};
  for (const Config& c : configs)
    for (int64_t n : {int64_t(1), int64_t(1000)}) {
      const Floats p0 = random(n), g = random(n), s0 = random(n, 0, 0.5f), s1 = random(n, 0, 0.5f);
      both("optimizer_step", false, "kind " + std::to_string(c.kind) + " " + shape({n}), [&](Dev& d) {
        rk_optimizer_step_args a{};
        a.kind = c.kind, a.nesterov = c.nesterov, a.count = n, a.iteration = c.iteration;
        a.learning_rate = 0.01f, a.momentum = c.momentum, a.beta1 = 0.9f, a.beta2 = 0.999f, a.rho = 0.9f,
        a.epsilon = 1e-7f;
        float* p = d.up(p0);
        float* slot0 = d.up(s0);
        float* slot1 = d.up(s1);
        a.param = p, a.grad = d.up(g), a.slot0 = slot0, a.slot1 = slot1;
        d.must(d.o->optimizer_step(&a), "optimizer_step");
        return Outs{d.down(p, n), d.down(slot0, n), d.down(slot1, n)};
      });
    }
}

void check_embedding_dropout() {
  const int64_t vocab = 11;
  for (int64_t rows : {int64_t(1), int64_t(20)})
    for (int64_t dim : {int64_t(1), int64_t(7)}) {
      const Floats table = random(vocab * dim), d_out = random(rows * dim), d_table0 = random(vocab * dim);
      Floats ids;
      for (int64_t r = 0; r < rows; ++r) ids.push_back(static_cast<float>(rng() % 5));  // repeated ids
      both("embedding_forward", true, shape({rows, dim}), [&](Dev& d) {
        float* out = d.up(Floats(rows * dim));
        d.must(d.o->embedding_forward(d.up(table), d.up(ids), out, rows, dim), "embedding_forward");
        return Outs{d.down(out, rows * dim)};
      });
      // With repeated ids the atomic adds of a GPU run in any order, and those of a capped
      // emulated grid in another order than the CPU's: exact only for the usual emulated grid.
      both("embedding_backward", emulated && !std::getenv("RNNKIT_CUDA_EMULATE_GRID"), shape({rows, dim}), [&](Dev& d) {
        float* dt = d.up(d_table0);
        d.must(d.o->embedding_backward(d.up(ids), d.up(d_out), dt, rows, dim), "embedding_backward");
        return Outs{d.down(dt, vocab * dim)};
      });
    }
  for (float rate : {0.0f, 0.3f, 0.9f})
    for (size_t n : {size_t(1), size_t(5000)})
      for (uint64_t seed : {uint64_t(0), uint64_t(12345678901ull)}) {
        const Floats x = random(n);
        both("dropout (mask and output)", true, "rate " + std::to_string(rate) + " " + shape({int64_t(n)}), [&](Dev& d) {
          float* y = d.up(Floats(n));
          float* mask = d.up(Floats(n));
          d.must(d.o->dropout(d.up(x), y, mask, n, rate, seed), "dropout");
          return Outs{d.down(y, n), d.down(mask, n)};
        });
      }
}

// Layer and batch normalization (ABI v4 entries): forward with and without gamma/beta and
// statistics, backward, batch statistics with and without row weights.
void check_normalization() {
  if (!emu->o->layer_norm_forward || !emu->o->batch_norm_statistics) {
    record("normalization", false, 0, false, "the plugin lacks the normalization entries");
    return;
  }
  const int64_t shapes[][2] = {{1, 1}, {6, 5}, {300, 17}};
  for (auto& s : shapes)
    for (int affine = 0; affine < 2; ++affine) {
      const int64_t R = s[0], C = s[1];
      const Floats x = random(R * C, -2, 3), dy = random(R * C), gamma = random(C, 0.5f, 1.5f), beta = random(C);
      Floats w(R);
      for (int64_t r = 0; r < R; ++r) w[r] = (r % 3 == 1) ? 0.0f : 1.0f;
      const std::string what = shape({R, C}) + (affine ? " affine" : "");
      const float eps = 1e-3f;
      both("layer_norm_forward", false, what, [&](Dev& d) {
        float* y = d.up(Floats(R * C));
        float* mean = d.up(Floats(R));
        float* rstd = d.up(Floats(R));
        d.must(d.o->layer_norm_forward(d.up(x), R, C, affine ? d.up(gamma) : nullptr, affine ? d.up(beta) : nullptr, eps, y,
                                       mean, rstd),
               "layer_norm_forward");
        return Outs{d.down(y, R * C), d.down(mean, R), d.down(rstd, R)};
      });
      both("layer_norm_backward", false, what, [&](Dev& d) {
        const float* dx_in = d.up(x);
        float* mean = d.up(Floats(R));
        float* rstd = d.up(Floats(R));
        float* y = d.up(Floats(R * C));
        const float* g = affine ? d.up(gamma) : nullptr;
        d.must(d.o->layer_norm_forward(dx_in, R, C, g, nullptr, eps, y, mean, rstd), "layer_norm_forward");
        float* dx = d.up(Floats(R * C));
        float* dg = d.up(Floats(C));
        float* db = d.up(Floats(C));
        d.must(d.o->layer_norm_backward(dx_in, d.up(dy), R, C, g, mean, rstd, dx, dg, db), "layer_norm_backward");
        return Outs{d.down(dx, R * C), d.down(dg, C), d.down(db, C)};
      });
      for (int weighted = 0; weighted < 2; ++weighted) {
        double count = static_cast<double>(R), denominator = count;
        if (weighted) {
          count = 0;
          for (float v : w) count += v;
          denominator = count + 1e-7;
        }
        const std::string wwhat = what + (weighted ? " weighted" : "");
        both("batch_norm_statistics+forward", false, wwhat, [&](Dev& d) {
          float* mean = d.up(Floats(C));
          float* var = d.up(Floats(C));
          float* y = d.up(Floats(R * C));
          const float* xd = d.up(x);
          d.must(d.o->batch_norm_statistics(xd, R, C, weighted ? d.up(w) : nullptr, denominator, mean, var),
                 "batch_norm_statistics");
          d.must(d.o->batch_norm_forward(xd, R, C, mean, var, affine ? d.up(gamma) : nullptr, affine ? d.up(beta) : nullptr,
                                         eps, y),
                 "batch_norm_forward");
          return Outs{d.down(mean, C), d.down(var, C), d.down(y, R * C)};
        });
        both("batch_norm_backward", false, wwhat, [&](Dev& d) {
          const float* xd = d.up(x);
          const float* wd = weighted ? d.up(w) : nullptr;
          float* mean = d.up(Floats(C));
          float* var = d.up(Floats(C));
          d.must(d.o->batch_norm_statistics(xd, R, C, wd, denominator, mean, var), "batch_norm_statistics");
          float* dx = d.up(Floats(R * C));
          float* dg = d.up(Floats(C));
          float* db = d.up(Floats(C));
          d.must(d.o->batch_norm_backward(xd, d.up(dy), R, C, wd, count, denominator, mean, var,
                                          affine ? d.up(gamma) : nullptr, eps, dx, dg, db),
                 "batch_norm_backward");
          return Outs{d.down(dx, R * C), d.down(dg, C), d.down(db, C)};
        });
      }
    }
}

// ABI v4: convolution and pooling over time. Each value is computed by one thread in a
// fixed order, so gathers, scatters and maxima are exact; means divide on each device.
void check_windows() {
  // batch, steps, channels, window, stride, dilation, padding (0 valid, 1 same, 2 causal)
  const int64_t cases[][7] = {{1, 1, 1, 1, 1, 1, 0}, {2, 9, 3, 3, 2, 1, 1}, {3, 16, 5, 4, 1, 3, 2}, {2, 13, 7, 5, 3, 1, 0}};
  for (auto& k : cases) {
    const int64_t N = k[0], T = k[1], C = k[2], K = k[3], S = k[4], D = k[5];
    const int64_t span = D * (K - 1) + 1;
    rk_window_1d w{N, T, C, 0, K, S, D, 0};
    if (k[6] == 0) {
      w.out_steps = (T - span) / S + 1;
    } else {
      w.out_steps = (T + S - 1) / S;
      w.pad_left = k[6] == 2 ? span - 1 : std::max<int64_t>(0, (w.out_steps - 1) * S + span - T) / 2;
    }
    const int64_t rows = N * w.out_steps;
    const Floats x = random(N * T * C), cols = random(rows * K * C), dy = random(rows * C);
    const std::string what = shape({N, T, C}) + " window " + std::to_string(K) + " stride " + std::to_string(S) +
                             " dilation " + std::to_string(D) + " pad " + std::to_string(w.pad_left);
    both("window_gather_1d", true, what, [&](Dev& d) {
      float* out = d.up(Floats(rows * K * C));
      d.must(d.o->window_gather_1d(&w, d.up(x), out), "window_gather_1d");
      return Outs{d.down(out, rows * K * C)};
    });
    both("window_scatter_1d", true, what, [&](Dev& d) {
      float* out = d.up(random(N * T * C));
      d.must(d.o->window_scatter_1d(&w, d.up(cols), out), "window_scatter_1d");
      return Outs{d.down(out, N * T * C)};
    });
    if (D != 1) continue;  // pooling windows are contiguous
    for (int32_t kind : {RK_POOL_MAX, RK_POOL_AVERAGE}) {
      const std::string name = kind == RK_POOL_MAX ? " max" : " average";
      both("pool_1d_forward" + name, kind == RK_POOL_MAX, what, [&](Dev& d) {
        float* y = d.up(Floats(rows * C));
        d.must(d.o->pool_1d_forward(&w, kind, d.up(x), y), "pool_1d_forward");
        return Outs{d.down(y, rows * C)};
      });
      both("pool_1d_backward" + name, kind == RK_POOL_MAX, what, [&](Dev& d) {
        float* dx = d.up(random(N * T * C));
        d.must(d.o->pool_1d_backward(&w, kind, d.up(x), d.up(dy), dx), "pool_1d_backward");
        return Outs{d.down(dx, N * T * C)};
      });
      Floats mask(N * T);
      for (int64_t i = 0; i < N * T; ++i) mask[i] = (rng() % 3 == 0) ? 0.0f : 1.0f;
      for (int64_t t = 0; t < T; ++t) mask[t] = 0.0f;  // a sequence with every step masked
      for (int with_mask = 0; with_mask < 2; ++with_mask) {
        const std::string masked = what + (with_mask ? " masked" : "");
        const Floats gdy = random(N * C);
        both("global_pool_1d_forward" + name, kind == RK_POOL_MAX, masked, [&](Dev& d) {
          float* y = d.up(Floats(N * C));
          d.must(d.o->global_pool_1d_forward(kind, d.up(x), with_mask ? d.up(mask) : nullptr, N, T, C, y),
                 "global_pool_1d_forward");
          return Outs{d.down(y, N * C)};
        });
        both("global_pool_1d_backward" + name, kind == RK_POOL_MAX, masked, [&](Dev& d) {
          float* dx = d.up(random(N * T * C));
          d.must(d.o->global_pool_1d_backward(kind, d.up(x), with_mask ? d.up(mask) : nullptr, d.up(gdy), N, T, C, dx),
                 "global_pool_1d_backward");
          return Outs{d.down(dx, N * T * C)};
        });
      }
    }
  }
}

// ---- the plugin's reasons, each in a child process (a plugin initialises once) ----------

// What the plugin's probe says: why it cannot run (reason), or what runs (info); null when
// the probe says the other.
using text_fn = std::function<const char*()>;

// Runs body in a child process with the environment it sets; its exit status is the result.
bool in_child(const std::function<bool()>& body) {
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    const bool ok = body();
    std::fflush(stdout);  // _exit skips stdio's flush
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool open_plugin(const std::string& path, text_fn* reason, text_fn* info, const rk_device_ops** ops) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::printf("    dlopen(%s): %s\n", path.c_str(), dlerror());
    return false;
  }
  auto entry = reinterpret_cast<rk_get_device_ops_fn>(dlsym(lib, RK_DEVICE_ENTRY));
  *ops = entry ? entry() : nullptr;
  if (!*ops || !(*ops)->probe) return false;
  const rk_device_ops* o = *ops;
  *reason = [o] {
    const char* note = nullptr;
    return o->probe(&note) ? nullptr : note;
  };
  *info = [o] {
    const char* note = nullptr;
    return o->probe(&note) ? note : nullptr;
  };
  return o->abi_version == RK_DEVICE_ABI_VERSION;
}

void loader_line(const char* name, bool ok, const std::string& text) {
  std::printf("%-44s %s  %s\n", name, ok ? "OK  " : "FAIL", text.c_str());
  record(std::string("loader: ") + name, true, ok ? 0 : 1, ok, text);
  stats[std::string("loader: ") + name].note = "printed";
}

std::string child_text;  // set in the child, printed there

void check_loader(const std::string& emu_path, const std::string& real_path) {
  const std::string fake = emu_path.substr(0, emu_path.rfind('/') + 1) + "libcublas.so.13";
  struct Case {
    const char* name;
    const char* cublas;  // RNNKIT_CUBLAS, or null to leave it unset
    const char* expect_reason;  // substring, or null: usable
    const char* emulate = nullptr;  // RNNKIT_CUDA_EMULATE: a machine without a driver, ...
  };
  const std::string missing = "/nonexistent/rnnkit/libcublas.so.13";
  const Case cases[] = {{"emulated, fake cuBLAS found beside it", nullptr, nullptr},
                        {"emulated, RNNKIT_CUBLAS=<fake>", fake.c_str(), nullptr},
                        {"emulated, RNNKIT_CUBLAS pointing nowhere", missing.c_str(), "cuBLAS not found (tried /nonexistent"},
                        {"emulated, as without a driver", nullptr, "no NVIDIA driver (libcuda.so.1", "no-driver"},
                        {"emulated, as with an old driver", nullptr,
                         "the NVIDIA driver supports CUDA 12.8 but this plugin's runtime needs CUDA 13.0", "old-driver"},
                        {"emulated, as without a device", nullptr, "no CUDA device", "no-device"}};
  // A context that cannot be made (out of memory): the probe says usable, the first entry
  // fails with the reason, and from then on the reason says it too.
  loader_line("emulated, as out of memory for the context", in_child([&] {
                setenv("RNNKIT_CUDA_EMULATE", "out-of-memory", 1);
                text_fn reason, info;
                const rk_device_ops* ops;
                if (!open_plugin(emu_path, &reason, &info, &ops) || reason()) return false;
                const bool refused = !ops->alloc(16) && std::strstr(ops->last_error(), "out of memory");
                std::printf("    first entry: %s\n    reason: %s\n", ops->last_error(), reason() ? reason() : "(null)");
                return refused && reason() && std::strstr(reason(), "could not be opened: out of memory");
              }),
              "");
  for (const Case& c : cases) {
    const bool ok = in_child([&] {
      if (c.cublas) setenv("RNNKIT_CUBLAS", c.cublas, 1); else unsetenv("RNNKIT_CUBLAS");
      if (c.emulate) setenv("RNNKIT_CUDA_EMULATE", c.emulate, 1); else unsetenv("RNNKIT_CUDA_EMULATE");
      text_fn reason, info;
      const rk_device_ops* ops;
      if (!open_plugin(emu_path, &reason, &info, &ops)) return false;
      const char* r = reason();
      bool good;
      if (c.expect_reason) {
        good = r && std::strstr(r, c.expect_reason) && !info() && !ops->alloc(16) && std::strstr(ops->last_error(), r);
        std::printf("    reason: %s\n", r ? r : "(null)");
      } else {
        const std::string i = info() ? info() : "";
        good = !r && i.find("emulated on the CPU") != std::string::npos &&
               i.find(c.cublas ? c.cublas : "libcublas.so.13") != std::string::npos;
        std::printf("    info: %s\n", i.c_str());
      }
      return good;
    });
    loader_line(c.name, ok, "");
  }
  if (real_path.empty() || access(real_path.c_str(), R_OK) != 0) {
    std::printf("%-44s SKIP  (%s not built: no nvcc)\n", "real plugin loads, says why it cannot run", real_path.c_str());
    return;
  }
  const bool ok = in_child([&] {
    text_fn reason, info;
    const rk_device_ops* ops;
    if (!open_plugin(real_path, &reason, &info, &ops)) return false;
    const char* r = reason();
    std::printf("    reason: %s\n", r ? r : "(null: a usable GPU)");
    if (!r) return info() != nullptr;  // a machine with a GPU: usable is right too
    // Without a driver every entry fails with the reason instead of aborting.
    const bool entries_fail = !ops->alloc(64) && std::strstr(ops->last_error(), r) && ops->synchronize() != 0;
    uint64_t a, b, c;
    return entries_fail && ops->memory_stats(&a, &b, &c) == 0 && a == 0 && !info() &&
           (std::getenv("RNNKIT_EXPECT_GPU") || std::strncmp(r, "no NVIDIA driver", 16) == 0);
  });
  loader_line("real plugin loads, says why it cannot run", ok, "");
}

std::string beside_self(const char* name) {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return name;
  buf[n] = 0;
  std::string dir(buf);
  return dir.substr(0, dir.rfind('/') + 1) + name;
}

}  // namespace

int main(int argc, char** argv) {
  std::string emu_path = beside_self("rnnkit_cuda_emu.so"), real_path = beside_self("rnnkit_cuda.so"), ops_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--emu")) emu_path = argv[i + 1];
    if (!std::strcmp(argv[i], "--real")) real_path = argv[i + 1];
    if (!std::strcmp(argv[i], "--ops")) ops_path = argv[i + 1];  // compare this plugin instead (a GPU machine)
    // Every grid-stride launch of the emulated plugin capped (e.g. 3x32): the loops stride.
    if (!std::strcmp(argv[i], "--grid")) setenv("RNNKIT_CUDA_EMULATE_GRID", argv[i + 1], 1);
  }
  // Children first, before the CPU device starts its threads.
  if (ops_path.empty()) check_loader(emu_path, real_path);

  text_fn reason, info;
  const rk_device_ops* emu_ops;
  const std::string compared = ops_path.empty() ? emu_path : ops_path;
  if (ops_path.empty()) unsetenv("RNNKIT_CUBLAS");
  unsetenv("RNNKIT_CUDA_EMULATE");
  if (!open_plugin(compared, &reason, &info, &emu_ops) || reason()) {
    std::printf("FAIL: the plugin %s is unusable: %s\n", compared.c_str(), reason ? reason() : "");
    return 1;
  }
  emulated = std::strstr(info(), "emulated on the CPU") != nullptr;
  std::printf("%s plugin: %s\n", emulated ? "emulated" : "compared", info());
  cpu = std::make_unique<Dev>(rk::cpu::device_ops());
  emu = std::make_unique<Dev>(emu_ops);

  check_memory();
  check_fill();
  check_gemm();
  check_permute();
  check_cells();
  check_reductions();
  check_pointwise();
  check_rows();
  check_shapes();
  check_dense();
  check_losses();
  check_count_correct();
  check_optimizer();
  check_embedding_dropout();
  check_normalization();
  check_windows();

  bool all_ok = true;
  for (const std::string& op : order) {
    const Stat& s = stats[op];
    all_ok = all_ok && !s.failed;
    if (s.note == "printed") continue;
    std::printf("%-44s %s  cases=%-5d %s=%.3g%s%s\n", op.c_str(), s.failed ? "FAIL" : "OK  ", s.cases,
                s.exact ? "exact, max_err" : "max_rel_err", s.worst, s.failed ? "  first failure: " : "",
                s.failed ? s.note.c_str() : "");
  }
  for (const std::string& op : order) all_ok = all_ok && !stats[op].failed;
  std::printf("%s\n", all_ok ? "ALL OK" : "FAILED");
  return all_ok ? 0 : 1;
}
