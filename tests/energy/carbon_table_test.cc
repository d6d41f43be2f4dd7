// The carbon intensity table: the embedded copy matches data/, every row has
// a source and a year, lookups by country and cloud region, clear errors.
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "energy/energy_internal.h"
#include "test_util.h"

namespace ecoinfer::energy {
namespace {

TEST(CarbonTable, EmbeddedCopyMatchesTheDataFile) {
  std::ifstream in(testing::source_dir() / "data" / "carbon_intensity.csv");
  ASSERT_TRUE(in);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(std::string(embedded_carbon_csv()), file)
      << "data/carbon_intensity.csv changed: run data/embed_carbon_csv.sh and rebuild";
}

TEST(CarbonTable, EveryRowHasSourceYearAndSaneValue) {
  auto rows = parse_carbon_csv(embedded_carbon_csv());
  ASSERT_TRUE(rows) << rows.status().message();
  ASSERT_EQ(rows->size(), carbon_table().size());
  ASSERT_GT(rows->size(), 100u);
  std::set<std::string> keys;
  const std::set<std::string> kinds = {"country", "aws", "gcp", "azure", "world"};
  for (const CarbonIntensity& ci : *rows) {
    const std::string key = ci.kind + ":" + ci.name;
    EXPECT_TRUE(kinds.count(ci.kind)) << key;
    EXPECT_TRUE(keys.insert(key).second) << "duplicate " << key;
    EXPECT_NE(ci.source.find("http"), std::string::npos) << key << " has no source URL";
    EXPECT_GE(ci.year, 2015) << key;
    EXPECT_LE(ci.year, 2030) << key;
    EXPECT_GE(ci.g_per_kwh, 0) << key;
    EXPECT_LT(ci.g_per_kwh, 1200) << key;
  }
  for (const char* kind : {"country", "aws", "gcp", "azure", "world"}) {
    EXPECT_TRUE(std::any_of(rows->begin(), rows->end(), [&](const auto& r) { return r.kind == kind; })) << kind;
  }
}

TEST(CarbonTable, ParserRejectsMalformedRows) {
  EXPECT_FALSE(parse_carbon_csv("kind,name\n"));
  EXPECT_FALSE(parse_carbon_csv("kind,name,location,gco2e_per_kwh,year,source\ncountry,FR,France,abc,2023,x\n"));
  auto quoted = parse_carbon_csv(
      "# comment\nkind,name,location,gco2e_per_kwh,year,source\ncountry,FR,France,56,2023,\"A, B \"\"C\"\"\"\n");
  ASSERT_TRUE(quoted) << quoted.status().message();
  EXPECT_EQ((*quoted)[0].source, "A, B \"C\"");
}

TEST(CarbonTable, LooksUpCountriesAndCloudRegions) {
  auto fr = lookup_carbon_intensity("FR");
  ASSERT_TRUE(fr) << fr.status().message();
  EXPECT_EQ(fr->kind, "country");
  EXPECT_DOUBLE_EQ(fr->g_per_kwh, 56);
  EXPECT_EQ(lookup_carbon_intensity("fr")->name, "FR");
  EXPECT_EQ(lookup_carbon_intensity("us-east-1")->kind, "aws");
  EXPECT_EQ(lookup_carbon_intensity("europe-west1")->kind, "gcp");
  EXPECT_EQ(lookup_carbon_intensity("westeurope")->kind, "azure");
  auto prefixed = lookup_carbon_intensity("aws:eu-west-3");
  ASSERT_TRUE(prefixed);
  EXPECT_EQ(prefixed->location, "Paris");
  EXPECT_FALSE(lookup_carbon_intensity("gcp:us-east-1"));  // an AWS name under another provider
}

TEST(CarbonTable, UnknownRegionListsCloseNames) {
  auto r = lookup_carbon_intensity("us-east-7");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  const std::string m = r.status().message();
  EXPECT_NE(m.find("unknown region 'us-east-7'"), std::string::npos) << m;
  EXPECT_NE(m.find("us-east-1"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << "one line";
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(CarbonTable, WorldAverageOnlyWhenNothingGivenAndLabelled) {
  auto world = resolve_carbon_intensity({});
  ASSERT_TRUE(world);
  EXPECT_TRUE(world->is_world_default);
  EXPECT_EQ(world->kind, "world");
  auto region = resolve_carbon_intensity({.region = "DE"});
  ASSERT_TRUE(region);
  EXPECT_FALSE(region->is_world_default);
  auto custom = resolve_carbon_intensity({.region = "", .g_per_kwh = 123.0});
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->kind, "user");
  EXPECT_DOUBLE_EQ(custom->g_per_kwh, 123.0);
  EXPECT_FALSE(resolve_carbon_intensity({.region = "", .g_per_kwh = -1.0}));
}

TEST(CarbonTable, GramsFromJoules) {
  CarbonIntensity ci;
  ci.g_per_kwh = 500;
  EXPECT_DOUBLE_EQ(grams_co2e(3.6e6, ci, 1.0), 500);  // 1 kWh
  EXPECT_DOUBLE_EQ(grams_co2e(3.6e6, ci, 1.2), 600);
}

}  // namespace
}  // namespace ecoinfer::energy
