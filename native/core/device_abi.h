// The device interface as a C ABI, so that a device can live in a separately built
// shared library (the CUDA plugin) and be loaded with dlopen. Every entry returns 0 on
// success or a nonzero status; the device's last_error() then says why (thread-local).
// All pointers except `host` ones are device memory; matrices are row-major.
//
// Completion rules (how work is ordered and when results are visible):
// - Every entry is ordered on the device's one stream: it may return before its work is
//   done, but runs after all work enqueued before it and before all work enqueued after it.
// - Entries that hand a result to the host synchronise: `copy` with RK_DEVICE_TO_HOST,
//   `sum_squares`, `sum_squares_many`, `loss` and `count_correct` return only when the
//   value is in host memory. `synchronize` waits for everything enqueued.
// - Host memory passed to `copy` (RK_HOST_TO_DEVICE) may be reused once `copy` returns.
// - `release` is stream-ordered: a buffer released (e.g. on the JavaScript thread) while
//   work that uses it is still queued stays valid until that work is done; the device
//   reuses its memory only for work enqueued after the release.
//
// Versions: a table says which layout it has in `abi_version`. Each version only appends
// entries at the end of rk_device_ops; a version 1 table ends at RK_DEVICE_OPS_V1_SIZE, a
// version 2 table at RK_DEVICE_OPS_V2_SIZE, a version 3 one at RK_DEVICE_OPS_V3_SIZE, and the
// core treats every later entry as null. Versions 5 and 6 add no entry: they extend
// rk_recurrent_forward_args, whose new fields the core sets only for tables of that version on.
// Optional entries (null allowed) say so and name the core's fallback; every other entry is
// mandatory and the loader rejects a table where one is null.
#ifndef RNNKIT_CORE_DEVICE_ABI_H
#define RNNKIT_CORE_DEVICE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RK_DEVICE_ABI_VERSION 6
// The oldest table layout the core still loads.
#define RK_DEVICE_ABI_MIN_VERSION 1

// The status set_option and get_option return for a caller's mistake (an unknown option, a
// bad value) rather than a device failure: the core raises a TypeError, not a device error.
// Other entries' nonzero statuses all mean failure, whatever their value.
#define RK_STATUS_INVALID_ARGUMENT 2

typedef enum rk_copy_kind { RK_HOST_TO_DEVICE = 0, RK_DEVICE_TO_HOST = 1, RK_DEVICE_TO_DEVICE = 2 } rk_copy_kind;

typedef enum rk_cell_kind {
  RK_CELL_RNN = 0,
  RK_CELL_LSTM = 1,
  RK_CELL_GRU_RESET_AFTER = 2,   // cuDNN / linear_before_reset
  RK_CELL_GRU_RESET_BEFORE = 3,  // classic GRU, Keras reset_after=False
} rk_cell_kind;

typedef enum rk_activation {
  RK_ACT_TANH = 0,
  RK_ACT_SIGMOID = 1,
  RK_ACT_HARD_SIGMOID = 2,
  RK_ACT_RELU = 3,
  RK_ACT_LINEAR = 4,
  RK_ACT_ELU = 5,
  RK_ACT_SELU = 6,
  RK_ACT_SOFTSIGN = 7,
  RK_ACT_SOFTPLUS = 8,
  RK_ACT_SOFTMAX = 9,  // over each row; dense layers only
} rk_activation;

// Where a step's output goes: every step into a [N,T,H] sequence, or only each
// sequence's last valid step into a [N,H] matrix.
typedef enum rk_output_mode { RK_OUTPUT_SEQUENCE = 0, RK_OUTPUT_LAST = 1 } rk_output_mode;
// What a sequence output holds at steps past a sequence's length.
typedef enum rk_masked_output { RK_MASKED_ZEROS = 0, RK_MASKED_CARRY = 1 } rk_masked_output;

// One timestep of the pointwise cell, forward. Gate blocks follow cuDNN's order
// (LSTM i,f,g,o; GRU r,z,n). `xw` holds x·Wᵀ for this step ([N, G·H], no bias),
// `hr` holds h_prev·Rᵀ ([N, G·H], no bias; for the classic GRU its n block is
// (r⊙h_prev)·R_nᵀ written between the two phases).
typedef struct rk_cell_forward_args {
  int32_t cell;             // rk_cell_kind
  int32_t activation;       // rk_activation (candidate / output activation)
  int32_t recurrent_activation;
  int32_t phase;            // classic GRU: 0 = gates r,z and r⊙h_prev, 1 = candidate and state
  int64_t batch;            // N
  int64_t hidden;           // H
  int64_t step;             // processing step t, compared with lengths
  const float* xw;
  const float* hr;
  const float* bias_w;      // [G·H] or null
  const float* bias_r;      // [G·H] or null
  const float* h_prev;      // [N,H]
  const float* c_prev;      // [N,H] LSTM only
  float* h_next;            // [N,H]
  float* c_next;            // [N,H] LSTM only
  float* gates;             // [N,G·H] activated gates, or null outside training
  float* extra;             // [N,H] GRU: R_n·h+b (after) or r⊙h_prev (before); always needed for classic GRU
  const int32_t* lengths;   // [N], never null (all T when the caller gave none)
  float* output;            // sequence: row n at output + n*output_stride; last: [N,H]
  int64_t output_stride;
  int32_t output_mode;      // rk_output_mode
  int32_t masked_output;    // rk_masked_output
} rk_cell_forward_args;

// One timestep of the pointwise cell, backward. Produces the gradient with respect
// to the input projection (dgx) and to the recurrent projection (dgh; differs from
// dgx only in the GRU candidate block), and the direct part of dh_prev (the GEMM
// dgh·R is added by the algorithm afterwards).
typedef struct rk_cell_backward_args {
  int32_t cell;
  int32_t activation;
  int32_t recurrent_activation;
  int32_t phase;            // classic GRU: 0 = candidate/z grads, 1 = r grads (needs d(r⊙h))
  int64_t batch;
  int64_t hidden;
  int64_t step;
  const float* gates;       // saved activations of this step
  const float* extra;       // saved GRU extra of this step
  const float* h_prev;
  const float* c_prev;
  const float* c_cur;       // LSTM c_t
  const float* h_cur;       // SimpleRNN h_t
  const float* dh;          // gradient flowing into h_t from later steps [N,H]
  const float* dc;          // LSTM, into c_t
  const float* d_output;    // sequence row stride d_output_stride, or last-mode [N,H]; null = none
  int64_t d_output_stride;
  int32_t output_mode;
  int32_t masked_output;
  const float* d_rh;        // classic GRU phase 1: d(r⊙h_prev) = dn·R_n
  const int32_t* lengths;
  float* dgx;               // [N,G·H]
  float* dgh;               // [N,G·H]
  float* dh_prev;           // [N,H]: the direct terms (overwritten)
  float* dc_prev;           // [N,H]
} rk_cell_backward_args;

// Every timestep of a forward pass in one launch (an optional, fused form of the per-step
// GEMM + cell_forward loop). `step` holds step 0's arguments (phase ignored); the others
// say how they move from step to step. States live in `state_slots` slots of N·H floats
// starting at step.h_prev (and step.c_prev): T+1 when training keeps them all, else 2.
typedef struct rk_recurrent_forward_args {
  rk_cell_forward_args step;
  int64_t steps;
  int64_t state_slots;
  int64_t gates_step;   // floats between steps in gates (0 when not kept)
  int64_t extra_step;   // in extra (0: one scratch buffer reused)
  int64_t output_step;  // in output (H for sequences, 0 for the last-step output)
  const void* recurrent;  // pack_recurrent of the R rows multiplied with h_prev
  const void* candidate;  // classic GRU: pack_recurrent of R_n (gates = 1)
  // Since version 5. With x set, the device computes the input projection itself, a block of
  // block_steps steps at a time, so that it is still in cache when the steps read it: step.xw
  // is then scratch for one block (block_steps·N·G·H floats) instead of every step's
  // projection. x: [steps, N, input_size] in processing order; input: op(B) = Wᵀ
  // [input_size, G·H] prepared by pack_b. Null x: step.xw holds every step's projection.
  const float* x;
  int64_t input_size;
  const void* input;
  int64_t block_steps;
  // Since version 6. Nonzero x_row_stride: x is read where the caller holds it, row n of
  // processing step t at x + t·x_step_stride + n·x_row_stride (x_step_stride is negative for
  // a reversed pass); the rows of steps past a sequence's length hold whatever the caller
  // left there (the steps that read them are masked). Zero: x is [steps, N, input_size].
  int64_t x_step_stride;
  int64_t x_row_stride;
} rk_recurrent_forward_args;

// Every timestep of a backward pass in one launch (the fused form of the per-step
// cell_backward + GEMM loop). `step` holds the arguments of the last step (t = T-1); each
// earlier step moves states, extra and h/c pointers back by state_step floats, gates, dgx
// and dgh by gates_step, d_output by d_output_step, and swaps dh <-> dh_prev, dc <-> dc_prev.
typedef struct rk_recurrent_backward_args {
  rk_cell_backward_args step;
  int64_t steps;
  int64_t state_step;
  int64_t gates_step;
  int64_t d_output_step;
  const void* recurrent;  // pack_b(R, no transpose) of the rows multiplied back (classic GRU: r,z)
  const void* candidate;  // classic GRU: pack_b(R_n)
} rk_recurrent_backward_args;

typedef enum rk_loss {
  RK_LOSS_MSE = 0,
  RK_LOSS_MAE = 1,
  RK_LOSS_BINARY_CROSSENTROPY = 2,
  RK_LOSS_CATEGORICAL_CROSSENTROPY = 3,
  RK_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 4,  // targets: one class index per row
} rk_loss;

typedef enum rk_optimizer { RK_OPT_SGD = 0, RK_OPT_ADAM = 1, RK_OPT_RMSPROP = 2 } rk_optimizer;

// One optimizer step on one weight tensor, Keras's update rules. `slots` are the
// optimizer's per-weight state (SGD: velocity; Adam: m, v; RMSprop: mean square, momentum).
typedef struct rk_optimizer_step_args {
  int32_t kind;       // rk_optimizer
  int32_t nesterov;   // SGD
  int64_t count;
  int64_t iteration;  // 1-based, for Adam's bias correction
  float learning_rate, momentum, beta1, beta2, rho, epsilon;
  float* param;
  const float* grad;
  float* slot0;
  float* slot1;
} rk_optimizer_step_args;

// Windows over time on channels-last rows [N, T, C] (convolution and pooling): output step
// o reads input steps o·stride − pad_left + j·dilation for j < window; a step outside
// [0, T) is padding.
typedef struct rk_window_1d {
  int64_t batch;      // N
  int64_t steps;      // T
  int64_t channels;   // C
  int64_t out_steps;  // output steps
  int64_t window;     // kernel size or pool size
  int64_t stride;
  int64_t dilation;
  int64_t pad_left;
} rk_window_1d;

typedef enum rk_pool_kind { RK_POOL_MAX = 0, RK_POOL_AVERAGE = 1 } rk_pool_kind;

typedef struct rk_device_ops {
  int32_t abi_version;
  const char* name;
  const char* (*last_error)(void);

  void* (*alloc)(size_t bytes);  // null on failure
  void (*release)(void* ptr);
  int (*copy)(void* dst, const void* src, size_t bytes, int32_t kind);
  int (*fill)(float* dst, float value, size_t count);
  int (*synchronize)(void);
  // Live allocations of this device, for leak checks and rk.memory(); cached_bytes: released
  // memory the device keeps for reuse.
  int (*memory_stats)(uint64_t* live_bytes, uint64_t* live_allocations, uint64_t* cached_bytes);

  // C[m,n] = alpha·op(A)·op(B) + beta·C; op(X) = Xᵀ when trans_x is nonzero.
  int (*gemm)(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
              int64_t ldc);

  // A right-hand operand prepared once for many GEMMs (the recurrent weights, used every
  // step): op(B) of shape [k, n] in the device's own layout, in `packed_b_bytes` bytes.
  // Optional, all three (since version 2): when any is null or packed_b_bytes returns 0,
  // the core keeps no second copy and calls `gemm` on the canonical weights instead.
  size_t (*packed_b_bytes)(int64_t k, int64_t n);
  int (*pack_b)(int32_t trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, void* packed);
  // C[m,n] = alpha·op(A)·B + beta·C with B prepared by pack_b.
  int (*gemm_packed_b)(int32_t trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                       int64_t lda, const void* packed_b, float beta, float* c, int64_t ldc);

  // Optional fused forward (null entries: the algorithm runs its per-step loop). R's rows
  // for `gates` gates ([gates·H, H], canonical) prepared for recurrent_forward;
  // packed_recurrent_bytes returns 0 when the device does not offer it.
  size_t (*packed_recurrent_bytes)(int64_t hidden, int64_t gates);
  int (*pack_recurrent)(const float* r, int64_t hidden, int64_t gates, void* packed);
  int (*recurrent_forward)(const rk_recurrent_forward_args* args);
  int (*recurrent_backward)(const rk_recurrent_backward_args* args);

  // Rearranges [N,T,W] rows into time-major processing order [T,N,W] (to_time_major != 0)
  // or back. With reverse, sequence n's valid steps (t < lengths[n], or T) are reversed.
  // Steps at or past lengths[n] are written as zeros in dst, never copied.
  int (*permute_steps)(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width,
                       const int32_t* lengths, int32_t reverse, int32_t to_time_major);
  // Reverses each sequence's valid steps in place-free [N,T,W] batch-major layout.
  int (*reverse_valid_steps)(const float* src, float* dst, int64_t batch, int64_t steps,
                             int64_t width, const int32_t* lengths);

  int (*cell_forward)(const rk_cell_forward_args* args);
  int (*cell_backward)(const rk_cell_backward_args* args);

  // out[c] (+)= Σ_r x[r, c] over a [rows, cols] matrix.
  int (*sum_rows)(const float* x, int64_t rows, int64_t cols, float* out, int32_t accumulate);
  // *host_result = Σ x² accumulated in double.
  int (*sum_squares)(const float* x, size_t count, double* host_result);
  // out = alpha·x + beta·y (y may be null for out = alpha·x).
  int (*axpby)(float alpha, const float* x, float beta, const float* y, float* out, size_t count);
  int (*multiply)(const float* x, const float* y, float* out, size_t count);
  int (*clamp)(const float* x, float lo, float hi, float* out, size_t count);
  // Copies a [rows, width] block between row-pitched matrices.
  int (*copy_2d)(const float* src, int64_t src_pitch, float* dst, int64_t dst_pitch, int64_t rows,
                 int64_t width);

  // Dense layers. y[r, c] = act(y[r, c] + bias[c]) over a [rows, cols] matrix (bias may be
  // null; softmax normalises each row), and its backward from the output:
  // d_pre = dy ⊙ act'(y) (softmax: each row's Jacobian-vector product).
  int (*bias_activation)(float* y, int64_t rows, int64_t cols, const float* bias, int32_t activation);
  int (*activation_backward)(const float* y, const float* dy, float* d_pre, int64_t rows, int64_t cols,
                             int32_t activation);

  // Training. The mean loss over `rows` samples of `cols` values (Keras: each sample's mean
  // over its last axis, then the mean over samples) into *host_loss, and its gradient with
  // respect to `pred` into `grad`. Sparse targets hold one class index per row.
  int (*loss)(int32_t kind, int32_t from_logits, const float* pred, const float* target, int64_t rows,
              int64_t cols, float* grad, double* host_loss);
  int (*optimizer_step)(const rk_optimizer_step_args* args);
  // Accuracy: how many of `rows` predictions are right. With one column (or a binary
  // loss) every value counts, thresholded at `threshold`; else each row's argmax against
  // the target's argmax, or against a class index per row when `sparse`.
  int (*count_correct)(const float* pred, const float* target, int64_t rows, int64_t cols, int32_t sparse,
                       int32_t binary, float threshold, int64_t* host_correct);

  // Embeddings: out[r] = table[ids[r]] (ids hold integral values checked by the caller),
  // and the backward scatter-add d_table[ids[r]] += d_out[r] (d_table is not cleared).
  int (*embedding_forward)(const float* table, const float* ids, float* out, int64_t rows, int64_t dim);
  int (*embedding_backward)(const float* ids, const float* d_out, float* d_table, int64_t rows, int64_t dim);
  // Inverted dropout: mask[i] = 0 with probability `rate`, else 1/(1-rate), drawn from a
  // counter-based generator keyed by (seed, i) so that every device draws the same mask;
  // y = x·mask.
  int (*dropout)(const float* x, float* y, float* mask, size_t count, float rate, uint64_t seed);

  // ---- Version 2: appended entries, all optional ----

  // *host_result = Σ over tensors i < n of Σ xs[i][j]² (j < counts[i]), accumulated in
  // double, with one synchronisation (the global norm of a clip). `xs` and `counts` are
  // host arrays of device pointers and counts. Null: the core calls sum_squares per tensor.
  int (*sum_squares_many)(const float* const* xs, const size_t* counts, int32_t n, double* host_result);
  // Device settings by name, values as text (the CPU: "threads", "isa"; read-only
  // "hardware_threads", "supported_isas" as a comma-separated list, best first). An unknown
  // name or a bad value returns RK_STATUS_INVALID_ARGUMENT. get_option writes the value and
  // its terminating NUL into value[capacity] (too small: RK_STATUS_INVALID_ARGUMENT).
  // Null: the device has no settings; the core reports every name as unknown.
  int (*set_option)(const char* name, const char* value);
  int (*get_option)(const char* name, char* value, size_t capacity);
  // Whether the device can run on this machine, asked once when the plugin is loaded and
  // before any other entry but last_error. Returns 1 when usable, 0 when not. *note, when
  // set to a non-null string that lives as long as the library, says why not ("no NVIDIA
  // driver"), or for a usable device something a user should know ("emulated on the
  // CPU"). Null: the device is usable and has nothing to say.
  int32_t (*probe)(const char** note);

  // ---- Version 3: appended entries, all optional (data stays on the device) ----

  // dst row i = src row host_indices[i] (i < count), rows of row_width floats: batch slicing
  // and shuffled batches without a trip through the host. The indices are host memory
  // (indices, not data) and may be reused once the call returns; the caller checks them.
  // Null: the core copies row by row with `copy` (RK_DEVICE_TO_DEVICE).
  int (*gather_rows)(const float* src, int64_t row_width, const int64_t* host_indices, int64_t count, float* dst);
  // dst[c·dst_pitch + r] = src[r·src_pitch + c] for r < rows, c < cols: Keras-layout
  // weights and gradients made from canonical gate blocks on the device.
  // Null: the core calls copy_2d once per source row (one column of dst).
  int (*transpose_2d)(const float* src, int64_t rows, int64_t cols, int64_t src_pitch, float* dst, int64_t dst_pitch);

  // ---- Version 4: appended entries, all optional (layers beyond the recurrent ones) ----
  // A device without an entry runs the layers that need it nowhere: the core says so
  // (RNNKIT_UNSUPPORTED) instead of copying through the host.

  // Convolution and pooling over time (native/core/conv1d.*, pooling.*).
  // im2col: cols[n·out_steps + o, j·C + c] = x[n, o·stride − pad_left + j·dilation, c], 0 for
  // padding; cols is [N·out_steps, window·C].
  int (*window_gather_1d)(const rk_window_1d* w, const float* x, float* cols);
  // Its adjoint (col2im): dx[n, t, c] (overwritten) = the sum of the cols entries that read
  // x[n, t, c]. Written per dx element, so no two threads add into one value.
  int (*window_scatter_1d)(const rk_window_1d* w, const float* cols, float* dx);
  // Pooling [N, T, C] -> [N, out_steps, C] (dilation 1): the max or the mean of each window's
  // non-padding steps (TF: padding is never a maximum and is not counted in a mean).
  int (*pool_1d_forward)(const rk_window_1d* w, int32_t kind, const float* x, float* y);
  // dx (overwritten): max sends each window's dy to its first maximum in x (as TF on ties),
  // average spreads dy / count over the window's non-padding steps.
  int (*pool_1d_backward)(const rk_window_1d* w, int32_t kind, const float* x, const float* dy, float* dx);
  // Global pooling [N, T, C] -> [N, C] over the steps where step_mask [N, T] is nonzero (null:
  // every step); a row with no such step gives 0. Backward: dx (overwritten) from dy [N, C],
  // max to each row's first maximum, average spread over the counted steps.
  int (*global_pool_1d_forward)(int32_t kind, const float* x, const float* step_mask, int64_t batch, int64_t steps,
                                int64_t channels, float* y);
  int (*global_pool_1d_backward)(int32_t kind, const float* x, const float* step_mask, const float* dy,
                                 int64_t batch, int64_t steps, int64_t channels, float* dx);

  // Normalization (native/core/normalization.*).
  // Statistics are accumulated in double, variances are biased (divided by the count, as
  // Keras's moments) and taken in two passes (the mean first). gamma and beta may be null
  // (1 and 0: a layer without scale or center).
  //
  // Layer normalization over each row of x [rows, cols]: y = (x - mean)·rstd·gamma + beta,
  // rstd = 1/sqrt(var + epsilon). mean and rstd ([rows]) receive the row statistics when
  // not null (a training pass keeps them for the backward).
  int (*layer_norm_forward)(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                            float epsilon, float* y, float* mean, float* rstd);
  // Its backward from the saved row statistics: dx [rows, cols], and the column sums
  // d_gamma = Σ dy·x̂ and d_beta = Σ dy ([cols]); all three are overwritten.
  int (*layer_norm_backward)(const float* x, const float* dy, int64_t rows, int64_t cols, const float* gamma,
                             const float* mean, const float* rstd, float* dx, float* d_gamma, float* d_beta);
  // Batch statistics of each column of x [rows, cols] (every axis but the last reduced):
  // mean = Σ w·x / denominator, variance = Σ w·(x - mean)² / denominator, with per-row
  // weights w (0/1; null: every row 1). Keras: denominator = rows without a mask, Σ w + 1e-7
  // with one.
  int (*batch_norm_statistics)(const float* x, int64_t rows, int64_t cols, const float* row_weight,
                               double denominator, float* mean, float* variance);
  // y = (x - mean[c])·gamma[c]/sqrt(variance[c] + epsilon) + beta[c] over x [rows, cols]:
  // batch statistics while training, the moving ones otherwise.
  int (*batch_norm_forward)(const float* x, int64_t rows, int64_t cols, const float* mean, const float* variance,
                            const float* gamma, const float* beta, float epsilon, float* y);
  // The backward of batch_norm_statistics + batch_norm_forward, through the statistics:
  // d_beta = Σ dy, d_gamma = Σ dy·x̂ (all rows, [cols]) and dx [rows, cols], all overwritten.
  // `count` is Σ w (rows without weights); denominator as given to the statistics.
  int (*batch_norm_backward)(const float* x, const float* dy, int64_t rows, int64_t cols, const float* row_weight,
                             double count, double denominator, const float* mean, const float* variance,
                             const float* gamma, float epsilon, float* dx, float* d_gamma, float* d_beta);

  // Shapes, merges and masks (native/core/tensor_ops.*).
  // dst[(r·repeats + k)·width + c] = src[r·width + c]: each row repeated (RepeatVector).
  int (*repeat_rows)(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst);
  // dst[r·width + c] = Σ_k src[(r·repeats + k)·width + c], k in order: repeat_rows' gradient.
  int (*sum_repeats)(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst);
  // valid[r] = 1 when some x[r·width + c] differs from value (NaN differs from every value),
  // else 0: the steps Masking keeps. `valid` is device memory of `rows` bytes.
  int (*rows_differ)(const float* x, int64_t rows, int64_t width, float value, uint8_t* valid);
  // dst[r·width + c] = valid[r] ? src[r·width + c] : 0 (masked rows zeroed, NaN or not);
  // dst may be src.
  int (*mask_rows)(const float* src, int64_t rows, int64_t width, const uint8_t* valid, float* dst);

} rk_device_ops;

// The size of a version 1 table: the entries before sum_squares_many.
#define RK_DEVICE_OPS_V1_SIZE offsetof(rk_device_ops, sum_squares_many)
// The size of a version 2 table: the entries before gather_rows.
#define RK_DEVICE_OPS_V2_SIZE offsetof(rk_device_ops, gather_rows)
// The size of a version 3 table: the entries before window_gather_1d.
#define RK_DEVICE_OPS_V3_SIZE offsetof(rk_device_ops, window_gather_1d)

// The symbol a device plugin exports.
typedef const rk_device_ops* (*rk_get_device_ops_fn)(void);
#define RK_DEVICE_ENTRY "rk_get_device_ops"

#ifdef __cplusplus
}
#endif

#endif
