// One shape for every graph rewrite pare applies: a named pass whose Apply
// says whether it changed the model (and which values it removed), or
// fails. Each pipeline builds its passes as one ordered list, so the order
// is written in one place and shows in reports:
//
//   RewritePasses passes;
//   passes.push_back(StatusRewrite("opset-10", quantize::UpgradeToOpset10));
//   ASSIGN_OR_RETURN(std::vector<RewriteOutcome> done, ApplyRewrites(model, passes));
//
// A rewrite keeps the model's numbers: each pass has a test that runs a
// model before and after it and compares the outputs (the ONNX Runtime
// optimizer's discipline). A pass that fails may have changed the model
// part way; stages that must leave their input alone run the list inside
// CommitOnSuccess (core/stage.h).
#ifndef PARE_CORE_REWRITE_H_
#define PARE_CORE_REWRITE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare {

struct RewriteOutcome {
  std::string pass;
  bool changed = false;
  std::vector<std::string> removed;  // values no node produces any more
};

class Rewrite {
 public:
  virtual ~Rewrite() = default;
  // Short and stable, for reports and errors: "fold-constants".
  virtual std::string name() const = 0;
  virtual absl::StatusOr<RewriteOutcome> Apply(Model& model) const = 0;
};

using RewritePasses = std::vector<std::unique_ptr<Rewrite>>;

// A rewrite written as a function.
class FunctionRewrite : public Rewrite {
 public:
  using Fn = std::function<absl::StatusOr<RewriteOutcome>(Model&)>;
  FunctionRewrite(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  absl::StatusOr<RewriteOutcome> Apply(Model& model) const override;

 private:
  std::string name_;
  Fn fn_;
};

// A rewrite from a function that reports only success: `changed` is then
// whether the model differs from before, judged by its opsets and its
// nodes' types and input counts.
std::unique_ptr<Rewrite> StatusRewrite(std::string name, std::function<absl::Status(Model&)> fn);

// Applies each pass in order; the first error stops the list and is
// returned prefixed with the pass's name.
absl::StatusOr<std::vector<RewriteOutcome>> ApplyRewrites(Model& model,
                                                          const RewritePasses& passes);

}  // namespace pare

#endif  // PARE_CORE_REWRITE_H_
