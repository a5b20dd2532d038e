// One element (n, j) of a timestep's pointwise work, forward and backward, for every
// cell. The CPU device loops over elements; the CUDA device runs the same functions in
// grid-stride loops. Masked steps (t >= length) carry the state and zero the gate grads.
#ifndef RNNKIT_CORE_CELL_STEP_H
#define RNNKIT_CORE_CELL_STEP_H

#include "cell_math.h"

namespace rk {

// The algorithm always passes lengths (all T when the caller gave none).
RK_HD bool step_is_valid(const int32_t* lengths, int64_t n, int64_t step) {
  return step < lengths[n];
}

RK_HD float bias_at(const float* bias, int64_t k) { return bias ? bias[k] : 0.0f; }

RK_HD void write_output(const rk_cell_forward_args& a, int64_t n, int64_t j, bool valid,
                        float h_valid, float h_prev) {
  if (!a.output) return;
  if (a.output_mode == RK_OUTPUT_LAST) {
    if (valid && a.step == a.lengths[n] - 1) a.output[n * a.hidden + j] = h_valid;
    return;
  }
  float value = h_valid;
  if (!valid) {
    const bool has_valid_step = a.lengths[n] > 0;
    value = (a.masked_output == RK_MASKED_CARRY && has_valid_step) ? h_prev : 0.0f;
  }
  a.output[n * a.output_stride + j] = value;
}

RK_HD void cell_forward_element(const rk_cell_forward_args& a, int64_t n, int64_t j) {
  const int64_t H = a.hidden;
  const int64_t G = gate_count(a.cell);
  const int64_t row = n * G * H;
  const int64_t s = n * H + j;
  const float h_prev = a.h_prev[s];
  const bool valid = step_is_valid(a.lengths, n, a.step);
  auto pre = [&](int64_t gate) {
    const int64_t k = gate * H + j;
    return a.xw[row + k] + bias_at(a.bias_w, k) + a.hr[row + k] + bias_at(a.bias_r, k);
  };

  if (a.cell == RK_CELL_GRU_RESET_BEFORE && a.phase == 0) {
    // Gates r, z and the reset state r⊙h_prev that the candidate's GEMM consumes.
    const float r = activate(a.recurrent_activation, pre(0));
    const float z = activate(a.recurrent_activation, pre(1));
    a.extra[s] = valid ? r * h_prev : 0.0f;
    if (a.gates) {
      a.gates[row + j] = valid ? r : 0.0f;
      a.gates[row + H + j] = valid ? z : 0.0f;
    }
    return;
  }

  float h = h_prev;
  switch (a.cell) {
    case RK_CELL_RNN: {
      h = activate(a.activation, pre(0));
      break;
    }
    case RK_CELL_LSTM: {
      const float c_prev = a.c_prev[s];
      const LstmForward r = lstm_forward(a.activation, a.recurrent_activation, pre(0), pre(1),
                                         pre(2), pre(3), c_prev);
      if (valid) {
        h = r.h;
        a.c_next[s] = r.c;
        if (a.gates) {
          a.gates[row + j] = r.i;
          a.gates[row + H + j] = r.f;
          a.gates[row + 2 * H + j] = r.g;
          a.gates[row + 3 * H + j] = r.o;
        }
      } else {
        a.c_next[s] = c_prev;
        if (a.gates)
          for (int64_t g = 0; g < 4; ++g) a.gates[row + g * H + j] = 0.0f;
      }
      break;
    }
    case RK_CELL_GRU_RESET_AFTER: {
      const int64_t kn = 2 * H + j;
      const float hn = a.hr[row + kn] + bias_at(a.bias_r, kn);
      const float xn = a.xw[row + kn] + bias_at(a.bias_w, kn);
      const GruForward g =
          gru_forward(a.activation, a.recurrent_activation, pre(0), pre(1), xn, hn, h_prev);
      h = g.h;
      if (a.gates) {
        a.gates[row + j] = valid ? g.r : 0.0f;
        a.gates[row + H + j] = valid ? g.z : 0.0f;
        a.gates[row + 2 * H + j] = valid ? g.n : 0.0f;
      }
      if (a.extra) a.extra[s] = valid ? hn : 0.0f;
      break;
    }
    case RK_CELL_GRU_RESET_BEFORE: {
      // Phase 1: hr's n block now holds (r⊙h_prev)·R_nᵀ.
      const float z = activate(a.recurrent_activation, pre(1));
      const float n_gate = activate(a.activation, pre(2));
      h = z * h_prev + (1.0f - z) * n_gate;
      if (a.gates) a.gates[row + 2 * H + j] = valid ? n_gate : 0.0f;
      break;
    }
    default: break;
  }
  if (!valid) h = h_prev;
  a.h_next[s] = h;
  write_output(a, n, j, valid, h, h_prev);
}

// The gradient reaching h_t from this step's own output.
RK_HD float output_grad(const rk_cell_backward_args& a, int64_t n, int64_t j, bool valid) {
  if (!a.d_output) return 0.0f;
  if (a.output_mode == RK_OUTPUT_LAST) {
    const bool last = valid && a.step == a.lengths[n] - 1;
    return last ? a.d_output[n * a.hidden + j] : 0.0f;
  }
  const float d = a.d_output[n * a.d_output_stride + j];
  if (valid) return d;
  const bool carries = a.masked_output == RK_MASKED_CARRY && a.lengths[n] > 0;
  return carries ? d : 0.0f;
}

RK_HD void cell_backward_element(const rk_cell_backward_args& a, int64_t n, int64_t j) {
  const int64_t H = a.hidden;
  const int64_t G = gate_count(a.cell);
  const int64_t row = n * G * H;
  const int64_t s = n * H + j;
  const bool valid = step_is_valid(a.lengths, n, a.step);

  if (a.cell == RK_CELL_GRU_RESET_BEFORE && a.phase == 1) {
    // d(r⊙h_prev) is known now: finish the reset gate and the direct path to h_prev.
    if (!valid) return;
    const float r = a.gates[row + j];
    const float d_rh = a.d_rh[s];
    const float dr = d_rh * a.h_prev[s] * activate_grad_from_output(a.recurrent_activation, r);
    a.dgx[row + j] = dr;
    a.dgh[row + j] = dr;
    a.dh_prev[s] += d_rh * r;
    return;
  }

  const float dh = a.dh[s] + output_grad(a, n, j, valid);
  if (!valid) {
    for (int64_t g = 0; g < G; ++g) {
      a.dgx[row + g * H + j] = 0.0f;
      a.dgh[row + g * H + j] = 0.0f;
    }
    a.dh_prev[s] = dh;
    if (a.cell == RK_CELL_LSTM) a.dc_prev[s] = a.dc[s];
    return;
  }

  switch (a.cell) {
    case RK_CELL_RNN: {
      const float d = dh * activate_grad_from_output(a.activation, a.h_cur[s]);
      a.dgx[row + j] = d;
      a.dgh[row + j] = d;
      a.dh_prev[s] = 0.0f;
      break;
    }
    case RK_CELL_LSTM: {
      const LstmBackward b = lstm_backward(
          a.activation, a.recurrent_activation, a.gates[row + j], a.gates[row + H + j],
          a.gates[row + 2 * H + j], a.gates[row + 3 * H + j], a.c_cur[s], a.c_prev[s], dh, a.dc[s]);
      const float d[4] = {b.di, b.df, b.dg, b.do_};
      for (int64_t g = 0; g < 4; ++g) {
        a.dgx[row + g * H + j] = d[g];
        a.dgh[row + g * H + j] = d[g];
      }
      a.dc_prev[s] = b.dc_prev;
      a.dh_prev[s] = 0.0f;
      break;
    }
    case RK_CELL_GRU_RESET_AFTER: {
      const GruBackward b = gru_reset_after_backward(
          a.activation, a.recurrent_activation, a.gates[row + j], a.gates[row + H + j],
          a.gates[row + 2 * H + j], a.extra[s], a.h_prev[s], dh);
      a.dgx[row + j] = b.dr;
      a.dgh[row + j] = b.dr;
      a.dgx[row + H + j] = b.dz;
      a.dgh[row + H + j] = b.dz;
      a.dgx[row + 2 * H + j] = b.dxn;
      a.dgh[row + 2 * H + j] = b.dhn;
      a.dh_prev[s] = b.dh_prev_direct;
      break;
    }
    case RK_CELL_GRU_RESET_BEFORE: {
      // Phase 0: candidate and update gate; the reset gate waits for d(r⊙h_prev).
      const float z = a.gates[row + H + j];
      const float n_gate = a.gates[row + 2 * H + j];
      const float h_prev = a.h_prev[s];
      const float dz = dh * (h_prev - n_gate) * activate_grad_from_output(a.recurrent_activation, z);
      const float dn = dh * (1.0f - z) * activate_grad_from_output(a.activation, n_gate);
      a.dgx[row + H + j] = dz;
      a.dgh[row + H + j] = dz;
      a.dgx[row + 2 * H + j] = dn;
      a.dgh[row + 2 * H + j] = dn;
      a.dgx[row + j] = 0.0f;
      a.dgh[row + j] = 0.0f;
      a.dh_prev[s] = dh * z;
      break;
    }
    default: break;
  }
}

}  // namespace rk

#endif
