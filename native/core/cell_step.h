// A run of consecutive units (n, j .. j+lanes-1) of a timestep's pointwise work, forward
// and backward, for every cell. The lane type V is `float` (one unit; the CUDA kernels and
// the portable CPU path) or a SIMD vector of the CPU device; Lanes<V> loads and stores it.
// Masked steps (t >= length) carry the state and zero the gate grads.
#ifndef RNNKIT_CORE_CELL_STEP_H
#define RNNKIT_CORE_CELL_STEP_H

#include "cell_math.h"

namespace rk {

template <typename V>
struct Lanes;

template <>
struct Lanes<float> {
  static constexpr int width = 1;
  RK_HD_MEMBER float load(const float* p, int) { return *p; }
  RK_HD_MEMBER void store(float* p, float v, int) { *p = v; }
  RK_HD_MEMBER float splat(float x) { return x; }
};

// The algorithm always passes lengths (all T when the caller gave none).
RK_HD bool step_is_valid(const int32_t* lengths, int64_t n, int64_t step) {
  return step < lengths[n];
}

template <typename V>
RK_HD V load_or_zero(const float* p, int64_t k, int lanes) {
  return p ? Lanes<V>::load(p + k, lanes) : Lanes<V>::splat(0.0f);
}

template <typename V>
RK_HD void write_output(const rk_cell_forward_args& a, int64_t n, int64_t j, int lanes, bool valid,
                        V h_valid, V h_prev) {
  if (!a.output) return;
  if (a.output_mode == RK_OUTPUT_LAST) {
    if (valid && a.step == a.lengths[n] - 1) Lanes<V>::store(a.output + n * a.hidden + j, h_valid, lanes);
    return;
  }
  V value = h_valid;
  if (!valid) {
    const bool has_valid_step = a.lengths[n] > 0;
    value = (a.masked_output == RK_MASKED_CARRY && has_valid_step) ? h_prev : Lanes<V>::splat(0.0f);
  }
  Lanes<V>::store(a.output + n * a.output_stride + j, value, lanes);
}

// Split: for LSTM and GRU (reset_after), the step stops short of its last activation, which
// cell_output_units finishes: the values it needs wait in `carry` (two slots, carry_stride
// floats apart, for these units of this row).
template <typename V, bool Split = false>
RK_HD void cell_forward_units(const rk_cell_forward_args& a, int64_t n, int64_t j, int lanes,
                              float* carry = nullptr, int64_t carry_stride = 0) {
  using L = Lanes<V>;
  const int64_t H = a.hidden;
  const int64_t G = gate_count(a.cell);
  const int64_t row = n * G * H;
  const int64_t s = n * H + j;
  const V zero = L::splat(0.0f);
  const V h_prev = L::load(a.h_prev + s, lanes);
  const bool valid = step_is_valid(a.lengths, n, a.step);
  auto pre = [&](int64_t gate) {
    const int64_t k = gate * H + j;
    return L::load(a.xw + row + k, lanes) + load_or_zero<V>(a.bias_w, k, lanes) +
           L::load(a.hr + row + k, lanes) + load_or_zero<V>(a.bias_r, k, lanes);
  };
  auto store_gate = [&](int64_t gate, V value) {
    if (a.gates) L::store(a.gates + row + gate * H + j, valid ? value : zero, lanes);
  };

  if (a.cell == RK_CELL_GRU_RESET_BEFORE && a.phase == 0) {
    // Gates r, z and the reset state r⊙h_prev that the candidate's GEMM consumes.
    const V r = activate(a.recurrent_activation, pre(0));
    const V z = activate(a.recurrent_activation, pre(1));
    L::store(a.extra + s, valid ? r * h_prev : zero, lanes);
    store_gate(0, r);
    store_gate(1, z);
    return;
  }

  V h = h_prev;
  switch (a.cell) {
    case RK_CELL_RNN: {
      h = activate(a.activation, pre(0));
      break;
    }
    case RK_CELL_LSTM: {
      const V c_prev = L::load(a.c_prev + s, lanes);
      const LstmForward<V> r =
          lstm_forward(a.activation, a.recurrent_activation, pre(0), pre(1), pre(2), pre(3), c_prev);
      h = r.h;
      L::store(a.c_next + s, valid ? r.c : c_prev, lanes);
      store_gate(0, r.i);
      store_gate(1, r.f);
      store_gate(2, r.g);
      store_gate(3, r.o);
      if (Split) {
        L::store(carry, r.o, lanes);
        return;
      }
      break;
    }
    case RK_CELL_GRU_RESET_AFTER: {
      const int64_t kn = 2 * H + j;
      const V hn = L::load(a.hr + row + kn, lanes) + load_or_zero<V>(a.bias_r, kn, lanes);
      const V xn = L::load(a.xw + row + kn, lanes) + load_or_zero<V>(a.bias_w, kn, lanes);
      if (Split) {
        const V r = activate(a.recurrent_activation, pre(0));
        const V z = activate(a.recurrent_activation, pre(1));
        store_gate(0, r);
        store_gate(1, z);
        if (a.extra) L::store(a.extra + s, valid ? hn : zero, lanes);
        L::store(carry, z, lanes);
        L::store(carry + carry_stride, xn + r * hn, lanes);
        return;
      }
      const GruForward<V> g = gru_forward(a.activation, a.recurrent_activation, pre(0), pre(1), xn, hn, h_prev);
      h = g.h;
      store_gate(0, g.r);
      store_gate(1, g.z);
      store_gate(2, g.n);
      if (a.extra) L::store(a.extra + s, valid ? hn : zero, lanes);
      break;
    }
    case RK_CELL_GRU_RESET_BEFORE: {
      // Phase 1: hr's n block now holds (r⊙h_prev)·R_nᵀ.
      const V z = activate(a.recurrent_activation, pre(1));
      const V n_gate = activate(a.activation, pre(2));
      h = z * h_prev + (1.0f - z) * n_gate;
      store_gate(2, n_gate);
      break;
    }
    default: break;
  }
  if (!valid) h = h_prev;
  L::store(a.h_next + s, h, lanes);
  write_output(a, n, j, lanes, valid, h, h_prev);
}

// The rest of a step that cell_forward_units<V, true> began: LSTM h = o·act(c) from o in
// the carry and the new c; GRU (reset_after) n = act(x_n + r⊙h_n) and h from z and that
// argument in the carry. Then the step's output.
template <typename V>
RK_HD void cell_output_units(const rk_cell_forward_args& a, int64_t n, int64_t j, int lanes, const float* carry,
                             int64_t carry_stride) {
  using L = Lanes<V>;
  const int64_t H = a.hidden;
  const int64_t s = n * H + j;
  const bool valid = step_is_valid(a.lengths, n, a.step);
  const V h_prev = L::load(a.h_prev + s, lanes);
  V h = h_prev;
  if (a.cell == RK_CELL_LSTM) {
    if (valid) h = L::load(carry, lanes) * activate(a.activation, L::load(a.c_next + s, lanes));
  } else {
    const V z = L::load(carry, lanes);
    const V n_gate = activate(a.activation, L::load(carry + carry_stride, lanes));
    if (a.gates) L::store(a.gates + n * 3 * H + 2 * H + j, valid ? n_gate : L::splat(0.0f), lanes);
    if (valid) h = z * h_prev + (1.0f - z) * n_gate;
  }
  L::store(a.h_next + s, h, lanes);
  write_output(a, n, j, lanes, valid, h, h_prev);
}

// The gradient reaching h_t from this step's own output.
template <typename V>
RK_HD V output_grad(const rk_cell_backward_args& a, int64_t n, int64_t j, int lanes, bool valid) {
  const V zero = Lanes<V>::splat(0.0f);
  if (!a.d_output) return zero;
  if (a.output_mode == RK_OUTPUT_LAST) {
    const bool last = valid && a.step == a.lengths[n] - 1;
    return last ? Lanes<V>::load(a.d_output + n * a.hidden + j, lanes) : zero;
  }
  const bool carries = a.masked_output == RK_MASKED_CARRY && a.lengths[n] > 0;
  if (!valid && !carries) return zero;
  return Lanes<V>::load(a.d_output + n * a.d_output_stride + j, lanes);
}

template <typename V>
RK_HD void cell_backward_units(const rk_cell_backward_args& a, int64_t n, int64_t j, int lanes) {
  using L = Lanes<V>;
  const int64_t H = a.hidden;
  const int64_t G = gate_count(a.cell);
  const int64_t row = n * G * H;
  const int64_t s = n * H + j;
  const bool valid = step_is_valid(a.lengths, n, a.step);
  auto gate = [&](int64_t g) { return L::load(a.gates + row + g * H + j, lanes); };
  auto store_grad = [&](int64_t g, V dx, V dh_side) {
    L::store(a.dgx + row + g * H + j, dx, lanes);
    L::store(a.dgh + row + g * H + j, dh_side, lanes);
  };

  if (a.cell == RK_CELL_GRU_RESET_BEFORE && a.phase == 1) {
    // d(r⊙h_prev) is known now: finish the reset gate and the direct path to h_prev.
    if (!valid) return;
    const V r = gate(0);
    const V d_rh = L::load(a.d_rh + s, lanes);
    const V dr = d_rh * L::load(a.h_prev + s, lanes) * activate_grad_from_output(a.recurrent_activation, r);
    store_grad(0, dr, dr);
    L::store(a.dh_prev + s, L::load(a.dh_prev + s, lanes) + d_rh * r, lanes);
    return;
  }

  const V dh = L::load(a.dh + s, lanes) + output_grad<V>(a, n, j, lanes, valid);
  if (!valid) {
    const V zero = L::splat(0.0f);
    for (int64_t g = 0; g < G; ++g) store_grad(g, zero, zero);
    L::store(a.dh_prev + s, dh, lanes);
    if (a.cell == RK_CELL_LSTM) L::store(a.dc_prev + s, L::load(a.dc + s, lanes), lanes);
    return;
  }

  switch (a.cell) {
    case RK_CELL_RNN: {
      const V d = dh * activate_grad_from_output(a.activation, L::load(a.h_cur + s, lanes));
      store_grad(0, d, d);
      L::store(a.dh_prev + s, L::splat(0.0f), lanes);
      break;
    }
    case RK_CELL_LSTM: {
      const LstmBackward<V> b =
          lstm_backward(a.activation, a.recurrent_activation, gate(0), gate(1), gate(2), gate(3),
                        L::load(a.c_cur + s, lanes), L::load(a.c_prev + s, lanes), dh, L::load(a.dc + s, lanes));
      store_grad(0, b.di, b.di);
      store_grad(1, b.df, b.df);
      store_grad(2, b.dg, b.dg);
      store_grad(3, b.do_, b.do_);
      L::store(a.dc_prev + s, b.dc_prev, lanes);
      L::store(a.dh_prev + s, L::splat(0.0f), lanes);
      break;
    }
    case RK_CELL_GRU_RESET_AFTER: {
      const GruBackward<V> b = gru_reset_after_backward(a.activation, a.recurrent_activation, gate(0), gate(1),
                                                        gate(2), L::load(a.extra + s, lanes),
                                                        L::load(a.h_prev + s, lanes), dh);
      store_grad(0, b.dr, b.dr);
      store_grad(1, b.dz, b.dz);
      store_grad(2, b.dxn, b.dhn);
      L::store(a.dh_prev + s, b.dh_prev_direct, lanes);
      break;
    }
    case RK_CELL_GRU_RESET_BEFORE: {
      // Phase 0: candidate and update gate; the reset gate waits for d(r⊙h_prev).
      const V z = gate(1);
      const V n_gate = gate(2);
      const V h_prev = L::load(a.h_prev + s, lanes);
      const V dz = dh * (h_prev - n_gate) * activate_grad_from_output(a.recurrent_activation, z);
      const V dn = dh * (1.0f - z) * activate_grad_from_output(a.activation, n_gate);
      store_grad(0, L::splat(0.0f), L::splat(0.0f));
      store_grad(1, dz, dz);
      store_grad(2, dn, dn);
      L::store(a.dh_prev + s, dh * z, lanes);
      break;
    }
    default: break;
  }
}

}  // namespace rk

#endif
