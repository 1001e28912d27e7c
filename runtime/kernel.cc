#include "runtime/kernel.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pare::runtime {
namespace {

std::string NodeLabel(const Node& node) {
  return absl::StrCat("node '",
                      node.name.empty() ? node.outputs.empty() ? "" : node.outputs[0] : node.name,
                      "' (", node.domain.empty() ? "" : node.domain + ".", node.op_type, ")");
}

std::string Canonical(const std::string& domain) { return domain == "ai.onnx" ? "" : domain; }

}  // namespace

const Tensor& EmptyTensor() {
  static const Tensor* empty = [] {
    uint8_t* data = nullptr;
    Tensor* t = new Tensor(Tensor::Allocate(DataType::kFloat32, {0}, &data));
    return t;
  }();
  return *empty;
}

absl::StatusOr<const Tensor*> KernelContext::RequireInput(size_t i) const {
  if (!HasInput(i)) return Error(absl::StrCat("input ", i, " is required but missing"));
  return inputs_[i];
}

int64_t KernelContext::GetInt(const std::string& name, int64_t fallback) const {
  const Attribute* a = node_.FindAttribute(name);
  return a && a->type == AttributeType::kInt ? a->i : fallback;
}

float KernelContext::GetFloat(const std::string& name, float fallback) const {
  const Attribute* a = node_.FindAttribute(name);
  return a && a->type == AttributeType::kFloat ? a->f : fallback;
}

std::string KernelContext::GetString(const std::string& name, const std::string& fallback) const {
  const Attribute* a = node_.FindAttribute(name);
  return a && a->type == AttributeType::kString ? a->s : fallback;
}

std::vector<int64_t> KernelContext::GetInts(const std::string& name) const {
  const Attribute* a = node_.FindAttribute(name);
  return a ? a->ints : std::vector<int64_t>{};
}

std::vector<float> KernelContext::GetFloats(const std::string& name) const {
  const Attribute* a = node_.FindAttribute(name);
  return a ? a->floats : std::vector<float>{};
}

absl::Status KernelContext::CheckOutputSize(DataType type, const std::vector<int64_t>& dims) const {
  auto count = ElementCount(dims);
  auto bytes = count.ok() ? StorageBytes(type, *count) : count.status();
  if (!bytes.ok() || *bytes > max_tensor_bytes_) {
    return Error(absl::StrCat("output of shape [", absl::StrJoin(dims, ","),
                              "] exceeds the limit of ", max_tensor_bytes_, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status KernelContext::Error(const std::string& message) const {
  return absl::InvalidArgumentError(absl::StrCat(NodeLabel(node_), ": ", message));
}

absl::Status KernelContext::Unsupported(const std::string& message) const {
  return absl::UnimplementedError(absl::StrCat(NodeLabel(node_), ": ", message));
}

void KernelRegistry::Add(const std::string& domain, const std::string& op_type,
                         int64_t since_version, KernelFn fn) {
  kernels_[{Canonical(domain), op_type}][since_version] = std::move(fn);
}

const KernelFn* KernelRegistry::Find(const std::string& domain, const std::string& op_type,
                                     int64_t opset) const {
  auto it = kernels_.find({Canonical(domain), op_type});
  if (it == kernels_.end()) return nullptr;
  auto version = it->second.upper_bound(opset);
  if (version == it->second.begin()) return nullptr;
  return &std::prev(version)->second;
}

std::vector<std::string> KernelRegistry::OpTypes() const {
  std::vector<std::string> out;
  for (const auto& [key, _] : kernels_) {
    out.push_back(key.first.empty() ? key.second : key.first + "." + key.second);
  }
  return out;
}

const KernelRegistry& KernelRegistry::Builtin() {
  static const KernelRegistry* registry = [] {
    auto* r = new KernelRegistry;
    RegisterElementwiseOps(*r);
    RegisterActivationOps(*r);
    RegisterShapeOps(*r);
    RegisterIndexingOps(*r);
    RegisterTypeOps(*r);
    RegisterMatMulOps(*r);
    RegisterConvOps(*r);
    RegisterPoolOps(*r);
    RegisterNormalizationOps(*r);
    RegisterReduceOps(*r);
    RegisterQuantizeOps(*r);
    RegisterControlFlowOps(*r);
    RegisterLossOps(*r);
    RegisterResizeOps(*r);
    RegisterRecurrentOps(*r);
    RegisterMiscOps(*r);
    RegisterCol2ImOps(*r);
    RegisterSelectionOps(*r);
    RegisterMatMulNBitsOps(*r);
    return r;
  }();
  return *registry;
}

}  // namespace pare::runtime
