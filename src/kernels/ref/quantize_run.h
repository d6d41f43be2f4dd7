// QuantizeLinear's inner loop over one contiguous run with one scale and
// zero point, shared by the QuantizeLinear kernels (quantize.cc) and the
// fused kernels that write uint8/int8 themselves (the attention softmax in
// normalize.cc): y = saturate(round_half_to_even(x / scale) + zero), NaN to
// the lowest value, the same bits as quantize_value in quantize_math.h.
//
//   quantize_run(x, y, n, scale, zero);   // Q = uint8_t or int8_t
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ecoinfer::kernels {

// saturate_round's arithmetic, written so that the loop vectorizes: x /
// scale rounded half to even, plus the zero point, clamped (NaN to the
// lowest value).
template <class Q>
inline void quantize_run_scalar(const float* x, Q* y, int64_t n, float scale, int32_t zero) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  const float z = static_cast<float>(zero);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float r = std::nearbyint(x[i] / scale) + z;
    r = r > lo ? r : lo;
    r = r < hi ? r : hi;
    y[i] = static_cast<Q>(static_cast<int32_t>(r));
  }
}

#if defined(__AVX512F__)
// The same with AVX-512, about twice as fast (it is most of a quantized
// transformer's glue: 42 QuantizeLinear nodes in DistilBERT). GCC turns the
// loop above's selects and narrowing into mask-register shuffles; here the
// clamp is vmaxps/vminps and the narrowing one saturating vpmov. The
// quotient x / scale is computed without vdivps and still correctly rounded
// (Markstein: q = x * (1/scale), r = x - q * scale exactly by FMA, q + r *
// (1/scale) rounds to the quotient), except where q is beyond 2^23, which
// saturates anyway (and where r would be inf - inf for an infinite x).
template <class Q>
inline void quantize_run(const float* x, Q* y, int64_t n, float scale, int32_t zero) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  const __m512 vs = _mm512_set1_ps(scale), vinv = _mm512_set1_ps(1.0f / scale);
  const __m512 vz = _mm512_set1_ps(static_cast<float>(zero));
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi), big = _mm512_set1_ps(8388608.0f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512 q = _mm512_mul_ps(v, vinv);
    const __m512 r = _mm512_fnmadd_ps(q, vs, v);
    const __mmask16 small = _mm512_cmp_ps_mask(_mm512_abs_ps(q), big, _CMP_LT_OQ);
    const __m512 quotient = _mm512_mask_fmadd_ps(r, small, vinv, q);  // q + r / scale where small, else q
    __m512 t = _mm512_add_ps(_mm512_roundscale_ps(_mm512_mask_mov_ps(q, small, quotient), _MM_FROUND_TO_NEAREST_INT |
                                                                                             _MM_FROUND_NO_EXC),
                             vz);
    t = _mm512_min_ps(_mm512_max_ps(t, vlo), vhi);  // vmaxps gives its second operand (lo) for NaN
    const __m512i ints = _mm512_cvtps_epi32(t);
    if constexpr (std::is_same_v<Q, uint8_t>) _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm512_cvtusepi32_epi8(ints));
    else _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm512_cvtsepi32_epi8(ints));
  }
  quantize_run_scalar(x + i, y + i, n - i, scale, zero);
}
#else
template <class Q>
inline void quantize_run(const float* x, Q* y, int64_t n, float scale, int32_t zero) {
  quantize_run_scalar(x, y, n, scale, zero);
}
#endif

}  // namespace ecoinfer::kernels
