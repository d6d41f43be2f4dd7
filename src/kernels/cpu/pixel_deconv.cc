#include "kernels/cpu/pixel_deconv.h"

#include "kernels/cpu/implementation_log.h"

#include <algorithm>
#include <unordered_map>

#include "kernels/cpu/onednn_context.h"

namespace ecoinfer::kernels::onednn {
namespace {

using dnnl::memory;
using Dims = memory::dims;

constexpr int64_t kParallelElements = 1 << 15;  // below this, threads cost more than they save
constexpr int64_t kMaxLastTaps = 16;            // kernel size on the last axis this path takes

size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }

// out[i * s + k] = rows[k][i] for i < n, k < s: the taps of one output row.
void interleave(const float* const* rows, int64_t s, int64_t n, float* out) {
  if (s == 1) {
    std::copy_n(rows[0], n, out);
  } else if (s == 2) {
    const float* r0 = rows[0];
    const float* r1 = rows[1];
    for (int64_t i = 0; i < n; ++i) {
      out[2 * i] = r0[i];
      out[2 * i + 1] = r1[i];
    }
  } else {
    for (int64_t k = 0; k < s; ++k)
      for (int64_t i = 0; i < n; ++i) out[i * s + k] = rows[k][i];
  }
}

}  // namespace

bool pixel_deconv_applies(const Shape& w, int64_t group, const std::vector<int64_t>& strides,
                          const std::vector<int64_t>& dilations, const std::vector<int64_t>& pad_begin,
                          const std::vector<int64_t>& pad_end, const FusedPostOps& post_ops) {
  if (group != 1 || !post_ops.binary_inputs().empty() || w.size() < 3 || w.size() > 5) return false;
  if (w.back() > kMaxLastTaps) return false;
  for (size_t i = 0; i + 2 < w.size(); ++i) {
    if (w[i + 2] != strides[i] || dilations[i] != 0 || pad_begin[i] != 0 || pad_end[i] != 0) return false;
  }
  return true;
}

Expected<PixelDeconvPlan> make_pixel_deconv(const Shape& x, const Shape& w, bool has_bias,
                                            const FusedPostOps& post_ops) {
  PixelDeconvPlan plan;
  const size_t spatial = x.size() - 2;
  int64_t taps = 1, pixels = 1;
  for (size_t i = 0; i < spatial; ++i) {
    plan.in[3 - spatial + i] = x[i + 2];
    plan.stride[3 - spatial + i] = w[i + 2];
    taps *= w[i + 2];
    pixels *= x[i + 2];
  }
  plan.batch = x[0];
  plan.out_channels = w[1];
  const int64_t c = x[1], m = w[1] * taps;
  // A[(o, k), c] = W[c, (o, k)]: the weights read in place, transposed.
  plan.a = memory::desc({1, m, c}, memory::data_type::f32, Dims{m * c, 1, m});
  plan.b = plain_f32({plan.batch, c, pixels});
  plan.z = plain_f32({plan.batch, m, pixels});
  PostOpChain chain(3);
  if (has_bias) {
    // Per-row bias: a binary post-op (oneDNN's brgemm matmul takes a bias per column only).
    plan.bias = plain_f32({1, m, 1});
    plan.bias_position = chain.binary(dnnl::algorithm::binary_add, plan.bias);
  }
  post_ops.append_to(chain, {});
  ECOINFER_ASSIGN_OR_RETURN(dnnl::post_ops ops, chain.finish());
  plan.constant_args = chain.constant_args();
  dnnl::primitive_attr attr = scratchpad_attr();
  attr.set_post_ops(ops);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(plan.a, plan.b, plan.z), attr, cpu_engine());
  note_implementation("matmul", pd.impl_info_str());
  plan.scratchpad = pd.scratchpad_desc();
  plan.matmul = dnnl::matmul(pd);
  plan.workspace_bytes = round_up(plan.z.get_size()) + (has_bias ? round_up(plan.bias.get_size()) : 0);
  return plan;
}

void run_pixel_deconv(const PixelDeconvPlan& plan, const float* x, const float* w, const float* b, float* y) {
  char* workspace = thread_workspace(plan.workspace_bytes);
  float* z = reinterpret_cast<float*>(workspace);
  const auto& engine = cpu_engine();
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(plan.a, engine, const_cast<float*>(w))},
                                          {DNNL_ARG_WEIGHTS, memory(plan.b, engine, const_cast<float*>(x))},
                                          {DNNL_ARG_DST, memory(plan.z, engine, z)},
                                          {DNNL_ARG_SCRATCHPAD, thread_scratchpad(plan.scratchpad)}};
  const int64_t o_count = plan.out_channels, s0 = plan.stride[0], s1 = plan.stride[1], s2 = plan.stride[2];
  const int64_t taps = s0 * s1 * s2;
  if (b != nullptr) {
    // One bias value per (channel, tap) row of Z.
    float* bias = reinterpret_cast<float*>(workspace + round_up(plan.z.get_size()));
    for (int64_t o = 0; o < o_count; ++o) std::fill_n(bias + o * taps, taps, b[o]);
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(plan.bias_position) | DNNL_ARG_SRC_1, memory(plan.bias, engine, bias));
  }
  args.insert(plan.constant_args.begin(), plan.constant_args.end());
  plan.matmul.execute(thread_stream(), args);

  // Z[n][o][k0][k1][k2][i0][i1][i2] -> Y[n][o][i0*s0+k0][i1*s1+k1][i2*s2+k2], one output row at a time.
  const int64_t in0 = plan.in[0], in1 = plan.in[1], in2 = plan.in[2];
  const int64_t out0 = in0 * s0, out1 = in1 * s1, out2 = in2 * s2, pixels = in0 * in1 * in2;
  const int64_t rows = plan.batch * o_count * out0 * out1;
#pragma omp parallel for if (rows * out2 > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t y1 = r % out1, y0 = r / out1 % out0, no = r / (out1 * out0);  // no = n * O + o
    const int64_t i0 = y0 / s0, k0 = y0 % s0, i1 = y1 / s1, k1 = y1 % s1;
    const float* tap_rows[kMaxLastTaps];
    for (int64_t k2 = 0; k2 < s2; ++k2) {
      const int64_t tap = (k0 * s1 + k1) * s2 + k2;
      tap_rows[k2] = z + (no * taps + tap) * pixels + (i0 * in1 + i1) * in2;
    }
    interleave(tap_rows, s2, in2, y + r * out2);
  }
}

}  // namespace ecoinfer::kernels::onednn
