// --traffic N/day: what a measured energy per inference means at that load.
#include <charconv>

#include <fmt/format.h>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {

Expected<double> parse_traffic(std::string_view text) {
  const auto slash = text.find('/');
  const auto bad = [&] {
    return invalid_argument(fmt::format("--traffic '{}' is not N/day, N/hour or N/s (e.g. 1e6/day)", text));
  };
  if (slash == std::string_view::npos) return bad();
  const std::string number(text.substr(0, slash));
  const std::string_view unit = text.substr(slash + 1);
  double n = 0;
  const auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
  if (ec != std::errc() || p != number.data() + number.size() || n < 0) return bad();
  if (unit == "day" || unit == "d") return n;
  if (unit == "hour" || unit == "h") return n * 24;
  if (unit == "s" || unit == "sec") return n * 86400;
  return bad();
}

TrafficProjection project_traffic(double joules_per_inference, double inferences_per_day, const CarbonIntensity& ci,
                                  double pue, std::optional<double> price_per_kwh) {
  TrafficProjection p;
  p.inferences_per_day = inferences_per_day;
  p.kwh_per_day = joules_per_inference * inferences_per_day / 3.6e6 * pue;
  p.kwh_per_month = p.kwh_per_day * kDaysPerMonth;
  p.kg_co2e_per_day = p.kwh_per_day * ci.g_per_kwh / 1e3;
  p.kg_co2e_per_month = p.kg_co2e_per_day * kDaysPerMonth;
  if (price_per_kwh) {
    p.cost_per_day = p.kwh_per_day * *price_per_kwh;
    p.cost_per_month = p.kwh_per_month * *price_per_kwh;
  }
  return p;
}

}  // namespace ecoinfer::energy
