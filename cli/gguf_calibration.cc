#include "cli/gguf_calibration.h"

#include "absl/strings/str_cat.h"
#include "analysis/attention.h"
#include "core/graph_edit.h"
#include "core/quant_format.h"
#include "core/status_macros.h"
#include "quantize/grid_gptq.h"

namespace pare::cli {

absl::StatusOr<ProjectionStats> ProjectionStats::Collect(const Model& model,
                                                         const data::CalibrationData& data,
                                                         int threads) {
  const Constants constants(model.graph);
  ProjectionStats stats;
  absl::flat_hash_set<std::string> watch;
  for (const Node& n : model.graph.nodes) {
    if (analysis::ProjectionWidth(n, constants) <= 0 || n.op_type == "MatMulNBits") continue;
    const Tensor* w = constants.Find(n.inputs[1]);
    const int64_t k =
        n.op_type == "Gemm" && n.FindAttribute("transB") && n.FindAttribute("transB")->i
            ? w->dims()[1]
            : w->dims()[0];
    auto& h = stats.by_input_[n.inputs[0]];
    if (!h) h = std::make_unique<data::HessianAccumulator>(k);
    watch.insert(n.inputs[0]);
  }
  RETURN_IF_ERROR(data::RunSamplesAsRows(
      model, data, threads, watch,
      [&](const std::string& name, const float* rows, int64_t count, int64_t k) {
        auto it = stats.by_input_.find(name);
        if (it != stats.by_input_.end() && it->second->k() == k) it->second->Add(rows, count);
      },
      nullptr));
  return stats;
}

const data::HessianAccumulator* ProjectionStats::Find(const std::string& value) const {
  auto it = by_input_.find(value);
  return it == by_input_.end() || it->second->rows() == 0 ? nullptr : it->second.get();
}

artifacts::ImportanceMatrix ProjectionStats::Importance(const artifacts::GgufExport& exported,
                                                        const std::string& dataset) const {
  artifacts::ImportanceMatrix m;
  m.datasets = {dataset};
  for (const auto& [name, input] : exported.weight_inputs) {
    const data::HessianAccumulator* h = Find(input);
    if (!h) continue;
    artifacts::ImportanceMatrix::Entry& e = m.entries[name];
    e.sum_squares.resize(static_cast<size_t>(h->k()));
    for (int64_t i = 0; i < h->k(); ++i) {
      e.sum_squares[i] = static_cast<float>(h->sum()[i * h->k() + i]);
    }
    e.count = static_cast<float>(h->rows());
    m.chunk_count = std::max<uint32_t>(m.chunk_count, 1);
  }
  return m;
}

auto GptqEncoder(const ProjectionStats& stats, double damp, runtime::ThreadPool* pool)
    -> decltype(artifacts::GgufExportOptions::encoder) {
  return [&stats, damp, pool](const std::string&, const std::string& input,
                              const std::vector<float>& rows, int64_t out, int64_t in,
                              artifacts::GgmlType type) -> absl::StatusOr<std::vector<uint8_t>> {
    const QuantFormat* f = FindGgmlFormat(static_cast<int32_t>(type));
    const data::HessianAccumulator* h = input.empty() ? nullptr : stats.Find(input);
    if (!h) {
      if (!f->pack_weighted) return std::vector<uint8_t>();
      return quantize::PackRowsWeighted(rows.data(), out, in, *f, pool);
    }
    return quantize::QuantizeGptqIntoBlocks(rows.data(), out, in, *h, *f,
                                            {.damp = damp, .pool = pool});
  };
}

auto ImatrixEncoder(const artifacts::ImportanceMatrix& m, runtime::ThreadPool* pool)
    -> decltype(artifacts::GgufExportOptions::encoder) {
  return [&m, pool](const std::string& name, const std::string&, const std::vector<float>& rows,
                    int64_t out, int64_t in,
                    artifacts::GgmlType type) -> absl::StatusOr<std::vector<uint8_t>> {
    const QuantFormat* f = FindGgmlFormat(static_cast<int32_t>(type));
    const std::vector<float> mean = m.Mean(name);
    if (!f->pack_weighted || mean.empty()) return std::vector<uint8_t>();
    if (static_cast<int64_t>(mean.size()) != in) {
      return absl::InvalidArgumentError(absl::StrCat("the importance matrix has ", mean.size(),
                                                     " values for ", name, ", of ", in, " inputs"));
    }
    return quantize::PackRowsWeighted(rows.data(), out, in, *f, pool, mean.data());
  };
}

}  // namespace pare::cli
