// Bad input through the real CLI binary: each case must end with exit code 1
// and exactly one line on stderr that says what is wrong, never a crash,
// a hang or a stack trace.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

// y = Relu(x), x: float [N, 4] (N symbolic).
fs::path relu_model(const fs::path& dir) {
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 4});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, 4});
  b.save(dir / "relu.onnx");
  return dir / "relu.onnx";
}

TEST(CliErrors, TruncatedModel) {
  const auto dir = testing::temp_dir("cli_truncated");
  const fs::path src = testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx";
  ASSERT_TRUE(fs::exists(src)) << "run scripts/fetch-models.sh";
  fs::copy_file(src, dir / "cut.onnx");
  fs::resize_file(dir / "cut.onnx", fs::file_size(src) / 2);
  testing::expect_clean_failure(testing::run_cli("info " + (dir / "cut.onnx").string()), "not a valid ONNX model");
}

TEST(CliErrors, NotAnOnnxFile) {
  const auto dir = testing::temp_dir("cli_not_onnx");
  std::ofstream(dir / "model.onnx") << "this is a text file, not a model\n";
  testing::expect_clean_failure(testing::run_cli("info " + (dir / "model.onnx").string()), "not a valid ONNX model");
}

TEST(CliErrors, MissingModelFile) {
  testing::expect_clean_failure(testing::run_cli("info /nonexistent/model.onnx"), "does not exist");
}

TEST(CliErrors, UnknownOperatorNamesOpDomainOpsetAndNode) {
  const auto dir = testing::temp_dir("cli_unknown_op");
  testing::ModelBuilder b(13);
  auto* extra = b.proto().add_opset_import();
  extra->set_domain("com.example");
  extra->set_version(3);
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("FrobnicateX", {"x"}, {"y"}, "com.example")->set_name("the_frob");
  b.output("y", onnx::TensorProto::FLOAT, {2});
  b.save(dir / "m.onnx");
  const testing::CliOutcome o = testing::run_cli("info " + (dir / "m.onnx").string());
  testing::expect_clean_failure(o, "unsupported operator 'FrobnicateX'");
  EXPECT_NE(o.err.find("com.example"), std::string::npos);
  EXPECT_NE(o.err.find("opset 3"), std::string::npos);
  EXPECT_NE(o.err.find("the_frob"), std::string::npos);
}

class CliInputErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    model_ = relu_model(dir_);
    ASSERT_TRUE(write_npy(dir_ / "good.npy", testing::random_tensor(DataType::kFloat32, {3, 4}, 1)).is_ok());
  }
  std::string run_with(const std::string& input_flags) {
    return "run " + model_.string() + " " + input_flags + " --output-dir " + (dir_ / "out").string();
  }
  fs::path dir_, model_;
};

TEST_F(CliInputErrors, GoodInputRunsAndWritesOutput) {
  const testing::CliOutcome o = testing::run_cli(run_with("--input x=" + (dir_ / "good.npy").string()));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  auto y = read_npy(dir_ / "out" / "y.npy");
  ASSERT_TRUE(y) << y.status().message();
  auto x = read_npy(dir_ / "good.npy");
  for (int64_t i = 0; i < x->numel(); ++i) EXPECT_EQ(y->data<float>()[i], std::max(0.0f, x->data<float>()[i]));
}

TEST_F(CliInputErrors, MissingInput) {
  testing::ModelBuilder b(13);
  b.input("a", onnx::TensorProto::FLOAT, {2});
  b.input("b", onnx::TensorProto::FLOAT, {2});
  b.node("Add", {"a", "b"}, {"c"});
  b.output("c", onnx::TensorProto::FLOAT, {2});
  b.save(dir_ / "add.onnx");
  ASSERT_TRUE(write_npy(dir_ / "two.npy", Tensor::from_vector<float>({2}, {1, 2})).is_ok());
  testing::expect_clean_failure(testing::run_cli("run " + (dir_ / "add.onnx").string() + " --input a=" + (dir_ / "two.npy").string()),
                       "missing input 'b'");
}

TEST_F(CliInputErrors, MisnamedInput) {
  testing::expect_clean_failure(testing::run_cli(run_with("--input image=" + (dir_ / "good.npy").string())),
                       "no input named 'image'");
}

TEST_F(CliInputErrors, WronglyTypedInput) {
  ASSERT_TRUE(write_npy(dir_ / "ints.npy", Tensor::zeros(DataType::kInt64, {3, 4})).is_ok());
  testing::expect_clean_failure(testing::run_cli(run_with("--input x=" + (dir_ / "ints.npy").string())),
                       "input 'x' has type int64; the model expects float");
}

TEST_F(CliInputErrors, WronglyShapedInput) {
  ASSERT_TRUE(write_npy(dir_ / "bad_shape.npy", Tensor::zeros(DataType::kFloat32, {3, 5})).is_ok());
  testing::expect_clean_failure(testing::run_cli(run_with("--input x=" + (dir_ / "bad_shape.npy").string())),
                       "input 'x' has shape 3x5; the model expects d0x4");
  ASSERT_TRUE(write_npy(dir_ / "bad_rank.npy", Tensor::zeros(DataType::kFloat32, {4})).is_ok());
  testing::expect_clean_failure(testing::run_cli(run_with("--input x=" + (dir_ / "bad_rank.npy").string())), "rank 2");
}

TEST_F(CliInputErrors, NpyThatLiesAboutItsSize) {
  fs::copy_file(dir_ / "good.npy", dir_ / "short.npy");
  fs::resize_file(dir_ / "short.npy", fs::file_size(dir_ / "good.npy") - 4);
  testing::expect_clean_failure(testing::run_cli(run_with("--input x=" + (dir_ / "short.npy").string())), "truncated or corrupt");
}

TEST(CliErrors, ExternalDataOutsideTheModelFolderIsRefused) {
  const auto root = testing::temp_dir("cli_external");
  fs::create_directories(root / "model");
  {
    std::ofstream secret(root / "secret.bin", std::ios::binary);
    const std::array<float, 4> w{1, 2, 3, 4};
    secret.write(reinterpret_cast<const char*>(w.data()), sizeof(w));
  }
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {4});
  onnx::TensorProto* w = b.proto().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value("../secret.bin");
  b.node("Add", {"x", "w"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {4});
  b.save(root / "model" / "m.onnx");
  testing::expect_clean_failure(testing::run_cli("info " + (root / "model" / "m.onnx").string()), "outside the model folder");

  // The same file inside the folder is accepted.
  fs::copy_file(root / "secret.bin", root / "model" / "weights.bin");
  loc->set_value("weights.bin");
  b.save(root / "model" / "ok.onnx");
  const testing::CliOutcome ok = testing::run_cli("info " + (root / "model" / "ok.onnx").string());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST(CliErrors, BadShapeFlag) {
  const fs::path cls = testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx";
  testing::expect_clean_failure(testing::run_cli("bench " + cls.string() + " --shape x=1x3xfoo"), "is not NAME=DIMS");
  testing::expect_clean_failure(testing::run_cli("bench " + cls.string()), "give its shape, e.g. --shape x=");
}

// A wrong command line exits 2, whatever CLI11's own code for the error
// kind (105 for a failed validator, 109 for an extra argument); --help is 0.
TEST(CliErrors, BadCommandLineExitsTwo) {
  const std::string cls = (testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx").string();
  for (const std::string& args : std::vector<std::string>{"bench " + cls + " --threads -1", "bench " + cls + " --no-such-flag",
                                                       "no-such-command", "run"}) {
    const testing::CliOutcome o = testing::run_cli(args);
    EXPECT_EQ(o.exit_code, 2) << args << ": " << o.err;
    EXPECT_FALSE(o.err.empty()) << args;
  }
  EXPECT_EQ(testing::run_cli("bench --help").exit_code, 0);
}

}  // namespace
}  // namespace ecoinfer
