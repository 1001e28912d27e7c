#include "core/rewrite.h"

#include "absl/strings/str_cat.h"

namespace pare {
namespace {

// What a Status-returning pass can be seen to have changed, cheaply.
std::string Fingerprint(const Model& model) {
  std::string f;
  for (const OpsetImport& o : model.opset_imports)
    absl::StrAppend(&f, o.domain, ":", o.version, ";");
  absl::StrAppend(&f, model.graph.nodes.size(), "/", model.graph.initializers.size(), ";");
  for (const Node& n : model.graph.nodes) absl::StrAppend(&f, n.op_type, ",", n.inputs.size(), ";");
  return f;
}

}  // namespace

std::unique_ptr<Rewrite> StatusRewrite(std::string name, std::function<absl::Status(Model&)> fn) {
  return std::make_unique<FunctionRewrite>(
      std::move(name), [fn = std::move(fn)](Model& model) -> absl::StatusOr<RewriteOutcome> {
        const std::string before = Fingerprint(model);
        if (absl::Status s = fn(model); !s.ok()) return s;
        RewriteOutcome out;
        out.changed = Fingerprint(model) != before;
        return out;
      });
}

absl::StatusOr<RewriteOutcome> FunctionRewrite::Apply(Model& model) const {
  absl::StatusOr<RewriteOutcome> out = fn_(model);
  if (out.ok()) out->pass = name_;
  return out;
}

absl::StatusOr<std::vector<RewriteOutcome>> ApplyRewrites(Model& model,
                                                          const RewritePasses& passes) {
  std::vector<RewriteOutcome> outcomes;
  for (const std::unique_ptr<Rewrite>& pass : passes) {
    absl::StatusOr<RewriteOutcome> out = pass->Apply(model);
    if (!out.ok()) {
      return absl::Status(out.status().code(),
                          absl::StrCat(pass->name(), ": ", out.status().message()));
    }
    outcomes.push_back(*std::move(out));
  }
  return outcomes;
}

}  // namespace pare
