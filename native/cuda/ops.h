// The entries of the CUDA device's rk_device_ops table, one file per concept:
// gemm.cu, cells.cu, permute.cu, reduce.cu, pointwise.cu, dense.cu, loss.cu,
// optimizer.cu, embedding.cu, dropout.cu, rows.cu, shapes.cu, normalization.cu, windows.cu.
// device.cu assembles the table.
#ifndef RNNKIT_CUDA_OPS_H
#define RNNKIT_CUDA_OPS_H

#include "runtime.h"

namespace rk::cuda {

int gemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
         const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

int permute_steps(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width, const int32_t* lengths,
                  int32_t reverse, int32_t to_time_major);
int reverse_valid_steps(const float* src, float* dst, int64_t batch, int64_t steps, int64_t width,
                        const int32_t* lengths);

int cell_forward(const rk_cell_forward_args* args);
int cell_backward(const rk_cell_backward_args* args);

int sum_rows(const float* x, int64_t rows, int64_t cols, float* out, int32_t accumulate);
int sum_squares(const float* x, size_t count, double* host_result);
int sum_squares_many(const float* const* xs, const size_t* counts, int32_t n, double* host_result);

int fill(float* dst, float value, size_t count);
int axpby(float alpha, const float* x, float beta, const float* y, float* out, size_t count);
int multiply(const float* x, const float* y, float* out, size_t count);
int clamp(const float* x, float lo, float hi, float* out, size_t count);
int copy_2d(const float* src, int64_t src_pitch, float* dst, int64_t dst_pitch, int64_t rows, int64_t width);

int bias_activation(float* y, int64_t rows, int64_t cols, const float* bias, int32_t activation);
int activation_backward(const float* y, const float* dy, float* d_pre, int64_t rows, int64_t cols, int32_t activation);

int loss(int32_t kind, int32_t from_logits, const float* pred, const float* target, int64_t rows, int64_t cols,
         float* grad, double* host_loss);
int count_correct(const float* pred, const float* target, int64_t rows, int64_t cols, int32_t sparse, int32_t binary,
                  float threshold, int64_t* host_correct);
int optimizer_step(const rk_optimizer_step_args* args);

int embedding_forward(const float* table, const float* ids, float* out, int64_t rows, int64_t dim);
int embedding_backward(const float* ids, const float* d_out, float* d_table, int64_t rows, int64_t dim);
int dropout(const float* x, float* y, float* mask, size_t count, float rate, uint64_t seed);

int layer_norm_forward(const float* x, int64_t rows, int64_t cols, const float* gamma, const float* beta,
                       float epsilon, float* y, float* mean, float* rstd);
int layer_norm_backward(const float* x, const float* dy, int64_t rows, int64_t cols, const float* gamma,
                        const float* mean, const float* rstd, float* dx, float* d_gamma, float* d_beta);
int batch_norm_statistics(const float* x, int64_t rows, int64_t cols, const float* row_weight, double denominator,
                          float* mean, float* variance);
int batch_norm_forward(const float* x, int64_t rows, int64_t cols, const float* mean, const float* variance,
                       const float* gamma, const float* beta, float epsilon, float* y);
int batch_norm_backward(const float* x, const float* dy, int64_t rows, int64_t cols, const float* row_weight,
                        double count, double denominator, const float* mean, const float* variance, const float* gamma,
                        float epsilon, float* dx, float* d_gamma, float* d_beta);

int gather_rows(const float* src, int64_t row_width, const int64_t* host_indices, int64_t count, float* dst);
int transpose_2d(const float* src, int64_t rows, int64_t cols, int64_t src_pitch, float* dst, int64_t dst_pitch);

// shapes.cu: shapes, merges and masks.
int repeat_rows(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst);
int sum_repeats(const float* src, int64_t rows, int64_t repeats, int64_t width, float* dst);
int rows_differ(const float* x, int64_t rows, int64_t width, float value, uint8_t* valid);
int mask_rows(const float* src, int64_t rows, int64_t width, const uint8_t* valid, float* dst);

// windows.cu: convolution and pooling over time.
int window_gather_1d(const rk_window_1d* w, const float* x, float* cols);
int window_scatter_1d(const rk_window_1d* w, const float* cols, float* dx);
int pool_1d_forward(const rk_window_1d* w, int32_t kind, const float* x, float* y);
int pool_1d_backward(const rk_window_1d* w, int32_t kind, const float* x, const float* dy, float* dx);
int global_pool_1d_forward(int32_t kind, const float* x, const float* step_mask, int64_t batch, int64_t steps,
                           int64_t channels, float* y);
int global_pool_1d_backward(int32_t kind, const float* x, const float* step_mask, const float* dy, int64_t batch,
                            int64_t steps, int64_t channels, float* dx);

}  // namespace rk::cuda

#endif
