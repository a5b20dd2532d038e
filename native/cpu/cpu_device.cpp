#include "cpu_device.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "../core/cell_math.h"
#include "../core/errors.h"
#include "gemm.h"
#include "home_thread.h"
#include "host_allocator.h"
#include "isa.h"
#include "normalization.h"
#include "recurrent.h"
#include "shapes.h"
#include "thread_pool.h"
#include "training.h"
#include "windows.h"

namespace rk::cpu {
namespace {

thread_local std::string last_error_message;

// Runs a body, turning any exception into a status the core turns back into an error.
template <typename F>
int guarded(F&& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    last_error_message = e.what();
  } catch (...) {
    last_error_message = "unknown error";
  }
  return 1;
}

const char* last_error() { return last_error_message.c_str(); }

void* alloc(size_t bytes) {
  HostAllocFailure failure;
  void* p = host_alloc(bytes, &failure);
  if (!p)
    last_error_message = failure.over_limit
                             ? "the memory limit is " + std::to_string(failure.limit) + " bytes and " +
                                   std::to_string(failure.in_use) +
                                   " bytes are in use (rk.setMemoryLimit, RNNKIT_MEMORY_LIMIT)"
                             : std::string("the system is out of memory");
  return p;
}

void release(void* p) { host_release(p); }

int memory_stats(uint64_t* bytes, uint64_t* allocations, uint64_t* cached) {
  const HostMemoryStats stats = host_memory_stats();
  *bytes = stats.live_bytes;
  *allocations = stats.live_allocations;
  *cached = stats.cached_bytes;
  return 0;
}

int copy(void* dst, const void* src, size_t bytes, int32_t) {
  std::memmove(dst, src, bytes);
  return 0;
}

int fill(float* dst, float value, size_t count) {
  for (size_t i = 0; i < count; ++i) dst[i] = value;
  return 0;
}

int synchronize() { return 0; }

int gemm_entry(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  return guarded([&] { gemm(ta != 0, tb != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); });
}

size_t packed_b_bytes_entry(int64_t k, int64_t n) { return packed_b_bytes(k, n); }

int pack_b_entry(int32_t tb, int64_t k, int64_t n, const float* b, int64_t ldb, void* packed) {
  return guarded([&] { pack_b(tb != 0, k, n, b, ldb, static_cast<float*>(packed)); });
}

int gemm_packed_b_entry(int32_t ta, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                        const void* packed_b, float beta, float* c, int64_t ldc) {
  return guarded([&] {
    gemm_packed_b(ta != 0, m, n, k, alpha, a, lda, static_cast<const float*>(packed_b), beta, c, ldc);
  });
}

// Batch-major (n, source step) <-> time-major (processing step t, n).
int64_t source_step(const int32_t* lengths, int64_t n, int64_t t, int64_t steps, bool reverse) {
  const int64_t len = lengths ? lengths[n] : steps;
  return (reverse && t < len) ? len - 1 - t : t;
}

int permute_steps(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width,
                  const int32_t* lengths, int32_t reverse, int32_t to_time_major) {
  auto copy_step = [&](int64_t n, int64_t t) {
    const int64_t s = source_step(lengths, n, t, steps, reverse != 0);
    const int64_t tm = (t * batch + n) * width, bm = (n * steps + s) * width;
    float* out = to_time_major ? dst + tm : dst + bm;
    // Padded steps are written as zeros: whatever the caller left there (NaN) must not
    // reach a product over all steps (the weight-gradient GEMMs).
    if (lengths && t >= lengths[n])
      std::memset(out, 0, width * sizeof(float));
    else
      std::memcpy(out, to_time_major ? src + bm : src + tm, width * sizeof(float));
  };
  const double floats = static_cast<double>(batch) * steps * width;
  // Cut by rows where the recurrence that reads the input cuts its rows: the thread that
  // runs a part of it then mostly finds those rows in its own cache rather than in another
  // core's (Zen 2, 2 threads on different L3s; figures in the stop-23 note).
  if (splits_by_rows(batch)) {
    copy_in_parts(batch, 1, floats, [&](Range part) {
      for (int64_t n = part.begin; n < part.end; ++n)
        for (int64_t t = 0; t < steps; ++t) copy_step(n, t);
    });
  } else {
    copy_in_parts(steps, 1, floats, [&](Range part) {
      for (int64_t t = part.begin; t < part.end; ++t)
        for (int64_t n = 0; n < batch; ++n) copy_step(n, t);
    });
  }
  return 0;
}

int reverse_valid_steps(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width,
                        const int32_t* lengths) {
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t s = source_step(lengths, n, t, steps, true);
      std::memcpy(dst + (n * steps + t) * width, src + (n * steps + s) * width, width * sizeof(float));
    }
  return 0;
}

size_t packed_recurrent_bytes_entry(int64_t hidden, int64_t gates) { return packed_recurrent_bytes(hidden, gates); }

int pack_recurrent_entry(const float* r, int64_t hidden, int64_t gates, void* packed) {
  return guarded([&] { pack_recurrent(r, hidden, gates, static_cast<float*>(packed)); });
}

int recurrent_forward_entry(const rk_recurrent_forward_args* args) {
  return guarded([&] { recurrent_forward(*args); });
}

int recurrent_backward_entry(const rk_recurrent_backward_args* args) {
  return guarded([&] { recurrent_backward(*args); });
}

// Pointwise steps run on the pool, each thread on its own units (whole vectors of them).
constexpr int64_t kUnitGrain = 16;

int cell_forward(const rk_cell_forward_args* a) {
  const Kernels& kern = active_kernels();
  ThreadPool::instance().run([&](int index, int count) {
    const Range u = split_range(a->hidden, kUnitGrain, index, count);
    if (u.begin < u.end) kern.cell_forward(*a, u.begin, u.end);
  });
  return 0;
}

int cell_backward(const rk_cell_backward_args* a) {
  const Kernels& kern = active_kernels();
  ThreadPool::instance().run([&](int index, int count) {
    const Range u = split_range(a->hidden, kUnitGrain, index, count);
    if (u.begin < u.end) kern.cell_backward(*a, u.begin, u.end);
  });
  return 0;
}

// Dense activations, a row at a time on the pool (softmax needs whole rows).
template <typename RowFn>
void for_rows(int64_t rows, RowFn&& row_fn) {
  ThreadPool::instance().run([&](int index, int count) {
    const Range r = split_range(rows, 1, index, count);
    for (int64_t i = r.begin; i < r.end; ++i) row_fn(i);
  });
}

int bias_activation(float* y, int64_t rows, int64_t cols, const float* bias, int32_t activation) {
  for_rows(rows, [&](int64_t i) {
    float* row = y + i * cols;
    if (bias)
      for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
    if (activation == RK_ACT_SOFTMAX) {
      float max = row[0];
      for (int64_t j = 1; j < cols; ++j) max = std::fmax(max, row[j]);
      double sum = 0.0;
      for (int64_t j = 0; j < cols; ++j) sum += (row[j] = std::exp(row[j] - max));
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j < cols; ++j) row[j] *= inv;
    } else if (activation != RK_ACT_LINEAR) {
      for (int64_t j = 0; j < cols; ++j) row[j] = rk::activate(activation, row[j]);
    }
  });
  return 0;
}

int activation_backward(const float* y, const float* dy, float* d_pre, int64_t rows, int64_t cols,
                        int32_t activation) {
  for_rows(rows, [&](int64_t i) {
    const float* yr = y + i * cols;
    const float* dyr = dy + i * cols;
    float* out = d_pre + i * cols;
    if (activation == RK_ACT_SOFTMAX) {
      double dot = 0.0;
      for (int64_t j = 0; j < cols; ++j) dot += static_cast<double>(yr[j]) * dyr[j];
      for (int64_t j = 0; j < cols; ++j) out[j] = yr[j] * (dyr[j] - static_cast<float>(dot));
    } else {
      for (int64_t j = 0; j < cols; ++j) out[j] = dyr[j] * rk::activate_grad_from_output(activation, yr[j]);
    }
  });
  return 0;
}

int loss_entry(int32_t kind, int32_t from_logits, const float* pred, const float* target, int64_t rows, int64_t cols,
               float* grad, double* host_loss) {
  return guarded([&] { *host_loss = loss(kind, from_logits != 0, pred, target, rows, cols, grad); });
}

int optimizer_step_entry(const rk_optimizer_step_args* args) {
  return guarded([&] { optimizer_step(*args); });
}

int count_correct_entry(const float* pred, const float* target, int64_t rows, int64_t cols, int32_t sparse,
                        int32_t binary, float threshold, int64_t* host_correct) {
  return guarded([&] { *host_correct = count_correct(pred, target, rows, cols, sparse != 0, binary != 0, threshold); });
}

int embedding_forward_entry(const float* table, const float* ids, float* out, int64_t rows, int64_t dim) {
  return guarded([&] { embedding_forward(table, ids, out, rows, dim); });
}

int embedding_backward_entry(const float* ids, const float* d_out, float* d_table, int64_t rows, int64_t dim) {
  return guarded([&] { embedding_backward(ids, d_out, d_table, rows, dim); });
}

int dropout_entry(const float* x, float* y, float* mask, size_t count, float rate, uint64_t seed) {
  return guarded([&] { dropout(x, y, mask, count, rate, seed); });
}

// Each thread sums its own columns over every row.
int sum_rows(const float* x, int64_t rows, int64_t cols, float* out, int32_t accumulate) {
  ThreadPool::instance().run([&](int index, int count) {
    const Range c = split_range(cols, 16, index, count);
    if (c.begin >= c.end) return;
    float* dst = out + c.begin;
    const int64_t width = c.end - c.begin;
    if (!accumulate) std::memset(dst, 0, width * sizeof(float));
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x + r * cols + c.begin;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) dst[j] += row[j];
    }
  });
  return 0;
}

int sum_squares(const float* x, size_t count, double* result) {
  double sum = 0.0;
  for (size_t i = 0; i < count; ++i) sum += static_cast<double>(x[i]) * x[i];
  *result = sum;
  return 0;
}

int sum_squares_many(const float* const* xs, const size_t* counts, int32_t n, double* result) {
  double sum = 0.0;
  for (int32_t t = 0; t < n; ++t) {
    double part = 0.0;
    sum_squares(xs[t], counts[t], &part);
    sum += part;
  }
  *result = sum;
  return 0;
}

// The CPU's settings through the ABI, so that the bindings need no cpu/ headers.
int set_option(const char* name_in, const char* value_in) {
  const std::string name = name_in, value = value_in;
  try {
    if (name == "threads") {
      size_t used = 0;
      const int n = std::stoi(value, &used);
      if (used != value.size() || n < 1 || n > 1024) throw std::invalid_argument("");
      ThreadPool::instance().set_threads(n);
    } else if (name == "isa") {
      set_isa(value);
    } else {
      last_error_message = "the cpu device has no settable option '" + name + "'";
      return RK_STATUS_INVALID_ARGUMENT;
    }
    return 0;
  } catch (const rk::Error& e) {
    last_error_message = e.what();
  } catch (const std::logic_error&) {  // stoi's invalid_argument / out_of_range
    last_error_message = "threads must be an integer in [1, 1024], got '" + value + "'";
  }
  return RK_STATUS_INVALID_ARGUMENT;
}

int get_option(const char* name_in, char* out, size_t capacity) {
  const std::string name = name_in;
  std::string value;
  if (name == "threads") {
    value = std::to_string(ThreadPool::instance().threads());
  } else if (name == "hardware_threads") {
    value = std::to_string(ThreadPool::hardware_threads());
  } else if (name == "stalled_teams") {
    value = std::to_string(ThreadPool::instance().stalled_teams());
  } else if (name == "crowded_periods") {
    value = std::to_string(ThreadPool::instance().crowded_periods());
  } else if (name == "home_calls") {
    value = std::to_string(HomeThread::instance().calls());
  } else if (name == "home_busy") {
    value = std::to_string(HomeThread::instance().busy());
  } else if (name == "isa") {
    value = isa_name();
  } else if (name == "supported_isas") {
    for (const std::string& isa : supported_isas()) value += (value.empty() ? "" : ",") + isa;
  } else {
    last_error_message = "the cpu device has no option '" + name + "'";
    return RK_STATUS_INVALID_ARGUMENT;
  }
  if (value.size() + 1 > capacity) {
    last_error_message = "option '" + name + "' needs " + std::to_string(value.size() + 1) + " bytes";
    return RK_STATUS_INVALID_ARGUMENT;
  }
  std::memcpy(out, value.c_str(), value.size() + 1);
  return 0;
}

int axpby(float alpha, const float* x, float beta, const float* y, float* out, size_t count) {
  if (y)
    for (size_t i = 0; i < count; ++i) out[i] = alpha * x[i] + beta * y[i];
  else
    for (size_t i = 0; i < count; ++i) out[i] = alpha * x[i];
  return 0;
}

int multiply(const float* x, const float* y, float* out, size_t count) {
  for (size_t i = 0; i < count; ++i) out[i] = x[i] * y[i];
  return 0;
}

int clamp(const float* x, float lo, float hi, float* out, size_t count) {
  for (size_t i = 0; i < count; ++i) out[i] = std::fmin(hi, std::fmax(lo, x[i]));
  return 0;
}

// Large blocks on the pool: a training step's weight gradients copy megabytes here.
int copy_2d(const float* src, int64_t src_pitch, float* dst, int64_t dst_pitch, int64_t rows,
            int64_t width) {
  copy_in_parts(rows, 1, static_cast<double>(rows) * width, [&](Range r) {
    for (int64_t i = r.begin; i < r.end; ++i)
      std::memcpy(dst + i * dst_pitch, src + i * src_pitch, width * sizeof(float));
  });
  return 0;
}

int gather_rows(const float* src, int64_t row_width, const int64_t* indices, int64_t count, float* dst) {
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(dst + i * row_width, src + indices[i] * row_width, row_width * sizeof(float));
  return 0;
}

int transpose_2d(const float* src, int64_t rows, int64_t cols, int64_t src_pitch, float* dst, int64_t dst_pitch) {
  transpose(src, rows, cols, src_pitch, dst, dst_pitch);
  return 0;
}

int layer_norm_forward_entry(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                             float epsilon, float* y, float* mean, float* rstd) {
  return guarded([&] { layer_norm_forward(x, rows, cols, gamma, beta, epsilon, y, mean, rstd); });
}

int layer_norm_backward_entry(const float* x, const float* dy, int64_t rows, int64_t cols, const float* gamma,
                              const float* mean, const float* rstd, float* dx, float* d_gamma, float* d_beta) {
  return guarded([&] { layer_norm_backward(x, dy, rows, cols, gamma, mean, rstd, dx, d_gamma, d_beta); });
}

int batch_norm_statistics_entry(const float* x, int64_t rows, int64_t cols, const float* row_weight,
                                double denominator, float* mean, float* variance) {
  return guarded([&] { batch_norm_statistics(x, rows, cols, row_weight, denominator, mean, variance); });
}

int batch_norm_forward_entry(const float* x, int64_t rows, int64_t cols, const float* mean, const float* variance,
                             const float* gamma, const float* beta, float epsilon, float* y) {
  return guarded([&] { batch_norm_forward(x, rows, cols, mean, variance, gamma, beta, epsilon, y); });
}

int batch_norm_backward_entry(const float* x, const float* dy, int64_t rows, int64_t cols, const float* row_weight,
                              double count, double denominator, const float* mean, const float* variance,
                              const float* gamma, float epsilon, float* dx, float* d_gamma, float* d_beta) {
  return guarded([&] {
    batch_norm_backward(x, dy, rows, cols, row_weight, count, denominator, mean, variance, gamma, epsilon, dx, d_gamma,
                        d_beta);
  });
}

// Set by name, so that the entries of later ABI versions stay null until implemented.
const rk_device_ops kOps = [] {
  rk_device_ops o{};
  o.abi_version = RK_DEVICE_ABI_VERSION;
  o.name = "cpu";
  o.last_error = last_error;
  o.alloc = alloc;
  o.release = release;
  o.copy = copy;
  o.fill = fill;
  o.synchronize = synchronize;
  o.memory_stats = memory_stats;
  o.gemm = gemm_entry;
  o.packed_b_bytes = packed_b_bytes_entry;
  o.pack_b = pack_b_entry;
  o.gemm_packed_b = gemm_packed_b_entry;
  o.packed_recurrent_bytes = packed_recurrent_bytes_entry;
  o.pack_recurrent = pack_recurrent_entry;
  o.recurrent_forward = recurrent_forward_entry;
  o.recurrent_backward = recurrent_backward_entry;
  o.permute_steps = permute_steps;
  o.reverse_valid_steps = reverse_valid_steps;
  o.cell_forward = cell_forward;
  o.cell_backward = cell_backward;
  o.sum_rows = sum_rows;
  o.sum_squares = sum_squares;
  o.axpby = axpby;
  o.multiply = multiply;
  o.clamp = clamp;
  o.copy_2d = copy_2d;
  o.bias_activation = bias_activation;
  o.activation_backward = activation_backward;
  o.loss = loss_entry;
  o.optimizer_step = optimizer_step_entry;
  o.count_correct = count_correct_entry;
  o.embedding_forward = embedding_forward_entry;
  o.embedding_backward = embedding_backward_entry;
  o.dropout = dropout_entry;
  o.sum_squares_many = sum_squares_many;
  o.set_option = set_option;
  o.get_option = get_option;
  // probe: null, always usable
  o.gather_rows = gather_rows;
  o.transpose_2d = transpose_2d;
  // Convolution and pooling over time (ABI v4, windows.cpp).
  o.window_gather_1d = window_gather_1d;
  o.window_scatter_1d = window_scatter_1d;
  o.pool_1d_forward = pool_1d_forward;
  o.pool_1d_backward = pool_1d_backward;
  o.global_pool_1d_forward = global_pool_1d_forward;
  o.global_pool_1d_backward = global_pool_1d_backward;
  // Shapes, merges and masks (ABI v4).
  o.repeat_rows = repeat_rows;
  o.sum_repeats = sum_repeats;
  o.rows_differ = rows_differ;
  o.mask_rows = mask_rows;
  // Normalization (ABI v4).
  o.layer_norm_forward = layer_norm_forward_entry;
  o.layer_norm_backward = layer_norm_backward_entry;
  o.batch_norm_statistics = batch_norm_statistics_entry;
  o.batch_norm_forward = batch_norm_forward_entry;
  o.batch_norm_backward = batch_norm_backward_entry;
  return o;
}();

}  // namespace

const rk_device_ops* device_ops() { return &kOps; }

}  // namespace rk::cpu
