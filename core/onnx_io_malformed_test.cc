// Bad input must give a clear error naming what is wrong, never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "core/onnx_io.h"
#include "core/test_util.h"
#include "onnx/onnx_pb.h"

namespace pare {
namespace {

using testing::TempDir;

onnx::ModelProto ModelWithTensor(const onnx::TensorProto& tensor) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  *m.mutable_graph()->add_initializer() = tensor;
  return m;
}

onnx::TensorProto FloatTensor(const std::string& name, std::vector<int64_t> dims) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

void SetExternal(onnx::TensorProto& t, const std::string& location, int64_t offset,
                 int64_t length) {
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const char* k, const std::string& v) {
    auto* e = t.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  if (offset >= 0) add("offset", std::to_string(offset));
  if (length >= 0) add("length", std::to_string(length));
}

absl::Status LoadProto(const TempDir& dir, const onnx::ModelProto& m) {
  testing::WriteFile(dir / "m.onnx", m.SerializeAsString());
  return LoadModel(dir / "m.onnx").status();
}

void ExpectError(const absl::Status& s, absl::StatusCode code, const std::string& fragment) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s;
  EXPECT_EQ(std::string(s.message()).find('\n'), std::string::npos) << s;
}

TEST(OnnxIoMalformed, MissingFile) {
  ExpectError(LoadModel("/nonexistent/m.onnx").status(), absl::StatusCode::kNotFound,
              "/nonexistent/m.onnx");
}

TEST(OnnxIoMalformed, EmptyFileHasNoGraph) {
  TempDir dir;
  testing::WriteFile(dir / "m.onnx", "");
  ExpectError(LoadModel(dir / "m.onnx").status(), absl::StatusCode::kDataLoss, "no graph");
}

TEST(OnnxIoMalformed, TruncatedFilesNeverYieldPartialTensors) {
  TempDir dir;
  onnx::TensorProto t = FloatTensor("w", {16});
  t.set_raw_data(std::string(64, 'x'));
  const std::string bytes = ModelWithTensor(t).SerializeAsString();
  int rejected = 0;
  for (size_t len = 1; len < bytes.size(); ++len) {
    testing::WriteFile(dir / "m.onnx", bytes.substr(0, len));
    auto model = LoadModel(dir / "m.onnx");
    // A cut exactly between two top-level fields is still a valid protobuf;
    // anything that loads must hold the whole tensor.
    if (!model.ok()) {
      ++rejected;
      continue;
    }
    ASSERT_EQ(model->graph.initializers.size(), 1u) << len;
    EXPECT_EQ(model->graph.initializers[0].bytes().size(), 64u) << len;
  }
  EXPECT_GT(rejected, static_cast<int>(bytes.size()) - 4);
}

TEST(OnnxIoMalformed, RandomBytesNeverCrash) {
  TempDir dir;
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    std::string bytes(rng() % 512, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    testing::WriteFile(dir / "m.onnx", bytes);
    (void)LoadModel(dir / "m.onnx");  // any status is fine; no crash, no abort
  }
}

TEST(OnnxIoMalformed, RawDataSizeMustMatchShape) {
  TempDir dir;
  onnx::TensorProto t = FloatTensor("w", {4});
  t.set_raw_data(std::string(15, 'x'));
  ExpectError(LoadProto(dir, ModelWithTensor(t)), absl::StatusCode::kDataLoss,
              "tensor 'w': raw_data holds 15 bytes but its type and shape need 16");
}

TEST(OnnxIoMalformed, TypedFieldCountMustMatchShape) {
  TempDir dir;
  onnx::TensorProto t = FloatTensor("w", {3});
  t.add_float_data(1);
  ExpectError(LoadProto(dir, ModelWithTensor(t)), absl::StatusCode::kDataLoss,
              "tensor 'w': holds 1 values but its shape needs 3");
}

TEST(OnnxIoMalformed, NodeWithoutOutputs) {
  TempDir dir;
  onnx::ModelProto m = ModelWithTensor(FloatTensor("w", {0}));
  onnx::NodeProto* n = m.mutable_graph()->add_node();
  n->set_op_type("Relu");
  n->set_name("act");
  n->add_input("w");
  ExpectError(LoadProto(dir, m), absl::StatusCode::kDataLoss, "node 'act' (Relu) has no outputs");
}

TEST(OnnxIoMalformed, TensorWithoutData) {
  TempDir dir;
  ExpectError(LoadProto(dir, ModelWithTensor(FloatTensor("w", {3}))), absl::StatusCode::kDataLoss,
              "declares 3 elements but holds no data");
}

TEST(OnnxIoMalformed, UnknownDataTypeAndNegativeDims) {
  TempDir dir;
  onnx::TensorProto t = FloatTensor("w", {1});
  t.set_data_type(99);
  ExpectError(LoadProto(dir, ModelWithTensor(t)), absl::StatusCode::kInvalidArgument,
              "tensor 'w': unsupported data type 99");
  ExpectError(LoadProto(dir, ModelWithTensor(FloatTensor("n", {2, -3}))),
              absl::StatusCode::kInvalidArgument, "tensor 'n': negative dimension -3");
}

TEST(OnnxIoMalformed, AbsurdDeclaredShapesAreCappedBeforeAnyAllocation) {
  TempDir dir;
  onnx::TensorProto t = FloatTensor("huge", {1 << 20, 1 << 20, 1 << 10});
  SetExternal(t, "w.bin", 0, -1);
  ExpectError(LoadProto(dir, ModelWithTensor(t)), absl::StatusCode::kInvalidArgument,
              "over the limit");
  onnx::TensorProto overflow = FloatTensor("o", {int64_t{1} << 40, int64_t{1} << 40});
  ExpectError(LoadProto(dir, ModelWithTensor(overflow)), absl::StatusCode::kInvalidArgument,
              "overflows");
}

TEST(OnnxIoMalformed, ExternalDataOutsideTheFileIsRejected) {
  TempDir dir;
  testing::WriteFile(dir / "w.bin", std::string(100, 'x'));
  onnx::TensorProto t = FloatTensor("w", {16});
  SetExternal(t, "w.bin", 50, 64);
  ExpectError(LoadProto(dir, ModelWithTensor(t)), absl::StatusCode::kOutOfRange,
              "runs past the end of 'w.bin'");
  onnx::TensorProto beyond = FloatTensor("w", {1});
  SetExternal(beyond, "w.bin", 1000, 4);
  ExpectError(LoadProto(dir, ModelWithTensor(beyond)), absl::StatusCode::kOutOfRange,
              "beyond the end");
  onnx::TensorProto wrong_length = FloatTensor("w", {4});
  SetExternal(wrong_length, "w.bin", 0, 20);
  ExpectError(LoadProto(dir, ModelWithTensor(wrong_length)), absl::StatusCode::kDataLoss,
              "length 20 does not match");
}

TEST(OnnxIoMalformed, ExternalDataPathsMayNotEscapeTheModelFolder) {
  TempDir dir;
  std::filesystem::create_directory(dir / "model");
  testing::WriteFile(dir / "secret.bin", std::string(64, 's'));
  ASSERT_EQ(::symlink((dir / "secret.bin").c_str(), (dir / "model/link.bin").c_str()), 0);
  const std::pair<std::string, std::string> cases[] = {
      {"/etc/passwd", "is absolute"},
      {"../secret.bin", "contains '..'"},
      {"sub/../../secret.bin", "contains '..'"},
      {"link.bin", "resolves outside the model's folder"},
      {"missing.bin", "not found"},
  };
  for (const auto& [location, fragment] : cases) {
    onnx::TensorProto t = FloatTensor("w", {4});
    SetExternal(t, location, 0, 16);
    testing::WriteFile(dir / "model/m.onnx", ModelWithTensor(t).SerializeAsString());
    const absl::Status s = LoadModel(dir / "model/m.onnx").status();
    EXPECT_FALSE(s.ok()) << location;
    EXPECT_NE(s.message().find(fragment), std::string::npos) << location << ": " << s;
  }
}

TEST(OnnxIoMalformed, ErrorsInsideConstantNodesNameTheNode) {
  TempDir dir;
  onnx::ModelProto m;
  auto* node = m.mutable_graph()->add_node();
  node->set_name("my_const");
  node->set_op_type("Constant");
  auto* attr = node->add_attribute();
  attr->set_name("value");
  attr->set_type(onnx::AttributeProto::TENSOR);
  *attr->mutable_t() = FloatTensor("", {2});
  ExpectError(LoadProto(dir, m), absl::StatusCode::kDataLoss,
              "node 'my_const' (Constant) attribute 'value'");
}

TEST(OnnxIo, TypedFieldsOfEveryKindLoad) {
  TempDir dir;
  onnx::ModelProto m;
  auto add = [&](const char* name, int type, std::vector<int64_t> dims) {
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    return t;
  };
  auto* f = add("f", onnx::TensorProto::FLOAT, {2});
  f->add_float_data(1.5f);
  f->add_float_data(-2.0f);
  add("h", onnx::TensorProto::FLOAT16, {1})->add_int32_data(0x3c00);
  auto* i8 = add("i8", onnx::TensorProto::INT8, {2});
  i8->add_int32_data(-1);
  i8->add_int32_data(5);
  add("i64", onnx::TensorProto::INT64, {1})->add_int64_data(-7);
  add("u32", onnx::TensorProto::UINT32, {1})->add_uint64_data(4000000000u);
  add("d", onnx::TensorProto::DOUBLE, {1})->add_double_data(0.25);
  auto* i4 = add("i4", 22, {3});  // 1, -2, 7 packed
  i4->add_int32_data(0xe1);
  i4->add_int32_data(0x07);
  add("s", onnx::TensorProto::STRING, {1})->add_string_data("hello");
  auto loaded = [&] {
    testing::WriteFile(dir / "m.onnx", m.SerializeAsString());
    return LoadModel(dir / "m.onnx");
  }();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const auto& init = loaded->graph.initializers;
  EXPECT_EQ(init[0].ToFloat32().value(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(init[1].ToFloat32().value(), (std::vector<float>{1.0f}));
  EXPECT_EQ(init[2].ToFloat32().value(), (std::vector<float>{-1, 5}));
  EXPECT_EQ(init[3].ToFloat32().value(), (std::vector<float>{-7}));
  EXPECT_EQ(init[4].ToFloat32().value(), (std::vector<float>{4000000000.0f}));
  EXPECT_EQ(init[5].ToFloat32().value(), (std::vector<float>{0.25f}));
  EXPECT_EQ(init[6].ToFloat32().value(), (std::vector<float>{1, -2, 7}));
  EXPECT_EQ(init[6].bytes().size(), 2u);
  EXPECT_EQ(init[7].strings(), (std::vector<std::string>{"hello"}));
}

}  // namespace
}  // namespace pare
