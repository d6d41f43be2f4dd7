#include "kernels/cpu/pixel_deconv.h"

#include "kernels/cpu/implementation_log.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

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
                          const std::vector<int64_t>& pad_end, const FusedPostOps& post_ops, bool int8) {
  if (group != 1 || (!int8 && !post_ops.binary_inputs().empty()) || w.size() < 3 || w.size() > 5) return false;
  if (w.back() > kMaxLastTaps) return false;
  for (size_t i = 0; i + 2 < w.size(); ++i) {
    if (w[i + 2] != strides[i] || dilations[i] != 0 || pad_begin[i] != 0 || pad_end[i] != 0) return false;
  }
  return true;
}

namespace {

// Fills the plan's spatial geometry; returns {taps, pixels}.
std::pair<int64_t, int64_t> set_geometry(PixelDeconvPlan& plan, const Shape& x, const Shape& w) {
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
  return {taps, pixels};
}

}  // namespace

Expected<PixelDeconvPlan> make_pixel_deconv(const Shape& x, const Shape& w, bool has_bias,
                                            const FusedPostOps& post_ops) {
  PixelDeconvPlan plan;
  const auto [taps, pixels] = set_geometry(plan, x, w);
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

// int8: oneDNN's int8 matmul takes the uint8 activation as its source and
// int8 weights, so the product is transposed against the float one:
//   Z[p, (k, o)] = sum_c X[p, c] * W[c, (o, k)]
// with X channels-last (read in place when it is, transposed once when it
// is plain). Output scales s_x * s_w[o]; the bias and per-channel operands
// repeat per tap.
Expected<PixelDeconvPlan> make_pixel_deconv_int8(const Shape& x, const Tensor& w, bool has_bias,
                                                 const FusedPostOps& post_ops, const std::vector<int64_t>& operand_sizes,
                                                 const PixelDeconvQuant& quant, bool src_channels_last,
                                                 bool dst_channels_last) {
  using dt = memory::data_type;
  PixelDeconvPlan plan;
  const auto [taps, pixels] = set_geometry(plan, x, w.shape());
  plan.int8 = true;
  // With one channel the two layouts are the same bytes.
  plan.src_channels_last = src_channels_last || x[1] == 1;
  plan.dst_channels_last = dst_channels_last || w.dim(1) == 1;
  plan.input_zero = quant.input_zero;
  const int64_t c = x[1], o_count = plan.out_channels, m = o_count * taps;
  plan.weights.resize(static_cast<size_t>(c * m));
  const int8_t* wp = w.data<int8_t>();
  for (int64_t ci = 0; ci < c; ++ci)
    for (int64_t o = 0; o < o_count; ++o)
      for (int64_t k = 0; k < taps; ++k) plan.weights[static_cast<size_t>(ci * m + k * o_count + o)] = wp[(ci * o_count + o) * taps + k];
  plan.out_element = quant.output == dt::f32 ? 4 : 1;
  plan.a = memory::desc({pixels, c}, quant.input, Dims{c, 1});
  plan.b = memory::desc({c, m}, dt::s8, Dims{m, 1});
  plan.z = memory::desc({pixels, m}, quant.output, Dims{m, 1});
  if (has_bias) plan.bias = memory::desc({1, m}, dt::s32, Dims{m, 1});
  for (int64_t size : operand_sizes) {
    if (size != 1 && size != o_count) {
      return unimplemented(fmt::format("int8 ConvTranspose: a fused operand of {} values (1 or one per output channel "
                                       "are supported)", size));
    }
    plan.operands.push_back(plain_f32({1, size == 1 ? 1 : m}));
  }
  PostOpChain chain(2);
  plan.operand_positions = post_ops.append_to(chain, plan.operands);
  if (quant.output != dt::f32) {
    chain.eltwise(dnnl::algorithm::eltwise_linear, 1.0f / quant.output_scale, static_cast<float>(quant.output_zero));
  }
  ECOINFER_ASSIGN_OR_RETURN(dnnl::post_ops ops, chain.finish());
  plan.constant_args = chain.constant_args();
  dnnl::primitive_attr attr = scratchpad_attr();
  attr.set_post_ops(ops);
  std::vector<float> scales;
  if (quant.weight_scales.size() == 1) {
    scales.push_back(quant.input_scale * quant.weight_scales[0]);
  } else {
    for (int64_t col = 0; col < m; ++col) scales.push_back(quant.input_scale * quant.weight_scales[static_cast<size_t>(col % o_count)]);
  }
  attr.set_output_scales(scales.size() == 1 ? 0 : 1 << 1, scales);
  if (quant.input_zero != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(plan.a, plan.b, plan.bias, plan.z), attr, cpu_engine());
  note_implementation("matmul int8", pd.impl_info_str());
  plan.scratchpad = pd.scratchpad_desc();
  plan.matmul = dnnl::matmul(pd);
  plan.workspace_bytes = round_up(plan.z.get_size()) + (has_bias ? round_up(plan.bias.get_size()) : 0);
  for (const memory::desc& d : plan.operands) plan.workspace_bytes += round_up(d.get_size());
  if (!plan.src_channels_last) plan.workspace_bytes += round_up(plan.a.get_size());
  return plan;
}

namespace {

// One image: Z[(i0, i1, i2)][(k0, k1, k2, o)] to Y at output pixel
// (i0*s0+k0, i1*s1+k1, i2*s2+k2), channel o. Channels-last: per output row
// and input pixel, one run of s2 * O contiguous values; plain: a gather.
template <typename T>
void scatter_int8_product(const PixelDeconvPlan& plan, const T* z, T* y) {
  const int64_t s0 = plan.stride[0], s1 = plan.stride[1], s2 = plan.stride[2], o_count = plan.out_channels;
  const int64_t in1 = plan.in[1], in2 = plan.in[2], m = o_count * s0 * s1 * s2;
  const int64_t out0 = plan.in[0] * s0, out1 = in1 * s1, out2 = in2 * s2;
  if (plan.dst_channels_last) {
    const int64_t rows = out0 * out1, run = s2 * o_count;
#pragma omp parallel for if (rows * out2 * o_count > kParallelElements)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t y1 = r % out1, y0 = r / out1, i0 = y0 / s0, k0 = y0 % s0, i1 = y1 / s1, k1 = y1 % s1;
      const T* from = z + (i0 * in1 + i1) * in2 * m + (k0 * s1 + k1) * run;
      T* to = y + r * out2 * o_count;
      for (int64_t i2 = 0; i2 < in2; ++i2) std::memcpy(to + i2 * run, from + i2 * m, static_cast<size_t>(run) * sizeof(T));
    }
    return;
  }
  const int64_t rows = o_count * out0 * out1;
#pragma omp parallel for if (rows * out2 > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t y1 = r % out1, y0 = r / out1 % out0, o = r / (out1 * out0);
    const int64_t i0 = y0 / s0, k0 = y0 % s0, i1 = y1 / s1, k1 = y1 % s1;
    const T* from = z + (i0 * in1 + i1) * in2 * m + (k0 * s1 + k1) * s2 * o_count + o;
    T* to = y + r * out2;
    for (int64_t i2 = 0; i2 < in2; ++i2)
      for (int64_t k2 = 0; k2 < s2; ++k2) to[i2 * s2 + k2] = from[i2 * m + k2 * o_count];
  }
}

// x[c][p] -> out[p][c] for one image of bytes, in tiles that stay in L1.
void bytes_to_channels_last(const uint8_t* x, int64_t channels, int64_t pixels, uint8_t* out) {
  constexpr int64_t kTile = 64;
#pragma omp parallel for if (channels * pixels > kParallelElements)
  for (int64_t p0 = 0; p0 < pixels; p0 += kTile) {
    const int64_t p1 = std::min(pixels, p0 + kTile);
    for (int64_t c0 = 0; c0 < channels; c0 += kTile) {
      const int64_t c1 = std::min(channels, c0 + kTile);
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t c = c0; c < c1; ++c) out[p * channels + c] = x[c * pixels + p];
    }
  }
}

// `values` (one per output channel) tiled once per tap into `out`: column
// (k, o) reads values[o].
template <typename T>
T* tile_per_tap(const T* values, int64_t count, int64_t taps, char* out) {
  T* o = reinterpret_cast<T*>(out);
  for (int64_t k = 0; k < taps; ++k) std::copy_n(values, count, o + k * count);
  return o;
}

}  // namespace

void run_pixel_deconv_int8(const PixelDeconvPlan& plan, const void* x, const int32_t* b,
                           const std::vector<const float*>& operands, void* y) {
  char* workspace = thread_workspace(plan.workspace_bytes);
  char* z = workspace;
  size_t offset = round_up(plan.z.get_size());
  const auto& engine = cpu_engine();
  const int64_t taps = plan.stride[0] * plan.stride[1] * plan.stride[2];
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_WEIGHTS, memory(plan.b, engine, const_cast<int8_t*>(plan.weights.data()))},
      {DNNL_ARG_DST, memory(plan.z, engine, z)},
      {DNNL_ARG_SCRATCHPAD, thread_scratchpad(plan.scratchpad)}};
  if (b != nullptr) {
    args.emplace(DNNL_ARG_BIAS, memory(plan.bias, engine, tile_per_tap(b, plan.out_channels, taps, workspace + offset)));
    offset += round_up(plan.bias.get_size());
  }
  for (size_t i = 0; i < operands.size(); ++i) {
    const bool scalar = plan.operands[i].get_size() == sizeof(float);
    float* tiled = tile_per_tap(operands[i], scalar ? 1 : plan.out_channels, scalar ? 1 : taps, workspace + offset);
    offset += round_up(plan.operands[i].get_size());
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(plan.operand_positions[i]) | DNNL_ARG_SRC_1,
                 memory(plan.operands[i], engine, tiled));
  }
  args.insert(plan.constant_args.begin(), plan.constant_args.end());
  if (plan.input_zero != 0) {
    args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                 memory({{1}, memory::data_type::s32, memory::format_tag::x}, engine, const_cast<int32_t*>(&plan.input_zero)));
  }
  const size_t x_image = static_cast<size_t>(plan.a.get_size());
  const size_t y_image = static_cast<size_t>(plan.z.get_size());
  const int64_t pixels = plan.in[0] * plan.in[1] * plan.in[2], channels = plan.a.dims()[1];
  // oneDNN's brgemm int8 matmul takes no transposed source (it falls back
  // to its gemm kernel, 2-4x slower here): plain X goes channels-last first.
  auto* staged = reinterpret_cast<uint8_t*>(workspace + offset);
  for (int64_t n = 0; n < plan.batch; ++n) {
    const auto* x_n = static_cast<const uint8_t*>(x) + n * x_image;
    if (!plan.src_channels_last) bytes_to_channels_last(x_n, channels, pixels, staged);
    args[DNNL_ARG_SRC] = memory(plan.a, engine, plan.src_channels_last ? const_cast<uint8_t*>(x_n) : staged);
    plan.matmul.execute(thread_stream(), args);
    char* y_n = static_cast<char*>(y) + n * y_image;
    if (plan.out_element == 1) scatter_int8_product(plan, reinterpret_cast<const uint8_t*>(z), reinterpret_cast<uint8_t*>(y_n));
    else scatter_int8_product(plan, reinterpret_cast<const float*>(z), reinterpret_cast<float*>(y_n));
  }
}

}  // namespace ecoinfer::kernels::onednn
