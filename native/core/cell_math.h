// Pointwise forward and backward math of every cell, shared by the CPU device and the
// CUDA kernels (compiled by nvcc as __host__ __device__), so that the CPU tests check
// the numerics the GPU runs. Gate blocks are in cuDNN order: LSTM i,f,g,o; GRU r,z,n.
#ifndef RNNKIT_CORE_CELL_MATH_H
#define RNNKIT_CORE_CELL_MATH_H

#include <math.h>
#include <stdint.h>

#include "device_abi.h"

#ifdef __CUDACC__
#define RK_HD __host__ __device__ __forceinline__
#else
#define RK_HD inline
#endif

namespace rk {

RK_HD float activate(int32_t kind, float x) {
  switch (kind) {
    case RK_ACT_TANH: return tanhf(x);
    case RK_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case RK_ACT_HARD_SIGMOID: return fminf(1.0f, fmaxf(0.0f, 0.2f * x + 0.5f));
    case RK_ACT_RELU: return fmaxf(0.0f, x);
    case RK_ACT_ELU: return x > 0.0f ? x : expm1f(x);
    case RK_ACT_SELU: {
      const float alpha = 1.6732632423543772f, scale = 1.0507009873554805f;
      return x > 0.0f ? scale * x : scale * alpha * expm1f(x);
    }
    case RK_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case RK_ACT_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
    default: return x;  // linear
  }
}

// Derivative expressed through the activation's output y = f(x), so the reserve space
// keeps only activated values. At hard_sigmoid's and relu's kinks the derivative is 0,
// as in TensorFlow's gradients.
RK_HD float activate_grad_from_output(int32_t kind, float y) {
  switch (kind) {
    case RK_ACT_TANH: return 1.0f - y * y;
    case RK_ACT_SIGMOID: return y * (1.0f - y);
    case RK_ACT_HARD_SIGMOID: return (y > 0.0f && y < 1.0f) ? 0.2f : 0.0f;
    case RK_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case RK_ACT_ELU: return y > 0.0f ? 1.0f : y + 1.0f;
    case RK_ACT_SELU: {
      const float alpha = 1.6732632423543772f, scale = 1.0507009873554805f;
      return y > 0.0f ? scale : y + scale * alpha;
    }
    case RK_ACT_SOFTSIGN: {
      const float s = 1.0f - fabsf(y);
      return s * s;
    }
    case RK_ACT_SOFTPLUS: return -expm1f(-y);
    default: return 1.0f;
  }
}

RK_HD int gate_count(int32_t cell) {
  return cell == RK_CELL_RNN ? 1 : cell == RK_CELL_LSTM ? 4 : 3;
}

// ---- forward, one element (n, j) -------------------------------------------------
// pre_* are the summed pre-activations of a gate (x·W + bW + h·R + bR).

struct LstmForward {
  float i, f, g, o, c, h;
};
RK_HD LstmForward lstm_forward(int32_t act, int32_t rec, float pre_i, float pre_f, float pre_g,
                               float pre_o, float c_prev) {
  LstmForward r;
  r.i = activate(rec, pre_i);
  r.f = activate(rec, pre_f);
  r.g = activate(act, pre_g);
  r.o = activate(rec, pre_o);
  r.c = r.f * c_prev + r.i * r.g;
  r.h = r.o * activate(act, r.c);
  return r;
}

// GRU, reset after the recurrent product: n = act(xn + r ⊙ hn), hn = R_n·h + bR_n.
struct GruForward {
  float r, z, n, h;
};
RK_HD GruForward gru_forward(int32_t act, int32_t rec, float pre_r, float pre_z, float xn,
                             float hn, float h_prev) {
  GruForward g;
  g.r = activate(rec, pre_r);
  g.z = activate(rec, pre_z);
  g.n = activate(act, xn + g.r * hn);
  g.h = g.z * h_prev + (1.0f - g.z) * g.n;
  return g;
}

// ---- backward, one element -------------------------------------------------------

// dh, dc: gradients into h_t and c_t. Returns gate pre-activation grads and dc_prev.
struct LstmBackward {
  float di, df, dg, do_, dc_prev;
};
RK_HD LstmBackward lstm_backward(int32_t act, int32_t rec, float i, float f, float g, float o,
                                 float c, float c_prev, float dh, float dc) {
  LstmBackward b;
  const float ac = activate(act, c);
  const float dc_total = dc + dh * o * activate_grad_from_output(act, ac);
  b.do_ = dh * ac * activate_grad_from_output(rec, o);
  b.di = dc_total * g * activate_grad_from_output(rec, i);
  b.df = dc_total * c_prev * activate_grad_from_output(rec, f);
  b.dg = dc_total * i * activate_grad_from_output(act, g);
  b.dc_prev = dc_total * f;
  return b;
}

// GRU reset-after. dxn: grad of the candidate pre-activation (input side);
// dhn: grad of hn = R_n·h + bR_n (recurrent side).
struct GruBackward {
  float dr, dz, dxn, dhn, dh_prev_direct;
};
RK_HD GruBackward gru_reset_after_backward(int32_t act, int32_t rec, float r, float z, float n,
                                           float hn, float h_prev, float dh) {
  GruBackward b;
  const float dn = dh * (1.0f - z);
  b.dz = dh * (h_prev - n) * activate_grad_from_output(rec, z);
  b.dxn = dn * activate_grad_from_output(act, n);
  b.dhn = b.dxn * r;
  b.dr = b.dxn * hn * activate_grad_from_output(rec, r);
  b.dh_prev_direct = dh * z;
  return b;
}

}  // namespace rk

#endif
