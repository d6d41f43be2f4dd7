// Vectorizable float math shared by the elementwise kernels (unary.cc,
// fused_elementwise.cc): one definition, so fused and unfused graphs give the
// same bits. std::exp/tanh/erf become libm calls that stop GCC vectorizing
// without -ffast-math; these are branch-free polynomials it vectorizes.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ecoinfer::kernels {

// expf with Cephes' range reduction and polynomial (about 1 ulp on the
// normal range). 2^n is applied in two halves so n = 128 and the subnormal
// range do not need branches.
[[gnu::always_inline]] inline float fast_exp(float x) {
  float xc = x != x ? 0.0f : x;
  xc = std::min(std::max(xc, -104.0f), 88.7228f);
  // Round to nearest with the 1.5 * 2^23 trick: std::floor/nearbyint become
  // libm calls (no vectorization) unless -fno-trapping-math.
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1;
  const int32_t n2 = ni - n1;
  y = y * std::bit_cast<float>((n1 + 127) << 23);
  y = y * std::bit_cast<float>((n2 + 127) << 23);
  y = x > 88.7228f ? std::numeric_limits<float>::infinity() : y;
  return x != x ? x : y;
}

// tanh: Cephes' odd polynomial near 0 (where 1 - 2/(e^2x + 1) cancels),
// the exp form elsewhere.
[[gnu::always_inline]] inline float fast_tanh(float x) {
  const float a = std::fabs(x);
  const float e = fast_exp(2.0f * std::min(a, 9.0f));
  const float big = 1.0f - 2.0f / (e + 1.0f);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * a + a;
  float r = a < 0.625f ? small : big;
  r = a > 9.0f ? 1.0f : r;  // tanh rounds to 1 there; exact at infinity
  return x != x ? x : std::copysign(r, x);
}

// erf: Eigen's rational approximation on [-4, 4] (erf is +-1 in float
// beyond).
[[gnu::always_inline]] inline float fast_erf(float x_in) {
  const float x = std::min(std::max(x_in, -4.0f), 4.0f);
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  p = p * x;
  float q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  const float r = p / q;
  return x_in != x_in ? x_in : r;
}

}  // namespace ecoinfer::kernels
