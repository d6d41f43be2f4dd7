// Software Carbon Intensity, the Green Software Foundation's form:
// SCI = (E x I + M) per R, with M = TE x (TiR / EL) x (RR / ToR).
#include "energy/energy_internal.h"

namespace ecoinfer::energy {

namespace {
constexpr double kSecondsPerYear = 365.25 * 24 * 3600;
}

SciResult compute_sci(const SciInputs& in) {
  SciResult r;
  const double kwh = in.joules_per_inference / 3.6e6 * in.pue;
  r.operational_g = kwh * in.g_per_kwh;
  if (in.embodied_gco2e > 0 && in.hardware_lifetime_years > 0) {
    const double lifetime_s = in.hardware_lifetime_years * kSecondsPerYear;
    r.embodied_g = in.embodied_gco2e * (in.seconds_per_inference / lifetime_s) * in.resource_share;
  }
  r.sci_g = r.operational_g + r.embodied_g;
  return r;
}

}  // namespace ecoinfer::energy
