// Pointwise forward and backward math of every cell, shared by the CPU device and the
// CUDA kernels (compiled by nvcc as __host__ __device__), so that the CPU tests check
// the numerics the GPU runs. Gate blocks are in cuDNN order: LSTM i,f,g,o; GRU r,z,n.
//
// The cell equations are templates over a lane type V: `float` (one unit at a time, as
// on the GPU) or a SIMD vector of the CPU device (several consecutive units). A lane
// type provides arithmetic operators and an `activate` / `activate_grad_from_output`
// overload; the scalar ones are here.
//
// On the host every function has internal linkage (`static`), so that translation units
// compiled for different instruction sets never share an instantiation.
#ifndef RNNKIT_CORE_CELL_MATH_H
#define RNNKIT_CORE_CELL_MATH_H

#include <math.h>
#include <stdint.h>

#include "device_abi.h"

#ifdef __CUDACC__
#define RK_HD __host__ __device__ __forceinline__
#define RK_HD_MEMBER __host__ __device__ __forceinline__ static
#else
#define RK_HD static inline
#define RK_HD_MEMBER static inline
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

// ---- forward -----------------------------------------------------------------------
// pre_* are the summed pre-activations of a gate (x·W + bW + h·R + bR).

template <typename V>
struct LstmForward {
  V i, f, g, o, c, h;
};
template <typename V>
RK_HD LstmForward<V> lstm_forward(int32_t act, int32_t rec, V pre_i, V pre_f, V pre_g, V pre_o,
                                  V c_prev) {
  LstmForward<V> r;
  r.i = activate(rec, pre_i);
  r.f = activate(rec, pre_f);
  r.g = activate(act, pre_g);
  r.o = activate(rec, pre_o);
  r.c = r.f * c_prev + r.i * r.g;
  r.h = r.o * activate(act, r.c);
  return r;
}

// GRU, reset after the recurrent product: n = act(xn + r ⊙ hn), hn = R_n·h + bR_n.
template <typename V>
struct GruForward {
  V r, z, n, h;
};
template <typename V>
RK_HD GruForward<V> gru_forward(int32_t act, int32_t rec, V pre_r, V pre_z, V xn, V hn, V h_prev) {
  GruForward<V> g;
  g.r = activate(rec, pre_r);
  g.z = activate(rec, pre_z);
  g.n = activate(act, xn + g.r * hn);
  g.h = g.z * h_prev + (1.0f - g.z) * g.n;
  return g;
}

// ---- backward ----------------------------------------------------------------------

// dh, dc: gradients into h_t and c_t. Returns gate pre-activation grads and dc_prev.
template <typename V>
struct LstmBackward {
  V di, df, dg, do_, dc_prev;
};
template <typename V>
RK_HD LstmBackward<V> lstm_backward(int32_t act, int32_t rec, V i, V f, V g, V o, V c, V c_prev,
                                    V dh, V dc) {
  LstmBackward<V> b;
  const V ac = activate(act, c);
  const V dc_total = dc + dh * o * activate_grad_from_output(act, ac);
  b.do_ = dh * ac * activate_grad_from_output(rec, o);
  b.di = dc_total * g * activate_grad_from_output(rec, i);
  b.df = dc_total * c_prev * activate_grad_from_output(rec, f);
  b.dg = dc_total * i * activate_grad_from_output(act, g);
  b.dc_prev = dc_total * f;
  return b;
}

// GRU reset-after. dxn: grad of the candidate pre-activation (input side);
// dhn: grad of hn = R_n·h + bR_n (recurrent side).
template <typename V>
struct GruBackward {
  V dr, dz, dxn, dhn, dh_prev_direct;
};
template <typename V>
RK_HD GruBackward<V> gru_reset_after_backward(int32_t act, int32_t rec, V r, V z, V n, V hn,
                                              V h_prev, V dh) {
  GruBackward<V> b;
  const V dn = dh * (1.0f - z);
  b.dz = dh * (h_prev - n) * activate_grad_from_output(rec, z);
  b.dxn = dn * activate_grad_from_output(act, n);
  b.dhn = b.dxn * r;
  b.dr = b.dxn * hn * activate_grad_from_output(rec, r);
  b.dh_prev_direct = dh * z;
  return b;
}

}  // namespace rk

#endif
