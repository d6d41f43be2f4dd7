// Conv and ConvTranspose through oneDNN's convolution and deconvolution
// primitives, float32.
//
// Lifecycle (XNNPACK's): the factory reads the attributes and keeps the
// constant weights and bias; the first run of an input shape resolves the
// geometry (pads, output size), builds the primitive with format_tag::any
// for the weights so oneDNN picks its fastest blocked layout, and reorders
// the constant weights into that layout once (PackedWeights shares a packed
// copy between shapes that choose the same layout). Later runs of the shape
// only look the plan up and execute. Source and destination stay plain
// (NCHW); weights given at run time use their plain layout directly.
#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "kernels/cpu/onednn_context.h"
#include "kernels/cpu/primitive_cache.h"
#include "kernels/kernel.h"

namespace ecoinfer::kernels {
namespace {

using dnnl::memory;
using Dims = memory::dims;

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

struct ConvAttrs {
  AutoPad auto_pad = AutoPad::kNotSet;
  int64_t group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads, output_padding, output_shape;
};

// Spatial geometry of one input shape, in ONNX terms.
struct Geometry {
  Dims kernel, strides, dilations, pad_begin, pad_end, out, output_padding;
};

// What one input shape needs at run time.
struct ConvPlan {
  dnnl::primitive primitive;
  memory::desc src, weights, bias, dst, scratchpad;
  memory packed_weights;  // set when the weights are constant
  Shape out_shape;
};

int64_t at_or(const std::vector<int64_t>& v, size_t i, int64_t fallback) { return i < v.size() ? v[i] : fallback; }

class ConvKernel final : public Kernel {
 public:
  ConvKernel(const KernelInfo& info, ConvAttrs attrs, bool transposed)
      : who_(info.node().describe()), attrs_(std::move(attrs)), transposed_(transposed), has_bias_(info.has_input(2)) {
    if (const Tensor* w = info.constant_input(1); w && w->dtype() == DataType::kFloat32) const_weights_ = *w;
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* b = has_bias_ ? ctx.input(2) : nullptr;
    if (x == nullptr || w == nullptr) return invalid_argument(who_ + ": needs inputs X and W");
    if (x->dtype() != DataType::kFloat32 || w->dtype() != DataType::kFloat32 ||
        (b != nullptr && b->dtype() != DataType::kFloat32)) {
      return unimplemented(fmt::format("{}: only float32 is supported (X is {}, W is {})", who_,
                                       dtype_name(x->dtype()), dtype_name(w->dtype())));
    }
    ECOINFER_RETURN_IF_ERROR(validate(*x, *w, b));
    const onednn::ShapeKey key = onednn::shape_key({&x->shape(), &w->shape()});
    return onednn::guard(who_, [&]() -> Status {
      auto plan = cache_.get(key, [&]() { return make_plan(*x, *w); });
      if (!plan) return plan.status();
      return run(**plan, *x, *w, b, ctx);
    });
  }

 private:
  Status validate(const Tensor& x, const Tensor& w, const Tensor* b) const;
  Expected<Geometry> geometry(const Tensor& x, const Tensor& w) const;
  Expected<std::shared_ptr<const ConvPlan>> make_plan(const Tensor& x, const Tensor& w) const;
  memory::desc plain_weights_desc(const Shape& w) const;
  Status run(const ConvPlan& plan, const Tensor& x, const Tensor& w, const Tensor* b, KernelContext& ctx) const;
  Status shape_error(const std::string& what, const Tensor& x, const Tensor& w) const {
    return invalid_argument(fmt::format("{}: {} (X is {}, W is {})", who_, what, shape_to_string(x.shape()),
                                        shape_to_string(w.shape())));
  }

  std::string who_;
  ConvAttrs attrs_;
  bool transposed_;
  bool has_bias_;
  Tensor const_weights_;
  onednn::ShapeCache<ConvPlan> cache_;
  mutable onednn::PackedWeights packed_;  // touched only inside cache_.get's make()
};

Status ConvKernel::validate(const Tensor& x, const Tensor& w, const Tensor* b) const {
  const size_t rank = x.rank();
  if (rank < 3 || rank > 5) return shape_error("X must be 3-D, 4-D or 5-D (N x C x spatial)", x, w);
  if (w.rank() != rank) return shape_error("W must have the same rank as X", x, w);
  const int64_t g = attrs_.group;
  const int64_t channels = x.dim(1);
  int64_t out_channels = 0;
  if (!transposed_) {
    if (w.dim(1) * g != channels) {
      return shape_error(fmt::format("input has {} channels but weights expect {} (group {})", channels, w.dim(1) * g, g),
                         x, w);
    }
    if (w.dim(0) % g != 0) return shape_error(fmt::format("output channels are not divisible by group {}", g), x, w);
    out_channels = w.dim(0);
  } else {
    if (w.dim(0) != channels) {
      return shape_error(fmt::format("input has {} channels but weights expect {}", channels, w.dim(0)), x, w);
    }
    if (channels % g != 0) return shape_error(fmt::format("input channels are not divisible by group {}", g), x, w);
    out_channels = w.dim(1) * g;
  }
  if (b != nullptr && (b->rank() != 1 || b->dim(0) != out_channels)) {
    return invalid_argument(fmt::format("{}: bias B is {} but the output has {} channels", who_,
                                        shape_to_string(b->shape()), out_channels));
  }
  for (size_t i = 0; i < attrs_.kernel_shape.size() && i + 2 < rank; ++i) {
    if (attrs_.kernel_shape[i] != w.dim(i + 2)) return shape_error("kernel_shape does not match the weights", x, w);
  }
  return Status::ok();
}

Expected<Geometry> ConvKernel::geometry(const Tensor& x, const Tensor& w) const {
  const size_t n = x.rank() - 2;
  Geometry g;
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = x.dim(i + 2), k = w.dim(i + 2);
    const int64_t s = at_or(attrs_.strides, i, 1), d = at_or(attrs_.dilations, i, 1);
    if (s < 1 || d < 1) return shape_error("strides and dilations must be positive", x, w);
    const int64_t ek = (k - 1) * d + 1;
    int64_t pb = at_or(attrs_.pads, i, 0), pe = at_or(attrs_.pads, i + n, 0), out = 0;
    const int64_t op = transposed_ ? at_or(attrs_.output_padding, i, 0) : 0;
    if (!transposed_) {
      if (attrs_.auto_pad == AutoPad::kValid) pb = pe = 0;
      if (attrs_.auto_pad == AutoPad::kSameUpper || attrs_.auto_pad == AutoPad::kSameLower) {
        out = (in + s - 1) / s;
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in);
        pb = attrs_.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
        pe = total - pb;
      } else {
        if (in + pb + pe < ek) {
          return shape_error(fmt::format("kernel extent {} is larger than the padded input {} on spatial axis {}", ek,
                                         in + pb + pe, i),
                             x, w);
        }
        out = (in + pb + pe - ek) / s + 1;
      }
    } else {
      const int64_t full = s * (in - 1) + op + ek;
      const size_t os = attrs_.output_shape.size();
      const bool has_out = os == n || os == n + 2;
      if (has_out || attrs_.auto_pad == AutoPad::kSameUpper || attrs_.auto_pad == AutoPad::kSameLower) {
        out = has_out ? attrs_.output_shape[i + os - n] : in * s;
        const int64_t total = full - out;
        const bool upper = attrs_.auto_pad == AutoPad::kSameUpper;
        // Python-style floor division, as the spec's equations mean it.
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        pb = upper ? half : total - half;
        pe = upper ? total - half : half;
      } else {
        if (attrs_.auto_pad == AutoPad::kValid) pb = pe = 0;
        out = full - pb - pe;
      }
      if (pb < 0 || pe - op <= -s) {
        return unimplemented(fmt::format("{}: output_shape/output_padding needing padding {},{} on axis {} is not supported",
                                         who_, pb, pe - op, i));
      }
    }
    if (out <= 0) return shape_error(fmt::format("the output would be empty on spatial axis {}", i), x, w);
    g.kernel.push_back(k);
    g.strides.push_back(s);
    g.dilations.push_back(d - 1);  // oneDNN counts the gaps, ONNX the step
    g.pad_begin.push_back(pb);
    g.pad_end.push_back(transposed_ ? pe - op : pe);  // output_padding extends the end
    g.out.push_back(out);
  }
  return g;
}

// The weights as the model stores them, described in oneDNN's dims order:
// Conv {O, I, k...} or {G, O/G, I/G, k...}; ConvTranspose is stored
// {I, O/G, k...}, so its descriptor uses strides to read it in place.
memory::desc ConvKernel::plain_weights_desc(const Shape& w) const {
  const int64_t g = attrs_.group;
  Dims spatial(w.begin() + 2, w.end());
  int64_t k = 1;
  for (int64_t v : spatial) k *= v;
  Dims spatial_strides = onednn::dense_strides(spatial);
  Dims dims, strides;
  if (!transposed_) {
    if (g > 1) dims = {g, w[0] / g, w[1]};
    else dims = {w[0], w[1]};
    dims.insert(dims.end(), spatial.begin(), spatial.end());
    return onednn::plain_f32(dims);
  }
  const int64_t in_per_group = w[0] / g, out_per_group = w[1];
  if (g > 1) {
    dims = {g, out_per_group, in_per_group};
    strides = {in_per_group * out_per_group * k, k, out_per_group * k};
  } else {
    dims = {out_per_group, in_per_group};
    strides = {k, out_per_group * k};
  }
  dims.insert(dims.end(), spatial.begin(), spatial.end());
  strides.insert(strides.end(), spatial_strides.begin(), spatial_strides.end());
  return memory::desc(dims, memory::data_type::f32, strides);
}

Expected<std::shared_ptr<const ConvPlan>> ConvKernel::make_plan(const Tensor& x, const Tensor& w) const {
  ECOINFER_ASSIGN_OR_RETURN(Geometry geo, geometry(x, w));
  const int64_t out_channels = transposed_ ? w.dim(1) * attrs_.group : w.dim(0);
  auto plan = std::make_shared<ConvPlan>();
  plan->out_shape = {x.dim(0), out_channels};
  plan->out_shape.insert(plan->out_shape.end(), geo.out.begin(), geo.out.end());

  const memory::desc src = onednn::plain_f32(onednn::to_dims(x.shape()));
  const memory::desc dst = onednn::plain_f32(onednn::to_dims(plan->out_shape));
  const memory::desc plain_w = plain_weights_desc(w.shape());
  const bool constant_w = const_weights_.defined();
  const memory::desc want_w = constant_w ? memory::desc(plain_w.dims(), memory::data_type::f32, memory::format_tag::any)
                                         : plain_w;
  const memory::desc bias = has_bias_ ? onednn::plain_f32({out_channels}) : memory::desc();
  const dnnl::primitive_attr attr = onednn::scratchpad_attr();
  const auto& engine = onednn::cpu_engine();
  const auto prop = dnnl::prop_kind::forward_inference;

  memory::desc chosen_w;
  if (!transposed_) {
    dnnl::convolution_forward::desc d(prop, dnnl::algorithm::convolution_direct, src, want_w, bias, dst, geo.strides,
                                      geo.dilations, geo.pad_begin, geo.pad_end);
    dnnl::convolution_forward::primitive_desc pd(d, attr, engine);
    chosen_w = pd.weights_desc();
    plan->scratchpad = pd.scratchpad_desc();
    plan->primitive = dnnl::convolution_forward(pd);
  } else {
    dnnl::deconvolution_forward::desc d(prop, dnnl::algorithm::deconvolution_direct, src, want_w, bias, dst,
                                        geo.strides, geo.dilations, geo.pad_begin, geo.pad_end);
    dnnl::deconvolution_forward::primitive_desc pd(d, attr, engine);
    chosen_w = pd.weights_desc();
    plan->scratchpad = pd.scratchpad_desc();
    plan->primitive = dnnl::deconvolution_forward(pd);
  }
  plan->src = src;
  plan->dst = dst;
  plan->bias = bias;
  plan->weights = chosen_w;
  if (constant_w) {
    memory plain(plain_w, engine, const_cast<void*>(const_weights_.raw_data()));
    plan->packed_weights = packed_.get(chosen_w, plain);
  }
  return std::shared_ptr<const ConvPlan>(std::move(plan));
}

Status ConvKernel::run(const ConvPlan& plan, const Tensor& x, const Tensor& w, const Tensor* b,
                       KernelContext& ctx) const {
  Tensor* y = ctx.output(0, DataType::kFloat32, plan.out_shape);
  if (x.numel() == 0 || y->numel() == 0) {
    if (y->numel() > 0) std::fill_n(y->data<float>(), y->numel(), 0.0f);
    return Status::ok();
  }
  const auto& engine = onednn::cpu_engine();
  memory src(plan.src, engine, const_cast<void*>(x.raw_data()));
  memory dst(plan.dst, engine, y->raw_data());
  memory weights = plan.packed_weights ? plan.packed_weights : memory(plan.weights, engine, const_cast<void*>(w.raw_data()));
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src},
                                          {DNNL_ARG_WEIGHTS, weights},
                                          {DNNL_ARG_DST, dst},
                                          {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(plan.scratchpad)}};
  if (b != nullptr) args.emplace(DNNL_ARG_BIAS, memory(plan.bias, engine, const_cast<void*>(b->raw_data())));
  plan.primitive.execute(onednn::thread_stream(), args);
  return Status::ok();
}

Expected<ConvAttrs> read_attrs(const KernelInfo& info, bool transposed) {
  ConvAttrs a;
  const std::string pad = info.attr_string("auto_pad", "NOTSET");
  if (pad == "NOTSET") a.auto_pad = AutoPad::kNotSet;
  else if (pad == "SAME_UPPER") a.auto_pad = AutoPad::kSameUpper;
  else if (pad == "SAME_LOWER") a.auto_pad = AutoPad::kSameLower;
  else if (pad == "VALID") a.auto_pad = AutoPad::kValid;
  else return info.model_error(fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", pad));
  a.group = info.attr_int("group", 1);
  if (a.group < 1) return info.model_error(fmt::format("group must be at least 1, got {}", a.group));
  a.kernel_shape = info.attr_ints("kernel_shape");
  a.strides = info.attr_ints("strides");
  a.dilations = info.attr_ints("dilations");
  a.pads = info.attr_ints("pads");
  if (a.pads.size() % 2 != 0) return info.model_error("pads must list a begin and an end value per spatial axis");
  for (int64_t p : a.pads) {
    if (p < 0) return info.unsupported("negative pads are not supported");
  }
  if (transposed) {
    a.output_padding = info.attr_ints("output_padding");
    a.output_shape = info.attr_ints("output_shape");
  }
  return a;
}

Expected<std::unique_ptr<Kernel>> create_conv_kernel(const KernelInfo& info, bool transposed) {
  for (size_t i : {size_t{0}, size_t{1}}) {
    const DataType t = info.declared_input_type(i);
    if (t != DataType::kUndefined && t != DataType::kFloat32) {
      return info.unsupported(fmt::format("only float32 is supported, input {} is {}", i, dtype_name(t)));
    }
  }
  ECOINFER_ASSIGN_OR_RETURN(ConvAttrs attrs, read_attrs(info, transposed));
  return std::unique_ptr<Kernel>(std::make_unique<ConvKernel>(info, std::move(attrs), transposed));
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_Conv(const KernelInfo& info) { return create_conv_kernel(info, false); }
Expected<std::unique_ptr<Kernel>> create_ConvTranspose(const KernelInfo& info) { return create_conv_kernel(info, true); }

}  // namespace ecoinfer::kernels
