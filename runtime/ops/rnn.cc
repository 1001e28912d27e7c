// RNN, GRU and LSTM (forward, reverse, bidirectional; sequence_lens; both
// layouts; custom activations; clip; LSTM peepholes and input_forget; GRU
// linear_before_reset). Input projections for all time steps are one GEMM;
// each step adds the recurrent projection, a second GEMM.
#include <cmath>
#include <functional>

#include "core/status_macros.h"
#include "runtime/gemm.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

enum class Cell { kRnn, kGru, kLstm };

int Gates(Cell c) { return c == Cell::kRnn ? 1 : c == Cell::kGru ? 3 : 4; }

using Activation = std::function<float(float)>;

absl::StatusOr<Activation> MakeActivation(const std::string& name, float alpha, float beta) {
  if (name == "Sigmoid") return Activation([](float x) { return 1.0f / (1.0f + std::exp(-x)); });
  if (name == "Tanh") return Activation([](float x) { return std::tanh(x); });
  if (name == "Relu") return Activation([](float x) { return std::max(0.0f, x); });
  if (name == "Affine") return Activation([=](float x) { return alpha * x + beta; });
  if (name == "LeakyRelu") return Activation([=](float x) { return x < 0 ? alpha * x : x; });
  if (name == "ThresholdedRelu") return Activation([=](float x) { return x > alpha ? x : 0.0f; });
  if (name == "ScaledTanh") return Activation([=](float x) { return alpha * std::tanh(beta * x); });
  if (name == "HardSigmoid") {
    return Activation([=](float x) { return std::clamp(alpha * x + beta, 0.0f, 1.0f); });
  }
  if (name == "Elu")
    return Activation([=](float x) { return x < 0 ? alpha * (std::exp(x) - 1) : x; });
  if (name == "Softsign") return Activation([](float x) { return x / (1 + std::abs(x)); });
  if (name == "Softplus") return Activation([](float x) { return std::log1p(std::exp(x)); });
  return absl::UnimplementedError("activation '" + name + "'");
}

struct RnnSpec {
  Cell cell;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
  bool layout_batch_first = false;
  float clip = 0;
  bool linear_before_reset = false, input_forget = false;
  std::vector<Activation> acts;  // per direction: f, g[, h]
};

absl::StatusOr<RnnSpec> Resolve(KernelContext& ctx, Cell cell, const Tensor& x) {
  RnnSpec s;
  s.cell = cell;
  s.layout_batch_first = ctx.GetInt("layout", 0) != 0;
  if (x.dims().size() != 3) return ctx.Error("X must be 3-D");
  s.seq = x.dims()[s.layout_batch_first ? 1 : 0];
  s.batch = x.dims()[s.layout_batch_first ? 0 : 1];
  s.input = x.dims()[2];
  s.hidden = ctx.GetInt("hidden_size", 0);
  const std::string direction = ctx.GetString("direction", "forward");
  s.dirs = direction == "bidirectional" ? 2 : 1;
  s.clip = ctx.GetFloat("clip", 0.0f);
  s.linear_before_reset = ctx.GetInt("linear_before_reset", 0) != 0;
  s.input_forget = ctx.GetInt("input_forget", 0) != 0;
  std::vector<std::string> names;
  const Attribute* a = ctx.FindAttribute("activations");
  if (a) names = a->strings;
  const size_t per_dir = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 2 : 3;
  if (names.empty()) {
    const std::vector<std::string> defaults =
        cell == Cell::kRnn   ? std::vector<std::string>{"Tanh"}
        : cell == Cell::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                             : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
    for (int64_t d = 0; d < s.dirs; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  }
  if (names.size() != per_dir * s.dirs) return ctx.Error("wrong number of activations");
  const auto alphas = ctx.GetFloats("activation_alpha"), betas = ctx.GetFloats("activation_beta");
  for (size_t i = 0; i < names.size(); ++i) {
    auto act = MakeActivation(names[i], i < alphas.size() ? alphas[i] : 0.01f,
                              i < betas.size() ? betas[i] : 0.0f);
    if (!act.ok()) return ctx.Unsupported(std::string(act.status().message()));
    s.acts.push_back(*act);
  }
  if (s.hidden <= 0) return ctx.Error("hidden_size must be positive");
  if (direction == "reverse") s.dirs = 1;
  return s;
}

// One time step of one batch row. `xg` holds X·W^T + Wb + Rb for every gate,
// `hg` holds H·R^T (no bias), `h` is updated in place; `rb` is the recurrent
// bias (GRU needs it apart from the input bias).
struct StepArgs {
  const RnnSpec& s;
  const Activation* act;
  const float* xg;
  const float* hg;
  const float* rb;
  const float* r;     // this direction's R, [G*H, H]
  const float* peep;  // LSTM peepholes or nullptr
  float* h;
  float* c;
  float Clip(float v) const { return s.clip > 0 ? std::clamp(v, -s.clip, s.clip) : v; }
};

void StepRnn(const StepArgs& a) {
  for (int64_t k = 0; k < a.s.hidden; ++k) a.h[k] = a.act[0](a.Clip(a.xg[k] + a.hg[k]));
}

void StepGru(const StepArgs& a) {
  const int64_t H = a.s.hidden;
  std::vector<float> z(H), reset(H), hh(H);
  for (int64_t k = 0; k < H; ++k) {
    z[k] = a.act[0](a.Clip(a.xg[k] + a.hg[k]));
    reset[k] = a.act[0](a.Clip(a.xg[H + k] + a.hg[H + k]));
  }
  for (int64_t k = 0; k < H; ++k) {
    const float rbh = a.rb ? a.rb[2 * H + k] : 0.0f;
    const float x_part = a.xg[2 * H + k] - rbh;  // X·Wh^T + Wbh
    float recurrent;
    if (a.s.linear_before_reset) {
      recurrent = reset[k] * (a.hg[2 * H + k] + rbh);
    } else {
      // (r ⊙ H)·Rh^T + Rbh: the reset applies before the projection.
      const float* rh = a.r + (2 * H + k) * H;
      double acc = 0;
      for (int64_t j = 0; j < H; ++j) acc += reset[j] * a.h[j] * rh[j];
      recurrent = static_cast<float>(acc) + rbh;
    }
    hh[k] = a.act[1](a.Clip(x_part + recurrent));
  }
  for (int64_t k = 0; k < H; ++k) a.h[k] = (1 - z[k]) * hh[k] + z[k] * a.h[k];
}

void StepLstm(const StepArgs& a) {
  const int64_t H = a.s.hidden;
  const float* p = a.peep;
  for (int64_t k = 0; k < H; ++k) {  // gate order i, o, f, c
    const float c_prev = a.c[k];
    const float i = a.act[0](a.Clip(a.xg[k] + a.hg[k] + (p ? p[k] * c_prev : 0.0f)));
    const float f = a.s.input_forget ? 1.0f - i
                                     : a.act[0](a.Clip(a.xg[2 * H + k] + a.hg[2 * H + k] +
                                                       (p ? p[2 * H + k] * c_prev : 0.0f)));
    const float g = a.act[1](a.Clip(a.xg[3 * H + k] + a.hg[3 * H + k]));
    const float c_new = f * c_prev + i * g;
    const float o = a.act[0](a.Clip(a.xg[H + k] + a.hg[H + k] + (p ? p[H + k] * c_new : 0.0f)));
    a.c[k] = c_new;
    a.h[k] = o * a.act[2](c_new);
  }
}

// Runs one direction over the sequence; writes Y slices and final states.
void RunDirection(const RnnSpec& s, int64_t d, bool reverse, const float* x, const float* w,
                  const float* r, const float* bias, const float* peep, const int64_t* lens,
                  float* h, float* c, float* y, ThreadPool& pool) {
  const int64_t G = Gates(s.cell), H = s.hidden, B = s.batch;
  const Activation* act = &s.acts[d * (s.cell == Cell::kRnn ? 1 : s.cell == Cell::kGru ? 2 : 3)];
  // xw[t, b, g*H] = x[t, b] · W^T + Wb + Rb for every step at once.
  std::vector<float> xw(s.seq * B * G * H);
  Gemm<float>(x, w, xw.data(), s.seq * B, G * H, s.input, false, true, 1.0f, 0.0f, pool);
  if (bias) {
    for (int64_t row = 0; row < s.seq * B; ++row) {
      for (int64_t j = 0; j < G * H; ++j) xw[row * G * H + j] += bias[j] + bias[G * H + j];
    }
  }
  std::vector<float> hr(B * G * H);
  for (int64_t step = 0; step < s.seq; ++step) {
    Gemm<float>(h, r, hr.data(), B, G * H, H, false, true, 1.0f, 0.0f, pool);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = lens ? lens[b] : s.seq;
      if (step >= len) continue;  // past this sequence's end: state is kept
      const int64_t t = reverse ? len - 1 - step : step;
      const StepArgs args{s,
                          act,
                          &xw[(t * B + b) * G * H],
                          &hr[b * G * H],
                          bias ? bias + G * H : nullptr,
                          r,
                          peep,
                          h + b * H,
                          c + b * H};
      if (s.cell == Cell::kRnn) StepRnn(args);
      if (s.cell == Cell::kGru) StepGru(args);
      if (s.cell == Cell::kLstm) StepLstm(args);
      if (y) {
        float* dst = s.layout_batch_first ? y + ((b * s.seq + t) * s.dirs + d) * H
                                          : y + ((t * s.dirs + d) * B + b) * H;
        std::copy(h + b * H, h + (b + 1) * H, dst);
      }
    }
  }
}

KernelFn Recurrent(Cell cell) {
  return [cell](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x_in, ctx.RequireInput(0));
    ASSIGN_OR_RETURN(const Tensor* w, ctx.RequireInput(1));
    ASSIGN_OR_RETURN(const Tensor* r, ctx.RequireInput(2));
    if (x_in->dtype() != DataType::kFloat32) return ctx.Unsupported("only float32 recurrences");
    ASSIGN_OR_RETURN(RnnSpec s, Resolve(ctx, cell, *x_in));
    const bool reverse_only = ctx.GetString("direction", "forward") == "reverse";
    const int64_t G = Gates(cell), H = s.hidden, B = s.batch;
    // W's shape is checked by division first: hidden_size is an attribute
    // and G * H could overflow before any tensor bounds it.
    if (w->dims().size() != 3 || w->dims()[1] % G != 0 || w->dims()[1] / G != H ||
        w->dims() != std::vector<int64_t>{s.dirs, G * H, s.input} ||
        w->dtype() != DataType::kFloat32) {
      return ctx.Error("W has the wrong shape");
    }
    if (!Holds<float>(*r, s.dirs * G * H * H))
      return ctx.Error("R must be [dirs, gates*hidden, hidden]");
    if (ctx.HasInput(3) && !Holds<float>(ctx.input(3), s.dirs * 2 * G * H)) {
      return ctx.Error("B must be [dirs, 2*gates*hidden]");
    }
    for (size_t state : {5, 6}) {
      if (ctx.HasInput(state) && !Holds<float>(ctx.input(state), s.dirs * B * H)) {
        return ctx.Error("initial states must be [dirs, batch, hidden]");
      }
    }
    if (cell == Cell::kLstm && ctx.HasInput(7) && !Holds<float>(ctx.input(7), s.dirs * 3 * H)) {
      return ctx.Error("P must be [dirs, 3*hidden]");
    }
    // Time-major copy of X so every step's rows are contiguous.
    std::vector<float> x(x_in->data<float>(), x_in->data<float>() + x_in->element_count());
    if (s.layout_batch_first) {
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t t = 0; t < s.seq; ++t) {
          std::copy_n(x_in->data<float>() + (b * s.seq + t) * s.input, s.input,
                      &x[(t * B + b) * s.input]);
        }
      }
    }
    std::vector<int64_t> lens;
    if (ctx.HasInput(4)) {
      ASSIGN_OR_RETURN(lens, ReadInts(ctx.input(4)));
    }
    if (!lens.empty() && static_cast<int64_t>(lens.size()) != B) {
      return ctx.Error("sequence_lens must hold one length per batch entry");
    }
    for (int64_t& len : lens) len = std::clamp<int64_t>(len, 0, s.seq);
    const int state_in = 5, cell_in = 6, peep_in = 7;
    std::vector<int64_t> y_shape = s.layout_batch_first ? std::vector<int64_t>{B, s.seq, s.dirs, H}
                                                        : std::vector<int64_t>{s.seq, s.dirs, B, H};
    std::vector<int64_t> h_shape = s.layout_batch_first ? std::vector<int64_t>{B, s.dirs, H}
                                                        : std::vector<int64_t>{s.dirs, B, H};
    float *y = nullptr, *yh = nullptr, *yc = nullptr;
    Tensor y_t = NewTensor<float>(y_shape, &y);
    std::fill(y, y + Product(y_shape), 0.0f);
    Tensor yh_t = NewTensor<float>(h_shape, &yh);
    Tensor yc_t = NewTensor<float>(h_shape, &yc);
    for (int64_t d = 0; d < s.dirs; ++d) {
      std::vector<float> h(B * H, 0.0f), c(B * H, 0.0f);
      auto load_state = [&](int index, std::vector<float>& dst) {
        if (!ctx.HasInput(index)) return;
        const float* src = ctx.input(index).data<float>();
        for (int64_t b = 0; b < B; ++b) {
          const int64_t at = s.layout_batch_first ? (b * s.dirs + d) * H : (d * B + b) * H;
          std::copy_n(src + at, H, &dst[b * H]);
        }
      };
      load_state(state_in, h);
      if (cell == Cell::kLstm) load_state(cell_in, c);
      const float* bias = ctx.HasInput(3) ? ctx.input(3).data<float>() + d * 2 * G * H : nullptr;
      const float* peep = cell == Cell::kLstm && ctx.HasInput(peep_in)
                              ? ctx.input(peep_in).data<float>() + d * 3 * H
                              : nullptr;
      RunDirection(s, d, reverse_only || d == 1, x.data(), w->data<float>() + d * G * H * s.input,
                   r->data<float>() + d * G * H * H, bias, peep,
                   lens.empty() ? nullptr : lens.data(), h.data(), c.data(), y, ctx.pool());
      for (int64_t b = 0; b < B; ++b) {
        const int64_t at = s.layout_batch_first ? (b * s.dirs + d) * H : (d * B + b) * H;
        std::copy_n(&h[b * H], H, yh + at);
        std::copy_n(&c[b * H], H, yc + at);
      }
    }
    ctx.SetOutput(0, std::move(y_t));
    if (ctx.output_count() > 1) ctx.SetOutput(1, std::move(yh_t));
    if (ctx.output_count() > 2) ctx.SetOutput(2, std::move(yc_t));
    return absl::OkStatus();
  };
}

}  // namespace

void RegisterRecurrentOps(KernelRegistry& r) {
  r.Add("", "RNN", 7, Recurrent(Cell::kRnn));
  r.Add("", "GRU", 7, Recurrent(Cell::kGru));
  r.Add("", "LSTM", 7, Recurrent(Cell::kLstm));
}

}  // namespace pare::runtime
