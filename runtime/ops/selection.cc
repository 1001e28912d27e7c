// Einsum, Unique and NonMaxSuppression.
#include <algorithm>
#include <map>
#include <numeric>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

// Expands "..." in each operand's subscripts into letters of their own, so
// the equation has only single-letter labels.
absl::StatusOr<std::pair<std::vector<std::string>, std::string>> ParseEinsum(
    const KernelContext& ctx, const std::string& equation) {
  std::string eq;
  for (char c : equation) {
    if (c != ' ') eq += c;
  }
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ctx.input_count()) return ctx.Error("equation and inputs differ in count");
  // Ellipsis dims take labels 'A'.. from the right, aligned like broadcasting.
  size_t ellipsis_rank = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    const size_t dots = terms[i].find("...");
    if (dots == std::string::npos) continue;
    ellipsis_rank = std::max(ellipsis_rank, ctx.input(i).dims().size() - (terms[i].size() - 3));
  }
  auto expand = [&](const std::string& term, size_t rank) {
    const size_t dots = term.find("...");
    if (dots == std::string::npos) return term;
    std::string labels;
    for (size_t k = ellipsis_rank - rank; k < ellipsis_rank; ++k)
      labels += static_cast<char>('A' + k);
    return term.substr(0, dots) + labels + term.substr(dots + 3);
  };
  for (size_t i = 0; i < terms.size(); ++i) {
    const size_t named =
        terms[i].find("...") == std::string::npos ? terms[i].size() : terms[i].size() - 3;
    terms[i] = expand(terms[i], ctx.input(i).dims().size() - named);
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = expand(eq.substr(arrow + 2), ellipsis_rank);
  } else {
    std::map<char, int> seen;
    for (const auto& t : terms) {
      for (char c : t) ++seen[c];
    }
    for (size_t k = 0; k < ellipsis_rank; ++k) out += static_cast<char>('A' + k);
    for (const auto& [c, n] : seen) {
      if (n == 1 && c >= 'a') out += c;
    }
  }
  return std::pair{terms, out};
}

absl::Status Einsum(KernelContext& ctx) {
  for (size_t i = 0; i < ctx.input_count(); ++i) RETURN_IF_ERROR(ctx.RequireInput(i).status());
  for (size_t i = 1; i < ctx.input_count(); ++i) RETURN_IF_ERROR(RequireSameType(ctx, {0, i}));
  ASSIGN_OR_RETURN(auto parsed, ParseEinsum(ctx, ctx.GetString("equation", "")));
  // Plain references: lambdas below capture them (clang < 16 cannot capture
  // structured bindings).
  const std::vector<std::string>& terms = parsed.first;
  const std::string& out_labels = parsed.second;
  std::map<char, int64_t> size;
  for (size_t i = 0; i < terms.size(); ++i) {
    const auto& dims = ctx.input(i).dims();
    if (terms[i].size() != dims.size()) return ctx.Error("subscripts do not match input rank");
    for (size_t k = 0; k < dims.size(); ++k) {
      auto [it, fresh] = size.emplace(terms[i][k], dims[k]);
      if (!fresh && it->second != dims[k]) {
        if (it->second == 1)
          it->second = dims[k];
        else if (dims[k] != 1)
          return ctx.Error("label sizes disagree");
      }
    }
  }
  std::string labels;
  for (const auto& [c, _] : size) labels += c;
  std::vector<int64_t> out_shape;
  for (char c : out_labels) out_shape.push_back(size[c]);
  return VisitNumeric(ctx.input(0).dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(out_shape, &out);
    std::fill(out, out + Product(out_shape), T{0});
    // Per label: stride in each input and the output (0 when absent or size 1).
    const size_t L = labels.size();
    std::vector<std::vector<int64_t>> in_strides(terms.size(), std::vector<int64_t>(L, 0));
    for (size_t i = 0; i < terms.size(); ++i) {
      const auto strides = Strides(ctx.input(i).dims());
      for (size_t k = 0; k < terms[i].size(); ++k) {
        if (ctx.input(i).dims()[k] != 1) in_strides[i][labels.find(terms[i][k])] += strides[k];
      }
    }
    std::vector<int64_t> out_strides(L, 0);
    const auto os = Strides(out_shape);
    for (size_t k = 0; k < out_labels.size(); ++k) out_strides[labels.find(out_labels[k])] += os[k];
    std::vector<int64_t> idx(L, 0);
    std::vector<int64_t> dims(L);
    for (size_t k = 0; k < L; ++k) dims[k] = size[labels[k]];
    if (Product(dims) == 0) {
      ctx.SetOutput(0, std::move(result));
      return absl::OkStatus();
    }
    while (true) {
      T prod = T{1};
      for (size_t i = 0; i < terms.size(); ++i) {
        int64_t off = 0;
        for (size_t k = 0; k < L; ++k) off += idx[k] * in_strides[i][k];
        prod = static_cast<T>(prod * ctx.input(i).data<T>()[off]);
      }
      int64_t o = 0;
      for (size_t k = 0; k < L; ++k) o += idx[k] * out_strides[k];
      out[o] = static_cast<T>(out[o] + prod);
      size_t k = L;
      while (k > 0 && ++idx[k - 1] == dims[k - 1]) idx[--k] = 0;
      if (k == 0) break;
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Unique(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const Attribute* axis_attr = ctx.FindAttribute("axis");
  const bool sorted = ctx.GetInt("sorted", 1) != 0;
  const Tensor input = axis_attr ? *x : x->WithDims({static_cast<int64_t>(x->element_count())});
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_attr ? axis_attr->i : 0,
                                               static_cast<int64_t>(input.dims().size())));
  const int64_t outer = Product(input.dims(), 0, axis), dim = input.dims()[axis],
                inner = Product(input.dims(), axis + 1);
  return VisitNumeric(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto slice = [&](int64_t j) {
      std::vector<T> v;
      for (int64_t o = 0; o < outer; ++o) {
        const T* p = input.data<T>() + (o * dim + j) * inner;
        v.insert(v.end(), p, p + inner);
      }
      return v;
    };
    std::vector<std::vector<T>> uniques;
    std::vector<int64_t> first, inverse(dim), counts;
    for (int64_t j = 0; j < dim; ++j) {
      const auto s = slice(j);
      // Element loops instead of vector operators: GCC 12 misreads the
      // memcmp those expand to for byte types (-Wstringop-overread).
      auto it = std::find_if(uniques.begin(), uniques.end(), [&](const std::vector<T>& u) {
        for (size_t q = 0; q < u.size(); ++q) {
          if (u[q] != s[q]) return false;
        }
        return true;
      });
      if (it == uniques.end()) {
        inverse[j] = static_cast<int64_t>(uniques.size());
        uniques.push_back(s);
        first.push_back(j);
        counts.push_back(1);
      } else {
        inverse[j] = it - uniques.begin();
        ++counts[inverse[j]];
      }
    }
    std::vector<int64_t> order(uniques.size());
    std::iota(order.begin(), order.end(), 0);
    if (sorted) {
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        for (size_t q = 0; q < uniques[a].size(); ++q) {
          if (uniques[a][q] != uniques[b][q]) return uniques[a][q] < uniques[b][q];
        }
        return false;
      });
    }
    std::vector<int64_t> rank(order.size());
    for (size_t r = 0; r < order.size(); ++r) rank[order[r]] = static_cast<int64_t>(r);
    const int64_t n = static_cast<int64_t>(uniques.size());
    std::vector<int64_t> shape = input.dims();
    shape[axis] = n;
    T* out = nullptr;
    Tensor y = NewTensor<T>(shape, &out);
    std::vector<int64_t> idx(n), cnt(n), inv(dim);
    for (int64_t r = 0; r < n; ++r) {
      const auto& s = uniques[order[r]];
      for (int64_t o = 0; o < outer; ++o) {
        std::copy_n(&s[o * inner], inner, out + (o * n + r) * inner);
      }
      idx[r] = first[order[r]];
      cnt[r] = counts[order[r]];
    }
    for (int64_t j = 0; j < dim; ++j) inv[j] = rank[inverse[j]];
    ctx.SetOutput(0, std::move(y));
    if (ctx.output_count() > 1) ctx.SetOutput(1, Tensor::FromVector<int64_t>("", {n}, idx));
    if (ctx.output_count() > 2) ctx.SetOutput(2, Tensor::FromVector<int64_t>("", {dim}, inv));
    if (ctx.output_count() > 3) ctx.SetOutput(3, Tensor::FromVector<int64_t>("", {n}, cnt));
    return absl::OkStatus();
  });
}

absl::Status NonMaxSuppression(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* boxes_t, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* scores_t, ctx.RequireInput(1));
  int64_t max_out = 0;
  double iou_threshold = 0, score_threshold = -1e300;
  if (ctx.HasInput(2) && ctx.input(2).element_count()) {
    ASSIGN_OR_RETURN(max_out, ReadScalar(ctx.input(2)));
  }
  if (ctx.HasInput(3) && ctx.input(3).element_count()) {
    ASSIGN_OR_RETURN(iou_threshold, ReadScalar(ctx.input(3)));
  }
  if (ctx.HasInput(4) && ctx.input(4).element_count()) {
    ASSIGN_OR_RETURN(score_threshold, ReadScalar(ctx.input(4)));
  }
  const bool center = ctx.GetInt("center_point_box", 0) != 0;
  ASSIGN_OR_RETURN(std::vector<float> boxes, boxes_t->ToFloat32());
  ASSIGN_OR_RETURN(std::vector<float> scores, scores_t->ToFloat32());
  if (scores_t->dims().size() != 3 || boxes_t->dims().size() != 3 || boxes_t->dims()[2] != 4 ||
      boxes_t->dims()[0] != scores_t->dims()[0] || boxes_t->dims()[1] != scores_t->dims()[2]) {
    return ctx.Error("boxes must be [batch, boxes, 4] and scores [batch, classes, boxes]");
  }
  const int64_t batches = scores_t->dims()[0], classes = scores_t->dims()[1],
                count = scores_t->dims()[2];
  auto corners = [&](int64_t b, int64_t i) {
    const float* p = &boxes[(b * count + i) * 4];
    if (center)
      return std::array<float, 4>{p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2,
                                  p[0] + p[2] / 2};
    return std::array<float, 4>{std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]),
                                std::max(p[1], p[3])};
  };
  auto iou = [&](int64_t b, int64_t i, int64_t j) {
    const auto a = corners(b, i), c = corners(b, j);
    const float w = std::max(0.0f, std::min(a[2], c[2]) - std::max(a[0], c[0]));
    const float h = std::max(0.0f, std::min(a[3], c[3]) - std::max(a[1], c[1]));
    const float inter = w * h;
    const float uni = (a[2] - a[0]) * (a[3] - a[1]) + (c[2] - c[0]) * (c[3] - c[1]) - inter;
    return uni <= 0 ? 0.0f : inter / uni;
  };
  std::vector<int64_t> selected;
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t c = 0; c < classes; ++c) {
      const float* s = &scores[(b * classes + c) * count];
      std::vector<int64_t> order;
      for (int64_t i = 0; i < count; ++i) {
        if (s[i] > score_threshold) order.push_back(i);
      }
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return s[x] > s[y]; });
      std::vector<int64_t> kept;
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        bool keep = true;
        for (int64_t k : kept) keep = keep && iou(b, i, k) <= iou_threshold;
        if (keep) kept.push_back(i);
      }
      for (int64_t k : kept) selected.insert(selected.end(), {b, c, k});
    }
  }
  ctx.SetOutput(
      0, Tensor::FromVector<int64_t>("", {static_cast<int64_t>(selected.size() / 3), 3}, selected));
  return absl::OkStatus();
}

}  // namespace

void RegisterSelectionOps(KernelRegistry& r) {
  r.Add("", "Einsum", 12, Einsum);
  r.Add("", "Unique", 11, Unique);
  r.Add("", "NonMaxSuppression", 10, NonMaxSuppression);
}

}  // namespace pare::runtime
