// The time loops of the fused kernels of every cell (RNN, LSTM, mLSTM, GRU, mGRU), compiled.
//
// Each function here is the loop of its Python twin in rnn.py, lstm.py, mlstm.py, gru.py or mgru.py
// with the same buffers and the same matmuls (ATen's CPU kernels, called
// without the dispatcher).  The pointwise part of a step — the four gate
// activations, the cell update and the factors of the backward, and in the
// backward the whole pointwise chain rule — is one pass over the H*B
// elements instead of 7-12 separate kernels: at lab sizes (H <= 256, B = 32)
// launching a kernel costs more than its arithmetic.  Float32 uses the
// vectorisable exp/tanh below (within 2 ulp of the libm ones, see
// tests/test_native_loops.py); float64 uses libm.
//
// Buffers (allocated by the Python side, feature-major, see kernels.py):
//   HX (T+1, Hin, B) slots [h_{t-1}; x_t; 1]    E (T+1, 5H, B) slots [z_o z_i z_f z_g; c]
//   FB (T, 4, H, B)  [P_o, P_i, P_f, P_g]        K  (T, H, B)
// Step t reads slot r and writes slot w: r = t, w = t + 1 (forward) or
// r = t + 1, w = t (reverse).  All of them are contiguous.

#include <cmath>
#include <cstdint>
#include <cstring>

#include <ATen/ATen.h>
#include <ATen/CPUFunctions.h>
#include <torch/library.h>

using at::Tensor;

namespace {

// A view of row i of a buffer (a slice of dim 0, maybe narrowed further or
// transposed) that is moved from row to row by changing its storage offset:
// creating a fresh view per step through the dispatcher costs more than the
// arithmetic of a small step.
class Rows {
 public:
  Rows(const Tensor& row0, int64_t stride0)
      : v_(row0), off0_(row0.storage_offset()), stride0_(stride0) {}
  Tensor& operator[](int64_t i) {
    v_.unsafeGetTensorImpl()->set_storage_offset(off0_ + i * stride0_);
    return v_;
  }

 private:
  Tensor v_;
  int64_t off0_, stride0_;
};

// Row i of buf narrowed to [start, start + len) along its first feature dim.
Rows rows(const Tensor& buf, int64_t start, int64_t len) {
  return Rows(buf.select(0, 0).narrow(0, start, len), buf.stride(0));
}

struct Slots {
  int64_t T;
  bool reverse;
  int64_t time(int64_t s) const { return reverse ? T - 1 - s : s; }
  int64_t read(int64_t t) const { return reverse ? t + 1 : t; }
  int64_t write(int64_t t) const { return reverse ? t : t + 1; }
};

// exp(x) for float, written so that the compiler can vectorise the loops
// that call it: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, a
// degree-6 polynomial for e^r (the coefficients of Cephes' expf, S. Moshier)
// and 2^n put into the exponent bits.
[[gnu::always_inline]] inline float exp_f(float x) {
  x = x < -87.0f ? -87.0f : x;   // comparisons, not fmin/fmax: a NaN stays NaN
  x = x > 88.0f ? 88.0f : x;
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

[[gnu::always_inline]] inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

// tanh(x) for float: 1 - 2/(e^{2x} + 1) for |x| >= 0.625 and an odd
// polynomial below (Cephes' tanhf coefficients), where the formula would
// lose digits to cancellation.
[[gnu::always_inline]] inline float tanh_f(float x) {
  const float ax = std::fabs(x);
  const float big = 1.0f - 2.0f / (exp_f(2.0f * ax) + 1.0f);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * ax + ax;
  const float y = ax < 0.625f ? small : big;
  return std::copysign(y, x);
}

[[gnu::always_inline]] inline float act_sigmoid(float x) { return sigmoid_f(x); }
[[gnu::always_inline]] inline float act_tanh(float x) { return tanh_f(x); }
inline double act_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double act_tanh(double x) { return std::tanh(x); }

// The forward pointwise pass of one step over n = H*B elements:
//   o, i, f = sigmoid(z_o, z_i, z_f);  g = tanh(z_g)   (written back over z)
//   c_t = i g + f c_{t-1};  h~_t = o tanh(c_t)
// and with fb (need_grad) the backward factors of the step:
//   P_o = h~ (1 - o), P_i = i g (1 - i), P_f = f c_{t-1} (1 - f),
//   P_g = i (1 - g^2), K = o (1 - tanh(c_t)^2).
template <typename S>
void pointwise(S* __restrict z, const S* __restrict c_prev, S* __restrict c_new,
               S* __restrict h_out, S* __restrict fb, S* __restrict k, int64_t n) {
  S* __restrict zo = z;
  S* __restrict zi = z + n;
  S* __restrict zf = z + 2 * n;
  S* __restrict zg = z + 3 * n;
  if (fb != nullptr) {
    S* __restrict po = fb;
    S* __restrict pi = fb + n;
    S* __restrict pf = fb + 2 * n;
    S* __restrict pg = fb + 3 * n;
#pragma GCC ivdep
    for (int64_t j = 0; j < n; ++j) {
      const S o = act_sigmoid(zo[j]), i = act_sigmoid(zi[j]), f = act_sigmoid(zf[j]);
      const S g = act_tanh(zg[j]);
      const S ig = i * g, fc = f * c_prev[j], c = ig + fc, tc = act_tanh(c), hp = o * tc;
      zo[j] = o; zi[j] = i; zf[j] = f; zg[j] = g;
      c_new[j] = c;
      h_out[j] = hp;
      po[j] = hp - hp * o;
      pi[j] = ig - ig * i;
      pf[j] = fc - fc * f;
      pg[j] = i - ig * g;
      k[j] = o - hp * tc;
    }
  } else {
#pragma GCC ivdep
    for (int64_t j = 0; j < n; ++j) {
      const S o = act_sigmoid(zo[j]), i = act_sigmoid(zi[j]), f = act_sigmoid(zf[j]);
      const S g = act_tanh(zg[j]);
      const S c = i * g + f * c_prev[j];
      zo[j] = o; zi[j] = i; zf[j] = f; zg[j] = g;
      c_new[j] = c;
      h_out[j] = o * act_tanh(c);
    }
  }
}

// The backward pointwise pass of one step: dc += dh K; dz_o = dh P_o;
// dz_{i,f,g} = dc P_{i,f,g}; dc = dc f (now dL/dc_{t-1}).
template <typename S>
void pointwise_backward(const S* __restrict dh, S* __restrict dc, const S* __restrict fb,
                        const S* __restrict k, const S* __restrict f, S* __restrict dz,
                        int64_t n) {
#pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) {
    const S d = dc[j] + dh[j] * k[j];
    dz[j] = dh[j] * fb[j];
    dz[n + j] = d * fb[n + j];
    dz[2 * n + j] = d * fb[2 * n + j];
    dz[3 * n + j] = d * fb[3 * n + j];
    dc[j] = d * f[j];
  }
}

// out = a ⊙ b over n elements (the mLSTM's x̂ = m ⊙ x and dL/dm = dL/dx̂ ⊙ x).
template <typename S>
void multiply(const S* __restrict a, const S* __restrict b, S* __restrict out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = a[j] * b[j];
}

// The slot buffers of one LSTM layer as raw pointers (all contiguous).
template <typename S>
struct Slots5 {
  S* E;           // (T+1, 5H, B)
  int64_t slot;   // 5H*B
  int64_t n;      // H*B
  S* z(int64_t r) const { return E + r * slot; }
  S* c(int64_t r) const { return E + r * slot + 4 * n; }
  S* f(int64_t r) const { return E + r * slot + 2 * n; }
};

// Dispatch a lambda on float / double.
template <typename F>
void on_dtype(const Tensor& t, F&& fn) {
  if (t.scalar_type() == at::kFloat) {
    fn(float{});
  } else if (t.scalar_type() == at::kDouble) {
    fn(double{});
  } else {
    TORCH_CHECK(false, "rnntui compiled loops: float32 or float64 only, got ", t.scalar_type());
  }
}

// lstm_forward's loop (no projection).  need_grad: fill FB and K.
void lstm_forward_loop(const Tensor& wcat, const Tensor& HX, const Tensor& E, const Tensor& FB,
                       const Tensor& K, bool reverse, bool need_grad) {
  const int64_t T = HX.size(0) - 1, H = E.size(1) / 5, B = E.size(2);
  const Slots s{T, reverse};
  Rows z = rows(E, 0, 4 * H), hx = Rows(HX.select(0, 0), HX.stride(0));
  on_dtype(E, [&](auto zero) {
    using S = decltype(zero);
    const Slots5<S> e{E.data_ptr<S>(), 5 * H * B, H * B};
    S* hxp = HX.data_ptr<S>();
    S* fb = need_grad ? FB.data_ptr<S>() : nullptr;
    S* k = need_grad ? K.data_ptr<S>() : nullptr;
    const int64_t hx_slot = HX.stride(0), n = H * B;
    for (int64_t i = 0; i < T; ++i) {
      const int64_t t = s.time(i), r = s.read(t), w = s.write(t);
      at::cpu::mm_out(z[r], wcat, hx[r]);               // z = W_hh h + W_ih x + b
      pointwise<S>(e.z(r), e.c(r), e.c(w), hxp + w * hx_slot, fb ? fb + t * 4 * n : nullptr,
                   k ? k + t * n : nullptr, n);
    }
  });
}

// lstm_backward's loop (no projection): accumulates into dW (and DX when
// given) and DH; returns [dh0 (B, H), dc0 (H, B)].
std::vector<Tensor> lstm_backward_loop(const Tensor& wcat, const Tensor& HX, const Tensor& E,
                                       const Tensor& FB, const Tensor& K, const Tensor& DH,
                                       const Tensor& dc_T, const Tensor& dW,
                                       const std::optional<Tensor>& DX, int64_t I, bool reverse) {
  const int64_t G = wcat.size(0), H = G / 4, T = HX.size(0) - 1, B = HX.size(2), n = H * B;
  const Slots s{T, reverse};
  Tensor dz = at::empty({G, B}, HX.options());
  Tensor dz_t = dz.t();
  Tensor w_hh = wcat.narrow(1, 0, H);
  Tensor w_hh_t = w_hh.t().contiguous();
  Tensor w_ih = wcat.narrow(1, H, I);
  Tensor dWm = dW, dc = dc_T.contiguous().clone(), dh0;
  Rows dh_prev = Rows(DH.select(0, 0), DH.stride(0));
  Rows hx_t = Rows(HX.select(0, 0).t(), HX.stride(0));
  Rows dx = DX.has_value() ? Rows(DX->select(0, 0), DX->stride(0)) : Rows(dz, 0);
  on_dtype(E, [&](auto zero) {
    using S = decltype(zero);
    const Slots5<S> e{E.data_ptr<S>(), 5 * H * B, n};
    const S* fb = FB.data_ptr<S>();
    const S* k = K.data_ptr<S>();
    const S* dhp = DH.data_ptr<S>();
    S* dcp = dc.data_ptr<S>();
    S* dzp = dz.data_ptr<S>();
    for (int64_t i = T - 1; i >= 0; --i) {
      const int64_t t = s.time(i), r = s.read(t);
      pointwise_backward<S>(dhp + t * n, dcp, fb + t * 4 * n, k + t * n, e.f(r), dzp, n);
      at::cpu::addmm_(dWm, dz, hx_t[r]);                // dW_hh, dW_ih, db
      if (DX.has_value()) at::cpu::mm_out(dx[t], dz_t, w_ih);   // dL/dx_t = dz^T W_ih
      if (i != 0) {
        at::cpu::addmm_(dh_prev[reverse ? t + 1 : t - 1], w_hh_t, dz);   // += W_hh^T dz
      } else {
        dh0 = at::cpu::mm(dz_t, w_hh);
      }
    }
  });
  return {dh0, dc};
}

// mlstm_forward's loop.  EM (T+1, I+5H, B) slots [m; z; c], XT (T, I, B),
// XH (T, I, B) receives x̂ = m ⊙ x.
void mlstm_forward_loop(const Tensor& wcat, const Tensor& w_ih, const Tensor& HX, const Tensor& EM,
                        const Tensor& XT, const Tensor& XH, const Tensor& FB, const Tensor& K,
                        bool reverse, bool need_grad) {
  const int64_t T = HX.size(0) - 1, I = XT.size(1), G = w_ih.size(0), H = G / 4, B = HX.size(2);
  const int64_t n = H * B;
  const Slots s{T, reverse};
  Rows mz = rows(EM, 0, I + G), z = rows(EM, I, G);
  Rows hx = Rows(HX.select(0, 0), HX.stride(0));
  Rows xh = Rows(XH.select(0, 0), XH.stride(0));
  on_dtype(EM, [&](auto zero) {
    using S = decltype(zero);
    S* em = EM.data_ptr<S>();
    S* hxp = HX.data_ptr<S>();
    const S* xtp = XT.data_ptr<S>();
    S* xhp = XH.data_ptr<S>();
    const int64_t nx = I * B;
    S* fb = need_grad ? FB.data_ptr<S>() : nullptr;
    S* k = need_grad ? K.data_ptr<S>() : nullptr;
    const int64_t slot = EM.stride(0), hx_slot = HX.stride(0);
    for (int64_t i = 0; i < T; ++i) {
      const int64_t t = s.time(i), r = s.read(t), w = s.write(t);
      at::cpu::addmm_(mz[r], wcat, hx[r]);              // m += U_m h; z = W_hh h + b
      multiply<S>(em + r * slot, xtp + t * nx, xhp + t * nx, nx);   // x̂ = m ⊙ x
      at::cpu::addmm_(z[r], w_ih, xh[t]);               // z += W_ih x̂
      S* zr = em + r * slot + I * B;
      pointwise<S>(zr, zr + 4 * n, em + w * slot + I * B + 4 * n, hxp + w * hx_slot,
                   fb ? fb + t * 4 * n : nullptr, k ? k + t * n : nullptr, n);
    }
  });
}

// mlstm_backward's loop: fills DMG (T, I+G, B) = [dm; dz] and DXH (T, I, B) =
// dL/dx̂, accumulates dWcat and dW_ih; returns [dh0, dc0] as lstm_backward_loop.
std::vector<Tensor> mlstm_backward_loop(const Tensor& wcat, const Tensor& w_ih, const Tensor& HX,
                                        const Tensor& EM, const Tensor& XT, const Tensor& XH,
                                        const Tensor& FB, const Tensor& K, const Tensor& DH,
                                        const Tensor& dc_T, const Tensor& DMG, const Tensor& DXH,
                                        const Tensor& dWcat, const Tensor& dW_ih, bool reverse) {
  const int64_t T = HX.size(0) - 1, I = XT.size(1), G = w_ih.size(0), H = G / 4, B = HX.size(2);
  const int64_t n = H * B;
  const Slots s{T, reverse};
  Tensor w_ih_t = w_ih.t().contiguous();
  Tensor wcat_h = wcat.narrow(1, 0, H);
  Tensor wcat_t = wcat_h.t().contiguous();
  Tensor dWc = dWcat, dWi = dW_ih, dc = dc_T.contiguous().clone(), dh0;
  Rows dh_prev = Rows(DH.select(0, 0), DH.stride(0));
  Rows dmg = Rows(DMG.select(0, 0), DMG.stride(0)), dz = rows(DMG, I, G);
  Rows dxh = Rows(DXH.select(0, 0), DXH.stride(0));
  Rows hx_t = Rows(HX.select(0, 0).t(), HX.stride(0)), xh_t = Rows(XH.select(0, 0).t(), XH.stride(0));
  Rows dmg_t = Rows(DMG.select(0, 0).t(), DMG.stride(0));
  on_dtype(EM, [&](auto zero) {
    using S = decltype(zero);
    const S* em = EM.data_ptr<S>();
    const S* fb = FB.data_ptr<S>();
    const S* k = K.data_ptr<S>();
    const S* dhp = DH.data_ptr<S>();
    S* dcp = dc.data_ptr<S>();
    S* dmgp = DMG.data_ptr<S>();
    const S* dxhp = DXH.data_ptr<S>();
    const S* xtp = XT.data_ptr<S>();
    const int64_t slot = EM.stride(0), dmg_slot = DMG.stride(0), nx = I * B;
    for (int64_t i = T - 1; i >= 0; --i) {
      const int64_t t = s.time(i), r = s.read(t);
      pointwise_backward<S>(dhp + t * n, dcp, fb + t * 4 * n, k + t * n,
                            em + r * slot + I * B + 2 * n, dmgp + t * dmg_slot + I * B, n);
      at::cpu::mm_out(dxh[t], w_ih_t, dz[t]);           // dL/dx̂
      multiply<S>(dxhp + t * nx, xtp + t * nx, dmgp + t * dmg_slot, nx);   // dL/dm = dL/dx̂ ⊙ x
      at::cpu::addmm_(dWc, dmg[t], hx_t[r]);            // dU_m, dW_hh, db
      at::cpu::addmm_(dWi, dz[t], xh_t[t]);
      if (i != 0) {
        at::cpu::addmm_(dh_prev[reverse ? t + 1 : t - 1], wcat_t, dmg[t]);
      } else {
        dh0 = at::cpu::mm(dmg_t[t], wcat_h);
      }
    }
  });
  return {dh0, dc};
}

// The GRU's forward pointwise pass of one step over n = H*B elements, with
// E's block [a_r; a_z; ghn; gxn] (ghn = W_hn h + b_hn, gxn = W_in x + b_in):
//   r, z = sigmoid(a_r, a_z) (written back);  n = tanh(gxn + r ghn);
//   h_t = n + z (h_{t-1} - n)
// and with f (need_grad) the backward factors [F_r; F_z; F_g; F_n]:
//   F_n = (1 - z)(1 - n^2), F_z = (1 - z) z (h_{t-1} - n), F_g = F_n r,
//   F_r = F_g ghn (1 - r).
template <typename S>
void gru_pointwise(S* __restrict e, const S* __restrict h_prev, S* __restrict n_out,
                   S* __restrict h_out, S* __restrict f, int64_t n) {
  S* __restrict ar = e;
  S* __restrict az = e + n;
  const S* __restrict ghn = e + 2 * n;
  const S* __restrict gxn = e + 3 * n;
  if (f != nullptr) {
#pragma GCC ivdep
    for (int64_t j = 0; j < n; ++j) {
      const S r = act_sigmoid(ar[j]), z = act_sigmoid(az[j]);
      const S nn = act_tanh(gxn[j] + r * ghn[j]);
      const S hp = h_prev[j];
      ar[j] = r; az[j] = z;
      n_out[j] = nn;
      h_out[j] = nn + z * (hp - nn);
      const S omz = S(1) - z;
      const S fn = omz - omz * nn * nn;
      const S fg = fn * r;
      const S v = fg * ghn[j];
      f[j] = v - v * r;
      f[n + j] = omz * z * (hp - nn);
      f[2 * n + j] = fg;
      f[3 * n + j] = fn;
    }
  } else {
#pragma GCC ivdep
    for (int64_t j = 0; j < n; ++j) {
      const S r = act_sigmoid(ar[j]), z = act_sigmoid(az[j]);
      const S nn = act_tanh(gxn[j] + r * ghn[j]);
      ar[j] = r; az[j] = z;
      n_out[j] = nn;
      h_out[j] = nn + z * (h_prev[j] - nn);
    }
  }
}

// The GRU's backward pointwise pass: dG = F ⊙ dh (4 blocks) and the direct
// part of dL/dh_{t-1}, dh z, added into dh_prev.
template <typename S>
void gru_pointwise_backward(const S* __restrict dh, const S* __restrict f, const S* __restrict z,
                            S* __restrict dg, S* __restrict dh_prev, int64_t n) {
#pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) {
    const S d = dh[j];
    dg[j] = f[j] * d;
    dg[n + j] = f[n + j] * d;
    dg[2 * n + j] = f[2 * n + j] * d;
    dg[3 * n + j] = f[3 * n + j] * d;
    dh_prev[j] += d * z[j];
  }
}

// gru_forward's loop: E (T, 4H, B) per-step pre-activations, N (T, H, B) the
// candidate n, F (T, 4, H, B) the backward factors (need_grad).
void gru_forward_loop(const Tensor& wcat, const Tensor& HX, const Tensor& E, const Tensor& N,
                      const Tensor& F, bool reverse, bool need_grad) {
  const int64_t T = E.size(0), H = E.size(1) / 4, B = E.size(2), n = H * B;
  const Slots s{T, reverse};
  Rows e = Rows(E.select(0, 0), E.stride(0)), hx = Rows(HX.select(0, 0), HX.stride(0));
  on_dtype(E, [&](auto zero) {
    using S = decltype(zero);
    S* ep = E.data_ptr<S>();
    S* hxp = HX.data_ptr<S>();
    S* np = N.data_ptr<S>();
    S* fp = need_grad ? F.data_ptr<S>() : nullptr;
    const int64_t hx_slot = HX.stride(0);
    for (int64_t i = 0; i < T; ++i) {
      const int64_t t = s.time(i), r = s.read(t), w = s.write(t);
      at::cpu::mm_out(e[t], wcat, hx[r]);               // [a_r; a_z; ghn; gxn]
      gru_pointwise<S>(ep + t * 4 * n, hxp + r * hx_slot, np + t * n, hxp + w * hx_slot,
                       fp ? fp + t * 4 * n : nullptr, n);
    }
  });
}

// gru_backward's loop: accumulates dW (and DX when given) and DH; returns dh0 (B, H).
Tensor gru_backward_loop(const Tensor& wcat, const Tensor& HX, const Tensor& E, const Tensor& F,
                         const Tensor& DH, const Tensor& dW, const std::optional<Tensor>& DX,
                         int64_t I, bool reverse) {
  const int64_t T = E.size(0), G = E.size(1), H = G / 4, B = E.size(2), n = H * B;
  const Slots s{T, reverse};
  Tensor dG = at::empty({G, B}, HX.options());
  Tensor dG3 = dG.narrow(0, 0, 3 * H), dG_t = dG.t();
  Tensor dhz = at::zeros({H, B}, HX.options());         // dh z of the first step
  Tensor w_h = wcat.narrow(0, 0, 3 * H).narrow(1, 0, H);
  Tensor w_h_t = w_h.t().contiguous();
  Tensor w_x = wcat.narrow(1, H, I);
  Tensor dWm = dW, dh0;
  Rows dh_prev = Rows(DH.select(0, 0), DH.stride(0));
  Rows hx_t = Rows(HX.select(0, 0).t(), HX.stride(0));
  Rows dx = DX.has_value() ? Rows(DX->select(0, 0), DX->stride(0)) : Rows(dG, 0);
  on_dtype(E, [&](auto zero) {
    using S = decltype(zero);
    const S* ep = E.data_ptr<S>();
    const S* fp = F.data_ptr<S>();
    S* dhp = DH.data_ptr<S>();
    S* dgp = dG.data_ptr<S>();
    for (int64_t i = T - 1; i >= 0; --i) {
      const int64_t t = s.time(i), r = s.read(t);
      const int64_t prev = reverse ? t + 1 : t - 1;
      S* into = i != 0 ? dhp + prev * n : dhz.data_ptr<S>();
      gru_pointwise_backward<S>(dhp + t * n, fp + t * 4 * n, ep + t * 4 * n + n, dgp, into, n);
      at::cpu::addmm_(dWm, dG, hx_t[r]);                // d(block matrix)
      if (DX.has_value()) at::cpu::mm_out(dx[t], dG_t, w_x);
      if (i != 0) {
        at::cpu::addmm_(dh_prev[prev], w_h_t, dG3);     // += W_hh^T dG[:3H]
      } else {
        dh0 = at::cpu::addmm(dhz.t(), dG3.t(), w_h);
      }
    }
  });
  return dh0;
}

// mgru_forward's loop.  HH (T+1, H, B) state slots; EM (T, I+4H, B) per step
// [m; a_r; a_z; ghn; gxn], pre-filled with [W_m x_t + b_m; biases]; XT, XH
// (T, I, B) x and x̂; N (T, H, B); F (T, 4, H, B) factors (need_grad).
void mgru_forward_loop(const Tensor& wh, const Tensor& wx, const Tensor& HH, const Tensor& EM,
                       const Tensor& XT, const Tensor& XH, const Tensor& N, const Tensor& F,
                       bool reverse, bool need_grad) {
  const int64_t T = EM.size(0), I = XT.size(1), G = wx.size(0), H = G / 4, B = EM.size(2);
  const int64_t n = H * B, nx = I * B;
  const Slots s{T, reverse};
  Rows emh = rows(EM, 0, I + 3 * H), g = rows(EM, I, G), h = Rows(HH.select(0, 0), HH.stride(0));
  Rows xh = Rows(XH.select(0, 0), XH.stride(0));
  on_dtype(EM, [&](auto zero) {
    using S = decltype(zero);
    S* em = EM.data_ptr<S>();
    S* hh = HH.data_ptr<S>();
    const S* xtp = XT.data_ptr<S>();
    S* xhp = XH.data_ptr<S>();
    S* np = N.data_ptr<S>();
    S* fp = need_grad ? F.data_ptr<S>() : nullptr;
    const int64_t slot = EM.stride(0);
    for (int64_t i = 0; i < T; ++i) {
      const int64_t t = s.time(i), r = s.read(t), w = s.write(t);
      at::cpu::addmm_(emh[t], wh, h[r]);                // m += U_m h; W_hh h
      multiply<S>(em + t * slot, xtp + t * nx, xhp + t * nx, nx);   // x̂ = m ⊙ x
      at::cpu::addmm_(g[t], wx, xh[t]);                 // + W_ih x̂
      gru_pointwise<S>(em + t * slot + nx, hh + r * n, np + t * n, hh + w * n,
                       fp ? fp + t * 4 * n : nullptr, n);
    }
  });
}

// mgru_backward's loop: fills DMG (T, I+4H, B) = [dm; dG] and DXH (T, I, B) =
// dL/dx̂, accumulates dWh and dWx and DH; returns dh0 (B, H).
Tensor mgru_backward_loop(const Tensor& wh, const Tensor& wx, const Tensor& HH, const Tensor& EM,
                          const Tensor& XT, const Tensor& XH, const Tensor& F, const Tensor& DH,
                          const Tensor& DMG, const Tensor& DXH, const Tensor& dWh,
                          const Tensor& dWx, bool reverse) {
  const int64_t T = EM.size(0), I = XT.size(1), G = wx.size(0), H = G / 4, B = EM.size(2);
  const int64_t n = H * B, nx = I * B;
  const Slots s{T, reverse};
  Tensor wx_t = wx.t().contiguous();
  Tensor wh_t = wh.t().contiguous();
  Tensor dhz = at::zeros({H, B}, HH.options());
  Tensor dWhm = dWh, dWxm = dWx, dh0;
  Rows dmg = rows(DMG, 0, I + 3 * H), dg = rows(DMG, I, G), dxh = Rows(DXH.select(0, 0), DXH.stride(0));
  Rows h_t = Rows(HH.select(0, 0).t(), HH.stride(0)), xh_t = Rows(XH.select(0, 0).t(), XH.stride(0));
  Rows dh_prev = Rows(DH.select(0, 0), DH.stride(0));
  Rows dmg_t = Rows(DMG.select(0, 0).narrow(0, 0, I + 3 * H).t(), DMG.stride(0));
  on_dtype(EM, [&](auto zero) {
    using S = decltype(zero);
    const S* em = EM.data_ptr<S>();
    const S* fp = F.data_ptr<S>();
    S* dhp = DH.data_ptr<S>();
    S* dmgp = DMG.data_ptr<S>();
    const S* dxhp = DXH.data_ptr<S>();
    const S* xtp = XT.data_ptr<S>();
    const int64_t slot = EM.stride(0), dslot = DMG.stride(0);
    for (int64_t i = T - 1; i >= 0; --i) {
      const int64_t t = s.time(i), r = s.read(t);
      const int64_t prev = reverse ? t + 1 : t - 1;
      S* into = i != 0 ? dhp + prev * n : dhz.data_ptr<S>();
      gru_pointwise_backward<S>(dhp + t * n, fp + t * 4 * n, em + t * slot + nx + n,
                                dmgp + t * dslot + nx, into, n);
      at::cpu::mm_out(dxh[t], wx_t, dg[t]);             // dL/dx̂
      multiply<S>(dxhp + t * nx, xtp + t * nx, dmgp + t * dslot, nx);   // dL/dm = dL/dx̂ ⊙ x
      at::cpu::addmm_(dWhm, dmg[t], h_t[r]);
      at::cpu::addmm_(dWxm, dg[t], xh_t[t]);
      if (i != 0) {
        at::cpu::addmm_(dh_prev[prev], wh_t, dmg[t]);   // += [U_m; W_hh]^T [dm; dG[:3H]]
      } else {
        dh0 = at::cpu::addmm(dhz.t(), dmg_t[t], wh);
      }
    }
  });
  return dh0;
}

// The Elman RNN's loops are batch-major, (B, H) per step, as in rnn.py.

// h = act(h) in place over n elements (act = tanh or relu).
template <typename S>
void activate(S* __restrict h, int64_t n, bool relu) {
  if (relu) {
#pragma GCC ivdep
    for (int64_t j = 0; j < n; ++j) h[j] = h[j] > S(0) ? h[j] : S(0);
  } else {
#pragma GCC ivdep
    for (int64_t j = 0; j < n; ++j) h[j] = act_tanh(h[j]);
  }
}

// rnn_forward's loop: out[t] = act(xw[t] + h_{t-1} W_hh^T), h_{-1} = h0.
void rnn_forward_loop(const Tensor& xw, const Tensor& h0, const Tensor& w_t, const Tensor& out,
                      bool relu, bool reverse) {
  const int64_t T = xw.size(0), n = xw.size(1) * xw.size(2);
  const Slots s{T, reverse};
  Rows o = Rows(out.select(0, 0), out.stride(0)), xs = Rows(xw.select(0, 0), xw.stride(0));
  Rows prev = Rows(out.select(0, 0), out.stride(0));
  on_dtype(out, [&](auto zero) {
    using S = decltype(zero);
    S* op = out.data_ptr<S>();
    for (int64_t i = 0; i < T; ++i) {
      const int64_t t = s.time(i);
      const Tensor& h = i == 0 ? h0 : prev[reverse ? t + 1 : t - 1];
      at::cpu::addmm_out(o[t], xs[t], h, w_t);
      activate<S>(op + t * n, n, relu);
    }
  });
}

// rnn_backward's loop: dA[t] = dh_t ⊙ act'(h_t) with dh_t = d_out[t] (+ d_hT
// at the last step) + dA[t+1] W_hh; returns dh0 = dA[first] W_hh.
Tensor rnn_backward_loop(const Tensor& deriv, const Tensor& d_out, const Tensor& d_hT,
                         const Tensor& w_hh, const Tensor& dA, bool reverse) {
  const int64_t T = dA.size(0), n = dA.size(1) * dA.size(2);
  const Slots s{T, reverse};
  Tensor dh = at::empty_like(d_hT, at::MemoryFormat::Contiguous);
  Rows a = Rows(dA.select(0, 0), dA.stride(0)), dos = Rows(d_out.select(0, 0), d_out.stride(0));
  on_dtype(dA, [&](auto zero) {
    using S = decltype(zero);
    const S* dp = deriv.data_ptr<S>();
    S* ap = dA.data_ptr<S>();
    S* dhp = dh.data_ptr<S>();
    const int64_t last = s.time(T - 1);
    at::cpu::add_out(dh, dos[last], d_hT);
    for (int64_t i = T - 1; i >= 0; --i) {
      const int64_t t = s.time(i);
      multiply<S>(dhp, dp + t * n, ap + t * n, n);
      if (i > 0) at::cpu::addmm_out(dh, dos[s.time(i - 1)], a[t], w_hh);
    }
  });
  return at::cpu::mm(dA.select(0, s.time(0)), w_hh);
}

}  // namespace

TORCH_LIBRARY(rnntui, m) {
  m.def("lstm_forward_loop(Tensor wcat, Tensor(a!) HX, Tensor(b!) E, Tensor(c!) FB, Tensor(d!) K, "
        "bool reverse, bool need_grad) -> ()",
        &lstm_forward_loop);
  m.def("lstm_backward_loop(Tensor wcat, Tensor HX, Tensor E, Tensor FB, Tensor K, Tensor(a!) DH, "
        "Tensor dc_T, Tensor(b!) dW, Tensor(c!)? DX, int I, bool reverse) -> Tensor[]",
        &lstm_backward_loop);
  m.def("gru_forward_loop(Tensor wcat, Tensor(a!) HX, Tensor(b!) E, Tensor(c!) N, Tensor(d!) F, "
        "bool reverse, bool need_grad) -> ()",
        &gru_forward_loop);
  m.def("gru_backward_loop(Tensor wcat, Tensor HX, Tensor E, Tensor F, Tensor(a!) DH, "
        "Tensor(b!) dW, Tensor(c!)? DX, int I, bool reverse) -> Tensor",
        &gru_backward_loop);
  m.def("mgru_forward_loop(Tensor wh, Tensor wx, Tensor(a!) HH, Tensor(b!) EM, Tensor XT, "
        "Tensor(c!) XH, Tensor(d!) N, Tensor(e!) F, bool reverse, bool need_grad) -> ()",
        &mgru_forward_loop);
  m.def("mgru_backward_loop(Tensor wh, Tensor wx, Tensor HH, Tensor EM, Tensor XT, Tensor XH, "
        "Tensor F, Tensor(a!) DH, Tensor(b!) DMG, Tensor(c!) DXH, Tensor(d!) dWh, Tensor(e!) dWx, "
        "bool reverse) -> Tensor",
        &mgru_backward_loop);
  m.def("rnn_forward_loop(Tensor xw, Tensor h0, Tensor w_t, Tensor(a!) out, bool relu, "
        "bool reverse) -> ()",
        &rnn_forward_loop);
  m.def("rnn_backward_loop(Tensor deriv, Tensor d_out, Tensor d_hT, Tensor w_hh, Tensor(a!) dA, "
        "bool reverse) -> Tensor",
        &rnn_backward_loop);
  m.def("mlstm_forward_loop(Tensor wcat, Tensor w_ih, Tensor(a!) HX, Tensor(b!) EM, Tensor XT, "
        "Tensor(c!) XH, Tensor(d!) FB, Tensor(e!) K, bool reverse, bool need_grad) -> ()",
        &mlstm_forward_loop);
  m.def("mlstm_backward_loop(Tensor wcat, Tensor w_ih, Tensor HX, Tensor EM, Tensor XT, Tensor XH, "
        "Tensor FB, Tensor K, Tensor(a!) DH, Tensor dc_T, Tensor(b!) DMG, Tensor(c!) DXH, "
        "Tensor(d!) dWcat, Tensor(e!) dW_ih, bool reverse) -> Tensor[]",
        &mlstm_backward_loop);
}
