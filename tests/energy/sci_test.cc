// SCI in the Green Software Foundation's form, attribution over inferences,
// and the traffic projection.
#include <gtest/gtest.h>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {
namespace {

TEST(Sci, OperationalOnly) {
  // 36 J = 1e-5 kWh; x PUE 1.5 x 400 g/kWh = 6 mg.
  const SciResult r = compute_sci({.joules_per_inference = 36, .seconds_per_inference = 0.01, .g_per_kwh = 400,
                                   .pue = 1.5});
  EXPECT_NEAR(r.operational_g, 6e-3, 1e-12);
  EXPECT_DOUBLE_EQ(r.embodied_g, 0);
  EXPECT_DOUBLE_EQ(r.sci_g, r.operational_g);
}

TEST(Sci, EmbodiedShareOfLifetimeAndResources) {
  // M = TE x (TiR / EL) x (RR / ToR): 1 t CO2e over 4 years, 1 s, half the machine.
  const double lifetime_s = 4 * 365.25 * 24 * 3600;
  const SciResult r = compute_sci({.joules_per_inference = 0, .seconds_per_inference = 1, .g_per_kwh = 400, .pue = 1,
                                   .embodied_gco2e = 1e6, .hardware_lifetime_years = 4, .resource_share = 0.5});
  EXPECT_NEAR(r.embodied_g, 1e6 * (1 / lifetime_s) * 0.5, 1e-15);
  EXPECT_DOUBLE_EQ(r.sci_g, r.embodied_g);
}

TEST(Attribution, BatchEnergySplitsEvenly) {
  EnergyReading batch{.joules = 8, .cpu_joules = 6, .ram_joules = 2, .gpu_joules = 0, .seconds = 4,
                      .cpu_seconds = 2, .method = "estimated:cpu-time"};
  const EnergyReading one = per_inference(batch, 4);
  EXPECT_DOUBLE_EQ(one.joules, 2);
  EXPECT_DOUBLE_EQ(one.cpu_joules, 1.5);
  EXPECT_DOUBLE_EQ(one.ram_joules, 0.5);
  EXPECT_DOUBLE_EQ(one.seconds, 1);
  EXPECT_EQ(one.method, "estimated:cpu-time");  // the method travels with the figure
  EXPECT_DOUBLE_EQ(per_inference(batch, 0).joules, 8);
}

TEST(Projection, ParsesTraffic) {
  EXPECT_DOUBLE_EQ(*parse_traffic("1000000/day"), 1e6);
  EXPECT_DOUBLE_EQ(*parse_traffic("1e6/day"), 1e6);
  EXPECT_DOUBLE_EQ(*parse_traffic("100/hour"), 2400);
  EXPECT_DOUBLE_EQ(*parse_traffic("2/s"), 172800);
  EXPECT_FALSE(parse_traffic("1000"));
  EXPECT_FALSE(parse_traffic("lots/day"));
  EXPECT_FALSE(parse_traffic("10/week"));
}

TEST(Projection, DayAndMonth) {
  CarbonIntensity ci;
  ci.g_per_kwh = 250;
  // 3.6 J x 1e6/day = 1 kWh/day; x PUE 1.2 = 1.2 kWh; 0.3 kg CO2e; 0.24 at 0.2/kWh.
  const TrafficProjection p = project_traffic(3.6, 1e6, ci, 1.2, 0.2);
  EXPECT_NEAR(p.kwh_per_day, 1.2, 1e-12);
  EXPECT_NEAR(p.kwh_per_month, 1.2 * kDaysPerMonth, 1e-9);
  EXPECT_NEAR(p.kg_co2e_per_day, 0.3, 1e-12);
  EXPECT_NEAR(p.kg_co2e_per_month, 0.3 * kDaysPerMonth, 1e-9);
  ASSERT_TRUE(p.cost_per_day);
  EXPECT_NEAR(*p.cost_per_day, 0.24, 1e-12);
  EXPECT_FALSE(project_traffic(3.6, 1e6, ci, 1.0, std::nullopt).cost_per_day);
}

}  // namespace
}  // namespace ecoinfer::energy
