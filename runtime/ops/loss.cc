// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: evaluation-time
// losses over [N, C, d...] scores with integer class targets.
#include <cmath>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

// loss = -log_prob[n, target, d] * weight[target], reduced per `reduction`.
template <typename T>
absl::StatusOr<Tensor> Nll(KernelContext& ctx, const T* log_prob, const std::vector<int64_t>& dims,
                           const std::vector<int64_t>& target, const Tensor* weight) {
  const int64_t batch = dims[0], classes = dims[1], inner = Product(dims, 2);
  const int64_t ignore = ctx.GetInt("ignore_index", INT64_MIN);
  const std::string reduction = ctx.GetString("reduction", "mean");
  std::vector<int64_t> shape(dims);
  shape.erase(shape.begin() + 1);
  if (static_cast<int64_t>(target.size()) != batch * inner) {
    return ctx.Error("target must have the input's shape without the class dimension");
  }
  if (weight && (static_cast<int64_t>(weight->element_count()) != classes ||
                 weight->dtype() != DataTypeOf<T>())) {
    return ctx.Error("weight must hold one value per class, of the input's type");
  }
  std::vector<T> loss(static_cast<size_t>(batch * inner));
  double total = 0, weight_sum = 0;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t t = target[n * inner + i];
      if (t == ignore) {
        loss[n * inner + i] = 0;
        continue;
      }
      if (t < 0 || t >= classes) return ctx.Error(absl::StrCat("target ", t, " is not a class"));
      const T w = weight ? weight->data<T>()[t] : T{1};
      loss[n * inner + i] = -log_prob[(n * classes + t) * inner + i] * w;
      total += loss[n * inner + i];
      weight_sum += w;
    }
  }
  if (reduction == "none") return Tensor::FromVector<T>("", shape, loss);
  const double value = reduction == "sum" ? total : (weight_sum == 0 ? 0 : total / weight_sum);
  return Tensor::FromVector<T>("", {}, {static_cast<T>(value)});
}

absl::Status NegativeLogLikelihood(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* input, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* target_t, ctx.RequireInput(1));
  if (input->dims().size() < 2) return ctx.Error("input must be [N, C, ...]");
  ASSIGN_OR_RETURN(std::vector<int64_t> target, ReadInts(*target_t));
  const Tensor* weight = ctx.HasInput(2) ? &ctx.input(2) : nullptr;
  return VisitFloat(input->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    ASSIGN_OR_RETURN(Tensor out, Nll<T>(ctx, input->data<T>(), input->dims(), target, weight));
    ctx.SetOutput(0, std::move(out));
    return absl::OkStatus();
  });
}

absl::Status SoftmaxCrossEntropy(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* scores, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* labels, ctx.RequireInput(1));
  const auto& dims = scores->dims();
  if (dims.size() < 2) return ctx.Error("scores must be [N, C, ...]");
  ASSIGN_OR_RETURN(std::vector<int64_t> target, ReadInts(*labels));
  const Tensor* weight = ctx.HasInput(2) ? &ctx.input(2) : nullptr;
  const int64_t batch = dims[0], classes = dims[1], inner = Product(dims, 2);
  return VisitFloat(scores->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* log_prob = nullptr;
    Tensor log_prob_t = NewTensor<T>(dims, &log_prob);
    const T* x = scores->data<T>();
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t i = 0; i < inner; ++i) {
        T max = -std::numeric_limits<T>::infinity();
        for (int64_t c = 0; c < classes; ++c) max = std::max(max, x[(n * classes + c) * inner + i]);
        T sum = 0;
        for (int64_t c = 0; c < classes; ++c)
          sum += std::exp(x[(n * classes + c) * inner + i] - max);
        const T log_sum = std::log(sum) + max;
        for (int64_t c = 0; c < classes; ++c) {
          const int64_t at = (n * classes + c) * inner + i;
          log_prob[at] = x[at] - log_sum;
        }
      }
    }
    ASSIGN_OR_RETURN(Tensor loss, Nll<T>(ctx, log_prob, dims, target, weight));
    ctx.SetOutput(0, std::move(loss));
    if (ctx.output_count() > 1) ctx.SetOutput(1, std::move(log_prob_t));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterLossOps(KernelRegistry& r) {
  r.Add("", "NegativeLogLikelihoodLoss", 12, NegativeLogLikelihood);
  r.Add("", "SoftmaxCrossEntropyLoss", 12, SoftmaxCrossEntropy);
}

}  // namespace pare::runtime
