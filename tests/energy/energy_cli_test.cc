// End to end through build/ecoinfer: bench and run report energy with its
// method ("estimated:cpu-time" where no counter is readable, as on these VMs;
// "measured:rapl" where RAPL is), carbon with the region used, the CSV row
// and the traffic projection; an unknown region is one clear error line.
#include <sys/wait.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "energy/energy_internal.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

// y = Relu(x + x): two of the simplest kernels, so the test does not depend
// on the heavy ones. If Relu or Add is missing, the CLI says so and the
// assertion below shows that message.
fs::path tiny_model(const fs::path& dir) {
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 64});
  b.node("Add", {"x", "x"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {1, 64});
  b.save(dir / "tiny.onnx");
  return dir / "tiny.onnx";
}

std::string expected_method() {
  return energy::find_rapl_domains("/sys/class/powercap") ? "measured:rapl" : "estimated:cpu-time";
}

TEST(EnergyCli, BenchJsonHasEnergyMethodAndCarbon) {
  const fs::path dir = testing::temp_dir("energy_cli_bench");
  const fs::path model = tiny_model(dir);
  const fs::path csv = dir / "emissions.csv";
  const testing::CliOutcome o = testing::run_cli("bench " + model.string() + " --iters 20 --warmup 2 --json --region FR --pue 1.1 "
                                 "--traffic 1e6/day --price-per-kwh 0.2 --emissions-csv " + csv.string());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto j = nlohmann::json::parse(o.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << o.out;
  ASSERT_TRUE(j.contains("energy")) << o.out;
  EXPECT_EQ(j["energy"]["method"], expected_method());
  EXPECT_GT(j["energy"]["joules_per_inference"].get<double>(), 0);
  EXPECT_EQ(j["energy"]["inferences"], 20);
  EXPECT_EQ(j["carbon"]["region"], "FR");
  EXPECT_DOUBLE_EQ(j["carbon"]["g_per_kwh"].get<double>(), 56);
  EXPECT_DOUBLE_EQ(j["carbon"]["pue"].get<double>(), 1.1);
  EXPECT_FALSE(j["carbon"]["world_default"].get<bool>());
  EXPECT_EQ(j["carbon"]["energy_method"], expected_method());
  const double mg = j["carbon"]["mg_co2e_per_inference"].get<double>();
  EXPECT_NEAR(mg, j["energy"]["joules_per_inference"].get<double>() / 3.6e6 * 1.1 * 56 * 1e3, mg * 1e-9);
  EXPECT_EQ(j["sci"]["functional_unit"], "inference");
  EXPECT_GT(j["projection"]["kwh_per_day"].get<double>(), 0);
  EXPECT_TRUE(j["projection"].contains("cost_per_month"));
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_EQ(header.rfind("timestamp,project_name,run_id,", 0), 0u);
  EXPECT_NE(row.find(",FR,"), std::string::npos) << row;
  EXPECT_NE(row.find(expected_method()), std::string::npos) << row;
}

TEST(EnergyCli, BenchHumanOutputNamesMethodAndWorldDefault) {
  const fs::path dir = testing::temp_dir("energy_cli_human");
  const testing::CliOutcome o = testing::run_cli("bench " + tiny_model(dir).string() + " --iters 5 --warmup 1");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("per inference [" + expected_method() + "]"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("mg CO2e per inference"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("world average"), std::string::npos) << o.out;
}

TEST(EnergyCli, RunReportsTheSingleInference) {
  const fs::path dir = testing::temp_dir("energy_cli_run");
  const fs::path model = tiny_model(dir);
  ASSERT_TRUE(write_npy(dir / "x.npy", testing::random_tensor(DataType::kFloat32, {1, 64}, 3)).is_ok());
  const testing::CliOutcome o = testing::run_cli("run " + model.string() + " --input x=" + (dir / "x.npy").string() +
                                     " --output-dir " + (dir / "outputs").string() + " --json --region us-east-1");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto j = nlohmann::json::parse(o.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << o.out;
  EXPECT_EQ(j["energy"]["method"], expected_method());
  EXPECT_EQ(j["energy"]["inferences"], 1);
  EXPECT_EQ(j["carbon"]["kind"], "aws");
  EXPECT_TRUE(j.contains("outputs"));
}

TEST(EnergyCli, UnknownRegionIsOneClearLine) {
  const fs::path dir = testing::temp_dir("energy_cli_region");
  const testing::CliOutcome o = testing::run_cli("bench " + tiny_model(dir).string() + " --iters 1 --region eu-west-9");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err.rfind("ecoinfer: error: unknown region 'eu-west-9'", 0), 0u) << o.err;
  EXPECT_NE(o.err.find("eu-west-3"), std::string::npos) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
}

}  // namespace
}  // namespace ecoinfer
