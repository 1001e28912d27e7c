#include "tests/fuzz/proto_mutator.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace pare::fuzz {
namespace {

using Rng = std::minstd_rand;

size_t Pick(Rng& rng, size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }

// Values that break size arithmetic: empty, negative, off by one, huge.
// Arithmetic on `old` wraps (in unsigned) since it may already be huge.
int64_t EdgeValue(Rng& rng, int64_t old) {
  const uint64_t u = static_cast<uint64_t>(old);
  const int64_t choices[] = {0,
                             -1,
                             1,
                             static_cast<int64_t>(u + 1),
                             static_cast<int64_t>(u - 1),
                             static_cast<int64_t>(u * 2),
                             int64_t{1} << 31,
                             int64_t{1} << 62};
  return choices[Pick(rng, std::size(choices))];
}

// Every tensor the model holds as a weight: initializers and Constant
// nodes' values, in the main graph (where the stages look).
std::vector<onnx::TensorProto*> Weights(onnx::GraphProto& g) {
  std::vector<onnx::TensorProto*> out;
  for (auto& t : *g.mutable_initializer()) out.push_back(&t);
  for (auto& n : *g.mutable_node()) {
    if (n.op_type() != "Constant") continue;
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_t()) out.push_back(a.mutable_t());
    }
  }
  return out;
}

bool WrongDims(onnx::GraphProto& g, Rng& rng) {
  auto weights = Weights(g);
  if (weights.empty()) return false;
  onnx::TensorProto& t = *weights[Pick(rng, weights.size())];
  switch (Pick(rng, 3)) {
    case 0:
      t.add_dims(EdgeValue(rng, 1));
      return true;
    case 1:
      if (t.dims_size() == 0) return false;
      t.mutable_dims()->RemoveLast();
      return true;
    default: {
      if (t.dims_size() == 0) return false;
      const int i = static_cast<int>(Pick(rng, t.dims_size()));
      t.set_dims(i, EdgeValue(rng, t.dims(i)));
      return true;
    }
  }
}

bool WrongDtype(onnx::GraphProto& g, Rng& rng) {
  auto weights = Weights(g);
  if (weights.empty()) return false;
  weights[Pick(rng, weights.size())]->set_data_type(static_cast<int>(Pick(rng, 24)));
  return true;
}

bool TruncateData(onnx::GraphProto& g, Rng& rng) {
  auto weights = Weights(g);
  if (weights.empty()) return false;
  onnx::TensorProto& t = *weights[Pick(rng, weights.size())];
  if (t.raw_data().empty()) {
    if (t.float_data_size() == 0) return false;
    t.mutable_float_data()->RemoveLast();
    return true;
  }
  t.mutable_raw_data()->resize(Pick(rng, t.raw_data().size()));
  return true;
}

bool DropInitializer(onnx::GraphProto& g, Rng& rng) {
  if (g.initializer_size() == 0) return false;
  auto* list = g.mutable_initializer();
  list->DeleteSubrange(static_cast<int>(Pick(rng, list->size())), 1);
  return true;
}

bool DropNode(onnx::GraphProto& g, Rng& rng) {
  if (g.node_size() == 0) return false;
  g.mutable_node()->DeleteSubrange(static_cast<int>(Pick(rng, g.node_size())), 1);
  return true;
}

// Feeds a node from its own output or a later node's: a cycle, or a use
// before definition once sorted.
bool MakeCycle(onnx::GraphProto& g, Rng& rng) {
  if (g.node_size() == 0) return false;
  const int i = static_cast<int>(Pick(rng, g.node_size()));
  const int j = i + static_cast<int>(Pick(rng, g.node_size() - i));
  onnx::NodeProto& reader = *g.mutable_node(i);
  const onnx::NodeProto& writer = g.node(j);
  if (reader.input_size() == 0 || writer.output_size() == 0) return false;
  reader.set_input(static_cast<int>(Pick(rng, reader.input_size())),
                   writer.output(static_cast<int>(Pick(rng, writer.output_size()))));
  return true;
}

// Two nodes writing one value, or a node rewriting a graph input.
bool RepeatProducer(onnx::GraphProto& g, Rng& rng) {
  if (g.node_size() < 2) return false;
  onnx::NodeProto& a = *g.mutable_node(static_cast<int>(Pick(rng, g.node_size())));
  const onnx::NodeProto& b = g.node(static_cast<int>(Pick(rng, g.node_size())));
  if (a.output_size() == 0 || b.output_size() == 0) return false;
  std::string name = b.output(0);
  if (g.input_size() > 0 && Pick(rng, 4) == 0) name = g.input(0).name();
  a.set_output(0, name);
  return true;
}

bool DropOrRenameInput(onnx::GraphProto& g, Rng& rng) {
  if (g.node_size() == 0) return false;
  onnx::NodeProto& n = *g.mutable_node(static_cast<int>(Pick(rng, g.node_size())));
  if (n.input_size() == 0) return false;
  const int k = static_cast<int>(Pick(rng, n.input_size()));
  if (Pick(rng, 2) == 0) {
    n.set_input(k, Pick(rng, 2) == 0 ? "" : "no_such_value");
  } else {
    n.mutable_input()->DeleteSubrange(k, 1);
  }
  return true;
}

bool BadAttribute(onnx::GraphProto& g, Rng& rng) {
  std::vector<onnx::AttributeProto*> attrs;
  for (auto& n : *g.mutable_node()) {
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_i() || a.ints_size() > 0 || a.has_f()) attrs.push_back(&a);
    }
  }
  if (attrs.empty()) return false;
  onnx::AttributeProto& a = *attrs[Pick(rng, attrs.size())];
  if (a.ints_size() > 0) {
    const int k = static_cast<int>(Pick(rng, a.ints_size()));
    if (Pick(rng, 3) == 0) {
      a.set_ints(k, a.ints(a.ints_size() - 1));  // drops one element
      a.mutable_ints()->RemoveLast();
    } else {
      a.set_ints(k, EdgeValue(rng, a.ints(k)));
    }
  } else if (a.has_i()) {
    a.set_i(EdgeValue(rng, a.i()));
  } else {
    const float values[] = {0.0f, -1.0f, 1e30f, std::nanf("")};
    a.set_f(values[Pick(rng, std::size(values))]);
  }
  return true;
}

bool WrongInputShape(onnx::GraphProto& g, Rng& rng) {
  if (g.input_size() == 0) return false;
  onnx::ValueInfoProto& v = *g.mutable_input(static_cast<int>(Pick(rng, g.input_size())));
  auto* tensor = v.mutable_type()->mutable_tensor_type();
  if (Pick(rng, 4) == 0) {
    tensor->set_elem_type(static_cast<int>(Pick(rng, 24)));
    return true;
  }
  auto* shape = tensor->mutable_shape();
  if (shape->dim_size() == 0) {
    shape->add_dim()->set_dim_value(EdgeValue(rng, 1));
    return true;
  }
  auto* d = shape->mutable_dim(static_cast<int>(Pick(rng, shape->dim_size())));
  d->set_dim_value(EdgeValue(rng, d->has_dim_value() ? d->dim_value() : 1) & 0xffff);
  return true;
}

bool SwapOpType(onnx::GraphProto& g, Rng& rng) {
  if (g.node_size() < 2) return false;
  const std::string other = g.node(static_cast<int>(Pick(rng, g.node_size()))).op_type();
  g.mutable_node(static_cast<int>(Pick(rng, g.node_size())))->set_op_type(other);
  return true;
}

bool OtherOpset(onnx::ModelProto& m, Rng& rng) {
  if (m.opset_import_size() == 0) return false;
  m.mutable_opset_import(0)->set_version(static_cast<int64_t>(Pick(rng, 26)));
  return true;
}

bool MutateOnce(onnx::ModelProto& m, Rng& rng) {
  onnx::GraphProto& g = *m.mutable_graph();
  switch (Pick(rng, 12)) {
    case 0:
      return WrongDims(g, rng);
    case 1:
      return WrongDtype(g, rng);
    case 2:
      return TruncateData(g, rng);
    case 3:
      return DropInitializer(g, rng);
    case 4:
      return DropNode(g, rng);
    case 5:
      return MakeCycle(g, rng);
    case 6:
      return RepeatProducer(g, rng);
    case 7:
      return DropOrRenameInput(g, rng);
    case 8:
      return BadAttribute(g, rng);
    case 9:
      return WrongInputShape(g, rng);
    case 10:
      return SwapOpType(g, rng);
    default:
      return OtherOpset(m, rng);
  }
}

}  // namespace

size_t MutateModelProto(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  onnx::ModelProto model;
  if (!model.ParseFromArray(data, static_cast<int>(size)) || !model.has_graph()) return 0;
  Rng rng(seed);
  // One to three edits: most bugs need a single inconsistency, some two.
  const size_t edits = 1 + Pick(rng, 3);
  bool changed = false;
  for (size_t i = 0; i < edits; ++i) changed |= MutateOnce(model, rng);
  if (!changed) return 0;
  const std::string bytes = model.SerializeAsString();
  if (bytes.empty() || bytes.size() > max_size) return 0;
  std::memcpy(data, bytes.data(), bytes.size());
  return bytes.size();
}

}  // namespace pare::fuzz
