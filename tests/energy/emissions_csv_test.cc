// The CodeCarbon-style emissions CSV: columns, header once, rows appended,
// quoting, and a file with other columns refused.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "energy/energy_internal.h"
#include "test_util.h"

namespace ecoinfer::energy {
namespace {

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST(EmissionsCsv, HasCodeCarbonColumns) {
  const auto& cols = emissions_csv_columns();
  for (const char* c : {"timestamp", "duration", "emissions", "energy_consumed", "cpu_power", "ram_power",
                        "cpu_energy", "ram_energy", "country_iso_code", "region", "cloud_provider", "cloud_region",
                        "cpu_model", "cpu_count", "tracking_mode", "emissions_rate", "gpu_energy", "pue"}) {
    EXPECT_NE(std::find(cols.begin(), cols.end(), c), cols.end()) << c;
  }
  EXPECT_EQ(cols.front(), "timestamp");
  EXPECT_EQ(cols.back(), "measurement_method");
}

TEST(EmissionsCsv, AppendsRowsUnderOneHeader) {
  const auto path = testing::temp_dir("emissions_csv") / "emissions.csv";
  EmissionsRow row;
  row.timestamp = "2024-05-01T10:00:00";
  row.run_id = "r1";
  row.duration_s = 2;
  row.emissions_kg = 1e-6;
  row.cpu_model = "Xeon, the \"fast\" one";
  row.measurement_method = "estimated:cpu-time";
  auto ci = lookup_carbon_intensity("aws:eu-west-3");
  ASSERT_TRUE(ci);
  set_emissions_location(row, *ci);
  ASSERT_TRUE(append_emissions_csv(path.string(), row).is_ok());
  row.run_id = "r2";
  ASSERT_TRUE(append_emissions_csv(path.string(), row).is_ok());
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("timestamp,project_name,run_id,", 0), 0u);
  EXPECT_NE(lines[1].find(",r1,"), std::string::npos);
  EXPECT_NE(lines[2].find(",r2,"), std::string::npos);
  EXPECT_NE(lines[1].find(",aws,eu-west-3,"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"Xeon, the \"\"fast\"\" one\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("5e-07"), std::string::npos) << "emissions_rate kg/s: " << lines[1];
  EXPECT_NE(lines[1].find(",Y,"), std::string::npos) << "on_cloud";
  EXPECT_EQ(lines[1].substr(lines[1].rfind(',') + 1), "estimated:cpu-time");
}

TEST(EmissionsCsv, CountryRowFillsIsoCode) {
  EmissionsRow row;
  auto ci = lookup_carbon_intensity("FR");
  ASSERT_TRUE(ci);
  set_emissions_location(row, *ci);
  EXPECT_EQ(row.country_iso_code, "FR");
  EXPECT_EQ(row.country_name, "France");
  EXPECT_TRUE(row.cloud_provider.empty());
}

TEST(EmissionsCsv, RefusesAFileWithOtherColumns) {
  const auto path = testing::temp_dir("emissions_csv_other") / "other.csv";
  std::ofstream(path) << "a,b,c\n1,2,3\n";
  const Status s = append_emissions_csv(path.string(), EmissionsRow{});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(lines_of(path).size(), 2u);
}

}  // namespace
}  // namespace ecoinfer::energy
