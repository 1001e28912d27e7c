// MatMul (numpy semantics, batched and broadcast) and Gemm.
#include "runtime/ops/matmul.h"

#include "core/status_macros.h"
#include "runtime/gemm.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {

absl::StatusOr<MatMulShape> ResolveMatMul(const KernelContext& ctx, const std::vector<int64_t>& a,
                                          const std::vector<int64_t>& b) {
  std::vector<int64_t> ad = a, bd = b;
  if (ad.empty() || bd.empty()) return ctx.Error("inputs must be at least 1-D");
  const bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
  if (a_vec) ad.insert(ad.begin(), 1);
  if (b_vec) bd.push_back(1);
  MatMulShape s;
  s.m = ad[ad.size() - 2];
  s.k = ad.back();
  s.n = bd.back();
  if (bd[bd.size() - 2] != s.k) {
    return ctx.Error(absl::StrCat("inner dimensions differ: A is [", absl::StrJoin(a, ","),
                                  "], B is [", absl::StrJoin(b, ","), "]"));
  }
  const std::vector<int64_t> a_batch(ad.begin(), ad.end() - 2), b_batch(bd.begin(), bd.end() - 2);
  auto batch = BroadcastShapes(a_batch, b_batch);
  if (!batch.ok()) return ctx.Error(std::string(batch.status().message()));
  s.output = *batch;
  if (!a_vec) s.output.push_back(s.m);
  if (!b_vec) s.output.push_back(s.n);
  s.batches = Product(*batch);
  s.a_offset.assign(s.batches, 0);
  s.b_offset.assign(s.batches, 0);
  if (!batch->empty()) {
    ForEachBroadcast(
        *batch, BroadcastStrides(a_batch, *batch), BroadcastStrides(b_batch, *batch),
        [&](int64_t i, int64_t ai, int64_t bi) { s.a_offset[i] = ai, s.b_offset[i] = bi; });
  }
  return s;
}

namespace {

absl::Status MatMul(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  if (a->dtype() != b->dtype()) return ctx.Error("A and B have different types");
  ASSIGN_OR_RETURN(MatMulShape s, ResolveMatMul(ctx, a->dims(), b->dims()));
  return VisitFloat(a->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(s.output, &out);
    for (int64_t i = 0; i < s.batches; ++i) {
      Gemm<T>(a->data<T>() + s.a_offset[i] * s.m * s.k, b->data<T>() + s.b_offset[i] * s.k * s.n,
              out + i * s.m * s.n, s.m, s.n, s.k, false, false, T{1}, T{0}, ctx.pool());
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status GemmOp(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  RETURN_IF_ERROR(RequireSameType(ctx, {0, 1, 2}));
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
  r.Add("", "Gemm", 1, GemmOp);
}

}  // namespace pare::runtime
