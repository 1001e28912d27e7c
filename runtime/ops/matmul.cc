// MatMul (numpy semantics, batched and broadcast) and Gemm.
#include "core/status_macros.h"
#include "runtime/gemm.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

absl::Status MatMul(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  if (a->dtype() != b->dtype()) return ctx.Error("A and B have different types");
  std::vector<int64_t> ad = a->dims(), bd = b->dims();
  if (ad.empty() || bd.empty()) return ctx.Error("inputs must be at least 1-D");
  const bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
  if (a_vec) ad.insert(ad.begin(), 1);
  if (b_vec) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  if (bd[bd.size() - 2] != k) {
    return ctx.Error(absl::StrCat("inner dimensions differ: A is [", absl::StrJoin(a->dims(), ","),
                                  "], B is [", absl::StrJoin(b->dims(), ","), "]"));
  }
  const std::vector<int64_t> a_batch(ad.begin(), ad.end() - 2), b_batch(bd.begin(), bd.end() - 2);
  auto batch = BroadcastShapes(a_batch, b_batch);
  if (!batch.ok()) return ctx.Error(std::string(batch.status().message()));
  std::vector<int64_t> shape = *batch;
  if (!a_vec) shape.push_back(m);
  if (!b_vec) shape.push_back(n);
  const int64_t batches = Product(*batch);
  std::vector<int64_t> a_off(batches), b_off(batches);
  ForEachBroadcast(*batch, BroadcastStrides(a_batch, *batch), BroadcastStrides(b_batch, *batch),
                   [&](int64_t i, int64_t ai, int64_t bi) { a_off[i] = ai, b_off[i] = bi; });
  if (batch->empty()) a_off = {0}, b_off = {0};
  return VisitFloat(a->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out);
    for (int64_t i = 0; i < batches; ++i) {
      Gemm<T>(a->data<T>() + a_off[i] * m * k, b->data<T>() + b_off[i] * k * n, out + i * m * n, m,
              n, k, false, false, T{1}, T{0}, ctx.pool());
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status GemmOp(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  if (a->dims().size() != 2 || b->dims().size() != 2) return ctx.Error("A and B must be 2-D");
  const bool ta = ctx.GetInt("transA", 0) != 0, tb = ctx.GetInt("transB", 0) != 0;
  const int64_t m = ta ? a->dims()[1] : a->dims()[0];
  const int64_t k = ta ? a->dims()[0] : a->dims()[1];
  const int64_t n = tb ? b->dims()[0] : b->dims()[1];
  if ((tb ? b->dims()[1] : b->dims()[0]) != k) return ctx.Error("inner dimensions differ");
  const float alpha = ctx.GetFloat("alpha", 1.0f), beta = ctx.GetFloat("beta", 1.0f);
  return VisitFloat(a->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>({m, n}, &out);
    T use_beta = T{0};
    if (ctx.HasInput(2) && beta != 0.0f) {
      const Tensor& c = ctx.input(2);
      auto shape = BroadcastShapes(c.dims(), {m, n});
      if (!shape.ok() || *shape != std::vector<int64_t>{m, n}) {
        return ctx.Error("C does not broadcast to [M, N]");
      }
      const T* cv = c.data<T>();
      const auto strides = BroadcastStrides(c.dims(), {m, n});
      ForEachBroadcast({m, n}, strides, strides,
                       [&](int64_t i, int64_t ci, int64_t) { out[i] = cv[ci]; });
      use_beta = static_cast<T>(beta);
    }
    Gemm<T>(a->data<T>(), b->data<T>(), out, m, n, k, ta, tb, static_cast<T>(alpha), use_beta,
            ctx.pool());
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterMatMulOps(KernelRegistry& r) {
  r.Add("", "MatMul", 1, MatMul);
  r.Add("", "Gemm", 7, GemmOp);
}

}  // namespace pare::runtime
