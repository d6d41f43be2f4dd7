// Conv and ConvTranspose through oneDNN's convolution and deconvolution
// primitives, float32, with the fused post-ops of "_ecoinfer.post_ops"
// (passes/pass.h) applied inside the primitive.
//
// Lifecycle (XNNPACK's): the factory reads the attributes and keeps the
// constant weights and bias; the first run of an input shape resolves the
// geometry (pads, output size), builds the primitive with format_tag::any
// for the weights so oneDNN picks its fastest blocked layout, and reorders
// the constant weights into that layout once (PackedWeights shares a packed
// copy between shapes that choose the same layout). Later runs of the shape
// only look the plan up and execute.
//
// Layouts: on plain NCHW data oneDNN only has its im2col + GEMM
// convolution, 10-40x slower than its direct kernels for depthwise and 3x3
// convolutions, which take channels-last (NHWC) or 16-channel-blocked data.
// The primitive's layout is chosen per shape (preferred_layout): blocked
// between plain tensors, channels-last next to a channels-last tensor,
// plain for a post-op-free 1x1 convolution (a plain GEMM, as fast). A tensor
// whose layout differs from the primitive's is reordered through the
// thread's workspace: the input before, the output after. The
// channels_last_convs pass removes most of these copies: it marks tensors
// that only flow between convolutions, which then stay channels-last in
// memory (passes/post_ops.h: kChannelsLastInputs, kChannelsLastOutput), or
// 16-channel blocks in a trunk the pass marks kBlocked16Layout (ResNet's:
// its Winograd convolutions take only blocks), where every convolution runs
// blocked.
// A ConvTranspose whose kernel equals its stride runs as a matmul plus an
// interleave (pixel_deconv.h; an int8 one too, on uint8 channels-last data
// where channels_last_convs marks it); other ConvTransposes use oneDNN's
// plain deconvolution (int8: channels-last).
//
// Precision: "_ecoinfer.bf16" (SessionOptions::precision) runs the
// primitive on bf16 source and weights (converted by the staging reorder
// and at packing) with an f32 output. A Conv quantized by passes/fuse_qdq
// (the kQuant* attributes of passes/pass.h) runs as one int8 primitive: u8
// or s8 source with its zero point, packed s8 weights, s32 bias, per-channel
// output scales, the fused post-ops in f32, and, when the trailing
// QuantizeLinear was fused too, a linear map to the output scale and zero
// point with a u8/s8 destination, so activations stay int8 between convs.
// A depthwise one whose input has a zero point runs on a zero-point-padded
// copy of its input without one (zero_point_padding.h): oneDNN's brdgmm
// kernel takes no source zero point, and its jit_int8 fallback is slower.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "kernels/cpu/fused_post_ops.h"
#include "kernels/cpu/implementation_log.h"
#include "kernels/cpu/layout_transpose.h"
#include "kernels/cpu/onednn_context.h"
#include "kernels/cpu/pixel_deconv.h"
#include "kernels/cpu/primitive_cache.h"
#include "kernels/cpu/zero_point_padding.h"
#include "kernels/kernel.h"
#include "passes/pass.h"

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

// A tensor the primitive takes in another layout than the tensor's own: it
// is reordered through the thread workspace (before the primitive for an
// input, after it for the output). Without a reorder the primitive reads
// or writes the tensor in place.
struct Staged {
  memory::desc tensor;      // the tensor's own layout
  memory::desc primitive;   // the layout the primitive takes
  dnnl::primitive reorder;  // unset: none needed
  memory::desc reorder_scratchpad;
  size_t offset = 0;        // of the staged copy in the workspace

  bool staged() const { return static_cast<bool>(reorder); }
};

// What one input shape needs at run time.
struct ConvPlan {
  dnnl::primitive primitive;
  memory::desc weights, bias, scratchpad;
  memory packed_weights;  // set when the weights are constant
  Staged src, dst;
  std::vector<Staged> binary;          // per binary post-op operand
  std::vector<int> binary_positions;   // their indices in the post-op chain (-1: the sum below)
  // The binary operand the output takes over and adds as a sum post-op
  // (passes::kAccumulateInput); -1: none.
  int sum_operand = -1;
  std::vector<std::pair<int, memory>> constant_args;  // scalars the post-op chain reads
  size_t workspace_bytes = 0;
  Shape out_shape;
  // Run image by image (see ConvKernel::make_plan): how many, and each
  // tensor's elements per image (0: one slice for every image).
  int64_t images = 1;
  int64_t src_image = 0, dst_image = 0;
  std::vector<int64_t> operand_image;
  std::string impl;  // oneDNN's implementation name
  std::optional<onednn::PixelDeconvPlan> pixel;  // a ConvTranspose run as matmul + interleave
  // A depthwise int8 convolution run on a zero-point-padded copy of its
  // source (zero_point_padding.h), at this offset in the workspace.
  std::optional<onednn::ZeroPointPadding> zero_point_padding;
  size_t padded_offset = 0;
  // The staged output goes from channels-last float32 to a plain tensor
  // through layout_transpose.h instead of dst.reorder (faster for many channels).
  bool dst_transpose = false;
};

int64_t at_or(const std::vector<int64_t>& v, size_t i, int64_t fallback) { return i < v.size() ? v[i] : fallback; }
bool per_channel_operands(const std::vector<const Tensor*>& operands, size_t rank);

// How a primitive lays out its source and destination. kPlainToBlocked16:
// a plain source and a 16-channel-blocked destination, which oneDNN's
// direct kernel takes for a first layer (few input channels).
enum class Layout { kPlain, kChannelsLast, kBlocked16, kPlainToBlocked16 };

// How the tensors around one convolution are laid out in memory.
struct ConvLayouts {
  bool src_channels_last = false;
  bool dst_channels_last = false;
  std::vector<bool> binary_channels_last;  // per binary post-op operand
  // The marked tensors are 16-channel blocks, not channels-last
  // (passes::kBlocked16Layout, a ResNet trunk kept in Winograd's layout).
  bool blocked16 = false;
};

// The int8 form of a Conv (passes/pass.h kQuant* attributes).
struct QuantConv {
  bool enabled = false;
  float input_scale = 1;
  int32_t input_zero = 0;
  std::vector<float> weight_scales;  // 1 or one per output channel
  DataType output = DataType::kFloat32;  // uint8/int8 when requantized
  float output_scale = 1;
  int32_t output_zero = 0;
};

// The shapes one primitive is built for: the whole batch, or one image.
struct PlanShapes {
  Shape x, out;
  std::vector<Dims> operands;  // right-aligned to out's rank
  // float32, or uint8/int8 for an int8 Conv's residual (fuse_qdq_residual:
  // the post-ops add its raw integers).
  std::vector<memory::data_type> operand_types;
  memory::data_type src_type = memory::data_type::f32;
  bool src_zero_point = true;  // int8: pass the input's zero point to oneDNN (when it is not 0)
  bool plan_bias = false;      // the plan brings an int32 bias of its own (zero-point padding)
  int sum_operand = -1;        // the operand to accumulate into when the layouts allow (ConvPlan::sum_operand)
};

using onednn::onednn_type;

class ConvKernel final : public Kernel {
 public:
  ConvKernel(const KernelInfo& info, ConvAttrs attrs, bool transposed, onednn::FusedPostOps post_ops,
             ConvLayouts layouts, QuantConv quant)
      : who_(info.node().describe()), attrs_(std::move(attrs)), transposed_(transposed), has_bias_(info.has_input(2)),
        post_ops_(std::move(post_ops)), layouts_(std::move(layouts)), quant_(std::move(quant)) {
    const DataType weight_type = quant_.enabled ? DataType::kInt8 : DataType::kFloat32;
    if (const Tensor* w = info.constant_input(1); w && w->dtype() == weight_type) const_weights_ = *w;
    const Tensor* b = info.constant_input(2);
    if (b != nullptr && quant_.enabled && b->dtype() == DataType::kInt32) const_bias_ = *b;
    // bf16 needs the weights packed once as bf16, so only for constant weights.
    bf16_ = info.attr_int(passes::kComputeBf16Attribute, 0) == 1 && const_weights_.defined();
    input_zero_arg_ = quant_.input_zero;
    if (!quant_.enabled && !transposed_) accumulate_input_ = info.attr_int(passes::kAccumulateInput, -1);
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* b = has_bias_ ? ctx.input(2) : nullptr;
    if (x == nullptr || w == nullptr) return invalid_argument(who_ + ": needs inputs X and W");
    ECOINFER_RETURN_IF_ERROR(check_types(*x, *w, b));
    std::vector<const Tensor*> operands;
    std::vector<const Shape*> key_shapes = {&x->shape(), &w->shape()};
    for (int i : post_ops_.binary_inputs()) {
      const Tensor* t = ctx.input(static_cast<size_t>(i));
      const bool integer = t != nullptr && (t->dtype() == DataType::kUInt8 || t->dtype() == DataType::kInt8);
      if (t == nullptr || (t->dtype() != DataType::kFloat32 && !(quant_.enabled && integer))) {
        return unimplemented(fmt::format("{}: fused operand (input {}) must be float32 (or uint8/int8 for an int8 Conv)",
                                         who_, i));
      }
      operands.push_back(t);
      key_shapes.push_back(&t->shape());
    }
    ECOINFER_RETURN_IF_ERROR(validate(*x, *w, b));
    const onednn::ShapeKey key = onednn::shape_key(key_shapes);
    return onednn::guard(who_, [&]() -> Status {
      auto plan = cache_.get(key, [&]() { return make_plan(*x, *w, operands); });
      if (!plan) return plan.status();
      return run(**plan, *x, *w, b, operands, ctx);
    });
  }

 private:
  Status check_types(const Tensor& x, const Tensor& w, const Tensor* b) const;
  Status validate(const Tensor& x, const Tensor& w, const Tensor* b) const;
  void set_quant_attributes(dnnl::primitive_attr& attr, int64_t out_channels, bool src_zero_point) const;
  Expected<std::shared_ptr<ConvPlan>> zero_point_padding_plan(const Tensor& w, PlanShapes shapes, Geometry geo) const;
  Expected<Geometry> geometry(const Tensor& x, const Tensor& w) const;
  Expected<std::shared_ptr<const ConvPlan>> make_plan(const Tensor& x, const Tensor& w,
                                                      const std::vector<const Tensor*>& operands) const;
  Layout preferred_layout(const Geometry& geo, const PlanShapes& shapes) const;
  Expected<onednn::PixelDeconvPlan> make_pixel_deconv_int8(const Tensor& x, const Tensor& w,
                                                           const std::vector<const Tensor*>& operands) const;
  Expected<std::shared_ptr<ConvPlan>> build_plan(const Tensor& w, const PlanShapes& shapes, const Geometry& geo,
                                                 Layout layout, bool bf16, bool winograd = false) const;
  bool winograd_suits(const Tensor& w, const PlanShapes& shapes, const Geometry& geo, bool bf16) const;
  bool first_layer_suits(const PlanShapes& shapes, bool bf16) const;
  memory::desc plain_weights_desc(const Shape& w) const;
  memory::desc marked_desc(const Dims& dims, bool marked, const memory::desc& primitive,
                           memory::data_type type) const;
  Status run(const ConvPlan& plan, const Tensor& x, const Tensor& w, const Tensor* b,
             const std::vector<const Tensor*>& operands, KernelContext& ctx) const;
  Status shape_error(const std::string& what, const Tensor& x, const Tensor& w) const {
    return invalid_argument(fmt::format("{}: {} (X is {}, W is {})", who_, what, shape_to_string(x.shape()),
                                        shape_to_string(w.shape())));
  }

  std::string who_;
  ConvAttrs attrs_;
  bool transposed_;
  bool has_bias_;
  onednn::FusedPostOps post_ops_;
  ConvLayouts layouts_;
  int64_t accumulate_input_ = -1;  // passes::kAccumulateInput, -1 when unset
  Tensor const_weights_;
  Tensor const_bias_;  // int8: the constant int32 bias, when there is one
  bool bf16_ = false;  // bf16 source and weights, f32 accumulation and output
  QuantConv quant_;
  mutable int32_t input_zero_arg_ = 0;  // the runtime zero-point argument's memory (never written)
  onednn::ShapeCache<ConvPlan> cache_;
  mutable onednn::PackedWeights packed_;  // touched only inside cache_.get's make()
};

Status ConvKernel::check_types(const Tensor& x, const Tensor& w, const Tensor* b) const {
  if (quant_.enabled) {
    const bool ok = (x.dtype() == DataType::kUInt8 || x.dtype() == DataType::kInt8) && const_weights_.defined() &&
                    (b == nullptr || b->dtype() == DataType::kInt32);
    if (ok) return Status::ok();
    return unimplemented(fmt::format("{}: an int8 Conv needs uint8/int8 X, constant int8 W and int32 B (X is {}, W is {})",
                                     who_, dtype_name(x.dtype()), dtype_name(w.dtype())));
  }
  if (x.dtype() != DataType::kFloat32 || w.dtype() != DataType::kFloat32 ||
      (b != nullptr && b->dtype() != DataType::kFloat32)) {
    return unimplemented(fmt::format("{}: only float32 is supported (X is {}, W is {})", who_,
                                     dtype_name(x.dtype()), dtype_name(w.dtype())));
  }
  return Status::ok();
}

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
  const auto type = quant_.enabled ? memory::data_type::s8 : memory::data_type::f32;
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
    return memory::desc(dims, type, onednn::dense_strides(dims));
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
  return memory::desc(dims, type, strides);
}

// Sets up `s` to move data between a tensor laid out as `tensor` and the
// primitive's `primitive` layout (`into_primitive`: for an input), with the
// staged copy at the end of the workspace.
void stage(Staged& s, const memory::desc& tensor, const memory::desc& primitive, bool into_primitive,
           size_t& workspace) {
  s.tensor = tensor;
  s.primitive = primitive;
  if (tensor == primitive) return;
  const auto& engine = onednn::cpu_engine();
  const dnnl::primitive_attr attr = onednn::scratchpad_attr();
  const dnnl::reorder::primitive_desc pd = into_primitive ? dnnl::reorder::primitive_desc(engine, tensor, engine, primitive, attr)
                                                          : dnnl::reorder::primitive_desc(engine, primitive, engine, tensor, attr);
  s.reorder = dnnl::reorder(pd);
  s.reorder_scratchpad = pd.scratchpad_desc();
  s.offset = workspace;
  workspace += (primitive.get_size() + 63) / 64 * 64;
}

// The tensor's descriptor: channels-last or plain; when the two coincide
// (every spatial dim is 1) and the primitive takes one of them, the
// primitive's, so nothing moves.
memory::desc layout_desc(const Dims& dims, Layout layout, memory::data_type type = memory::data_type::f32);

// `type`: the tensor's element type (the primitive may take another one:
// bf16 source, then the staging reorder converts).
memory::desc tensor_desc(const Dims& dims, bool channels_last, const memory::desc& primitive,
                         memory::data_type type = memory::data_type::f32) {
  if (onednn::layouts_coincide(dims) && (primitive == layout_desc(dims, Layout::kPlain, type) ||
                                         primitive == layout_desc(dims, Layout::kChannelsLast, type))) {
    return primitive;
  }
  // With exactly 16 channels, 16-channel blocks are the channels-last bytes.
  if (channels_last && dims.size() >= 3 && dims[1] == 16 && primitive == layout_desc(dims, Layout::kBlocked16, type)) {
    return primitive;
  }
  return layout_desc(dims, channels_last ? Layout::kChannelsLast : Layout::kPlain, type);
}

memory::desc layout_desc(const Dims& dims, Layout layout, memory::data_type type) {
  using tag = memory::format_tag;
  if (type == memory::data_type::f32 && layout != Layout::kBlocked16) {
    return onednn::f32_desc(dims, layout == Layout::kChannelsLast);
  }
  const size_t r = dims.size();
  const tag t = layout == Layout::kBlocked16   ? (r == 3 ? tag::nCw16c : r == 4 ? tag::nChw16c : tag::nCdhw16c)
                : layout == Layout::kChannelsLast ? (r == 3 ? tag::nwc : r == 4 ? tag::nhwc : tag::ndhwc)
                                                  : (r == 3 ? tag::ncw : r == 4 ? tag::nchw : tag::ncdhw);
  return memory::desc(dims, type, t);
}

// A tensor's descriptor: a marked one is channels-last, or 16-channel
// blocks in a blocked trunk; see tensor_desc for the rest.
memory::desc ConvKernel::marked_desc(const Dims& dims, bool marked, const memory::desc& primitive,
                                     memory::data_type type) const {
  if (marked && layouts_.blocked16) return layout_desc(dims, Layout::kBlocked16, type);
  return tensor_desc(dims, marked, primitive, type);
}

// oneDNN's direct kernels want channels-last or 16-channel blocks; on plain
// data only its im2col + GEMM convolution runs. Plain is as fast for a 1x1
// convolution with stride 1 and no padding (one GEMM over the image) and on
// a 1x1 image, as long as there are no post-ops (the GEMM convolution
// applies them 3-100x slower than the conv itself): there the layout that
// moves the fewest bytes wins (a 12 -> 96 channel 1x1 conv reading
// channels-last data and writing plain data reorders its small input, not
// its large output). Otherwise channels-last when a tensor is (or when no
// tensor needs a reorder for it), and 16-channel blocks between plain
// tensors: the reorders into and out of them cost less than those of
// channels-last (1.1-2.3x less at the PaddleOCR shapes), and the
// convolutions run as fast. ConvTranspose's plain kernel beats the others
// at the det model's shapes.
Layout ConvKernel::preferred_layout(const Geometry& geo, const PlanShapes& shapes) const {
  if (transposed_ && !quant_.enabled) return Layout::kPlain;
  // oneDNN's int8 direct kernels take channels-last data (its plain int8
  // path is a slower GEMM).
  if (quant_.enabled) return Layout::kChannelsLast;
  // A blocked trunk: its tensors are already in blocks.
  if (layouts_.blocked16) return Layout::kBlocked16;
  // Elements staged if the primitive works plain / channels-last.
  int64_t plain_cost = 0, channels_last_cost = 0;
  auto count = [&](const Shape& shape, bool channels_last) {
    if (onednn::layouts_coincide(onednn::to_dims(shape))) return;
    (channels_last ? plain_cost : channels_last_cost) += shape_numel(shape);
  };
  count(shapes.x, layouts_.src_channels_last);
  count(shapes.out, layouts_.dst_channels_last);
  for (size_t i = 0; i < shapes.operands.size(); ++i) {
    if (shapes.operands[i] == onednn::to_dims(shapes.out)) count(shapes.out, layouts_.binary_channels_last[i]);
  }
  bool pointwise = true, single_pixel = true;
  for (size_t i = 0; i < geo.kernel.size(); ++i) {
    pointwise &= geo.kernel[i] == 1 && geo.strides[i] == 1 && geo.pad_begin[i] == 0 && geo.pad_end[i] == 0;
    single_pixel &= shapes.x[i + 2] == 1;
  }
  if ((pointwise || single_pixel) && post_ops_.empty()) {
    return channels_last_cost < plain_cost ? Layout::kChannelsLast : Layout::kPlain;
  }
  // Channels-last when a tensor is, or when it moves nothing (1x1 images).
  return plain_cost > 0 || channels_last_cost == 0 ? Layout::kChannelsLast : Layout::kBlocked16;
}

// oneDNN 2.6 handles an operand that is one value, one value per channel,
// or the whole output. One value per image and channel ([N,C,1,1], a
// squeeze-excitation gate with N > 1) sends it to its reference kernel, or
// worse, its GEMM convolution on channels-last data reads image 0's values
// for every image. Such a batch (and one whose operand is the same for
// every image) runs image by image.
Expected<std::shared_ptr<const ConvPlan>> ConvKernel::make_plan(const Tensor& x, const Tensor& w,
                                                                const std::vector<const Tensor*>& operands) const {
  ECOINFER_ASSIGN_OR_RETURN(Geometry geo, geometry(x, w));
  Shape out_shape = {x.dim(0), transposed_ ? w.dim(1) * attrs_.group : w.dim(0)};
  out_shape.insert(out_shape.end(), geo.out.begin(), geo.out.end());
  const bool plain_tensors = !layouts_.src_channels_last && !layouts_.dst_channels_last;
  if (transposed_ && (plain_tensors || quant_.enabled) &&
      onednn::pixel_deconv_applies(w.shape(), attrs_.group, geo.strides, geo.dilations, geo.pad_begin, geo.pad_end,
                                   post_ops_, quant_.enabled) &&
      (!quant_.enabled || per_channel_operands(operands, x.rank()))) {
    auto plan = std::make_shared<ConvPlan>();
    plan->out_shape = out_shape;
    if (quant_.enabled) {
      ECOINFER_ASSIGN_OR_RETURN(plan->pixel, make_pixel_deconv_int8(x, w, operands));
    } else {
      ECOINFER_ASSIGN_OR_RETURN(plan->pixel, onednn::make_pixel_deconv(x.shape(), w.shape(), has_bias_, post_ops_));
    }
    return std::shared_ptr<const ConvPlan>(std::move(plan));
  }

  PlanShapes shapes{x.shape(), out_shape, {}, {}, quant_.enabled ? onednn_type(x.dtype()) : memory::data_type::f32};
  const Dims out = onednn::to_dims(out_shape);
  const int64_t batch = out[0];
  bool per_image = false;
  for (size_t i = 0; i < operands.size(); ++i) {
    ECOINFER_ASSIGN_OR_RETURN(Dims dims, onednn::broadcast_into(operands[i]->shape(), out, who_));
    if (layouts_.binary_channels_last[i] && operands[i]->rank() != out.size()) {
      return internal_error(fmt::format("{}: a channels-last fused operand must have the output's rank", who_));
    }
    const bool pixel_wide = std::equal(dims.begin() + 2, dims.end(), out.begin() + 2);
    const bool one_pixel = std::all_of(dims.begin() + 2, dims.end(), [](int64_t d) { return d == 1; });
    if (!one_pixel && !(pixel_wide && dims[1] == out[1])) {
      return unimplemented(fmt::format("{}: a fused operand of shape {} (per-pixel values shared across channels) is "
                                       "not supported; scalar, per-channel and full-size operands are",
                                       who_, shape_to_string(operands[i]->shape())));
    }
    per_image |= batch > 1 && dims != out && !(dims[0] == 1 && one_pixel);
    const DataType type = operands[i]->dtype();
    const bool integer = type == DataType::kUInt8 || type == DataType::kInt8;
    if (type != DataType::kFloat32 && !(quant_.enabled && integer && dims == out)) {
      return unimplemented(fmt::format("{}: a fused operand of type {} is not supported (float32, or uint8/int8 of the "
                                       "output's shape for an int8 Conv)", who_, dtype_name(type)));
    }
    shapes.operand_types.push_back(onednn_type(type));
    shapes.operands.push_back(std::move(dims));
  }
  std::vector<int64_t> operand_image(operands.size(), 0);
  if (per_image) {
    shapes.x[0] = shapes.out[0] = 1;
    for (size_t i = 0; i < operands.size(); ++i) {
      Dims& d = shapes.operands[i];
      if (d[0] == batch) operand_image[i] = shape_numel(Shape(d.begin(), d.end())) / batch;
      d[0] = 1;
    }
  }
  for (size_t i = 0; i < operands.size(); ++i) {
    // The output takes over the operand's buffer: it must be the output's exact shape.
    if (post_ops_.binary_inputs()[i] == accumulate_input_ && operands[i]->shape() == out_shape) {
      shapes.sum_operand = static_cast<int>(i);
    }
  }
  const Layout layout = preferred_layout(geo, shapes);
  bool bf16 = bf16_;
  ECOINFER_ASSIGN_OR_RETURN(auto plan, zero_point_padding_plan(w, shapes, geo));
  if (!plan && winograd_suits(w, shapes, geo, bf16)) {
    // Tried first, so that the weights are packed only in Winograd's layout;
    // oneDNN refuses some (post-op chains it lacks): the direct plan then.
    try {
      auto winograd = build_plan(w, shapes, geo, Layout::kBlocked16, bf16, /*winograd=*/true);
      if (winograd) plan = std::move(*winograd);
    } catch (const dnnl::error&) {
    }
  }
  if (!plan) {
    ECOINFER_ASSIGN_OR_RETURN(plan, build_plan(w, shapes, geo, layout, bf16));
  }
  auto slow = [](const ConvPlan& p) {
    return p.impl.find("ref") != std::string::npos || p.impl.find("gemm") != std::string::npos;
  };
  if (first_layer_suits(shapes, bf16)) {
    try {
      auto first = build_plan(w, shapes, geo, Layout::kPlainToBlocked16, bf16);
      if (first && !slow(**first) && !(*first)->src.staged() && !(*first)->dst.staged()) plan = std::move(*first);
    } catch (const dnnl::error&) {
    }
  }
  // Blocks suit no fast kernel for a few shapes (3 input channels: only the
  // reference kernel takes them); channels-last then.
  if (layout == Layout::kBlocked16 && slow(*plan)) {
    ECOINFER_ASSIGN_OR_RETURN(plan, build_plan(w, shapes, geo, Layout::kChannelsLast, bf16));
  }
  // oneDNN's bf16 GEMM convolution (its only bf16 kernel for some shapes)
  // is slower than its f32 one: such a convolution stays f32.
  if (bf16 && slow(*plan)) {
    bf16 = false;
    ECOINFER_ASSIGN_OR_RETURN(plan, build_plan(w, shapes, geo, layout, bf16));
    if (layout == Layout::kBlocked16 && slow(*plan)) {
      ECOINFER_ASSIGN_OR_RETURN(plan, build_plan(w, shapes, geo, Layout::kChannelsLast, bf16));
    }
  }
  onednn::note_implementation(std::string(transposed_ ? "deconvolution" : "convolution") + (bf16 ? " bf16" : ""),
                              plan->impl);
  plan->out_shape = out_shape;
  plan->images = per_image ? batch : 1;
  plan->src_image = x.numel() / plan->images;
  plan->dst_image = shape_numel(out_shape) / plan->images;
  plan->operand_image = std::move(operand_image);
  return std::shared_ptr<const ConvPlan>(std::move(plan));
}

// oneDNN's Winograd F(2x2, 3x3) kernel makes a 3x3 stride-1 convolution
// 2.25x fewer multiplications; measured on this project's Xeon at one
// thread against its direct kernel (channels-last, ReLU post-op): 1.7x at
// 64 channels 56x56, 1.8x at 128 28x28, 1.3x at 256 14x14, 1.05x at 512
// 7x7, while staging the 16-channel blocks it needs costs 3-25 us a side.
// Only float32 (there is no bf16/int8 variant), groups of one, channel
// counts in whole 16-blocks, and images of at least 14x14; in a blocked
// trunk, where nothing is staged, 7x7 too (ResNet-50's layer4 in the model:
// 2071-2085 us direct against 1852-1891, for weights 16/9 larger: +17 MiB
// peak RSS).
bool ConvKernel::winograd_suits(const Tensor& w, const PlanShapes& shapes, const Geometry& geo, bool bf16) const {
  constexpr int64_t kMinChannels = 64, kMinSide = 14, kMinBlockedSide = 7;
  if (transposed_ || quant_.enabled || bf16 || attrs_.group != 1 || !const_weights_.defined() ||
      shapes.x.size() != 4) {
    return false;
  }
  // In a blocked trunk there are no reorders to pay around it: 7x7 too.
  const int64_t min_side = layouts_.blocked16 ? kMinBlockedSide : kMinSide;
  for (size_t i = 0; i < 2; ++i) {
    if (geo.kernel[i] != 3 || geo.strides[i] != 1 || geo.dilations[i] != 0 || geo.out[i] < min_side) return false;
  }
  const int64_t in_channels = w.dim(1), out_channels = w.dim(0);
  return in_channels >= kMinChannels && out_channels >= kMinChannels && in_channels % 16 == 0 &&
         out_channels % 16 == 0;
}

// oneDNN 2.6 ranks its brdgmm_dw kernel first for a float32 channels-last
// depthwise convolution, but its jit_dw kernel, further down its list, is
// faster at every MobileNetV3 shape (one thread, in isolation: 16 channels
// 112x112 3x3 47 -> 33 us, 72 channels 56x56 5x5 stride 2 54 -> 37, 120
// channels 28x28 5x5 72 -> 40, 960 channels 7x7 5x5 29 -> 27): brdgmm
// handles channel tails (72, 120, 200...) slowly. Takes jit_dw when oneDNN
// offers it for this descriptor and post-op chain.
void prefer_jit_dw(dnnl::convolution_forward::primitive_desc& pd, const dnnl::convolution_forward::desc& d,
                   const dnnl::primitive_attr& attr) {
  if (std::string(pd.impl_info_str()).rfind("brdgmm_dw", 0) != 0) return;
  dnnl::convolution_forward::primitive_desc other(d, attr, onednn::cpu_engine());
  while (other.next_impl()) {
    if (std::string(other.impl_info_str()).rfind("jit_dw:", 0) == 0) {
      pd = other;
      return;
    }
  }
}

// oneDNN 2.6 ranks its F(2x2, 3x3) Winograd kernel (jit_fp32_wino_2x3)
// first, but its F(4x4, 3x3) one (jit_wino_4x3: 4x fewer multiplications
// than direct instead of 2.25x) is faster on large images: inside ResNet-50
// at one thread (fastest of 40 runs per conv, ReLU post-op) 64 channels
// 56x56 went 864 -> 650 us. In isolation it also won at 128 28x28 and 256
// 14x14 (761 -> 656, 995 -> 719 us), but inside the model, where its 4x
// larger transformed weights come from memory, it lost there (+50-120 us
// at 28x28, +300 at 14x14), as at 512 7x7 in isolation (1316 -> 1765).
// Takes it from 56x56 outputs up when oneDNN offers it for this descriptor.
void prefer_wino_4x3(dnnl::convolution_forward::primitive_desc& pd, const dnnl::convolution_forward::desc& d,
                     const dnnl::primitive_attr& attr, const Geometry& geo) {
  constexpr int64_t kMinSide = 56;
  if (geo.out.size() != 2 || geo.out[0] < kMinSide || geo.out[1] < kMinSide) return;
  dnnl::convolution_forward::primitive_desc other(d, attr, onednn::cpu_engine());
  do {
    if (std::string(other.impl_info_str()).rfind("jit_wino_4x3:", 0) == 0) {
      pd = other;
      return;
    }
  } while (other.next_impl());
}

// A first layer: a plain image of few channels (3: RGB) in, 16 channels-last
// channels out. oneDNN's direct kernel reads the plain image and writes
// 16-channel blocks, the channels-last bytes at 16 channels, where the
// channels-last plan first reorders the 3-channel image, slowly
// (MobileNetV3's stem at 224x224, one thread: 73 us reorder + 127 us
// brgconv against 105 us).
bool ConvKernel::first_layer_suits(const PlanShapes& shapes, bool bf16) const {
  return !transposed_ && !quant_.enabled && !bf16 && attrs_.group == 1 && shapes.x.size() == 4 &&
         shapes.x[1] < 16 && (shapes.out[1] == 16 || layouts_.blocked16) && !layouts_.src_channels_last &&
         layouts_.dst_channels_last;
}

Expected<std::shared_ptr<ConvPlan>> ConvKernel::build_plan(const Tensor& w, const PlanShapes& shapes,
                                                           const Geometry& geo, Layout layout, bool bf16,
                                                           bool winograd) const {
  auto plan = std::make_shared<ConvPlan>();
  const Dims src_dims = onednn::to_dims(shapes.x), dst_dims = onednn::to_dims(shapes.out);
  // bf16: the source is converted by its staging reorder; the output stays f32.
  const auto compute_type = bf16 ? memory::data_type::bf16 : shapes.src_type;
  const auto dst_type = onednn_type(quant_.output);
  const Layout src_layout = layout == Layout::kPlainToBlocked16 ? Layout::kPlain : layout;
  const Layout dst_layout = layout == Layout::kPlainToBlocked16 ? Layout::kBlocked16 : layout;
  const memory::desc src = layout_desc(src_dims, src_layout, compute_type);
  const memory::desc dst = layout_desc(dst_dims, dst_layout, dst_type);
  size_t workspace = 0;
  stage(plan->src, marked_desc(src_dims, layouts_.src_channels_last, src, shapes.src_type), src, true, workspace);
  stage(plan->dst, marked_desc(dst_dims, layouts_.dst_channels_last, dst, dst_type), dst, false, workspace);

  // Binary operands: a full-size one is read in the destination's layout,
  // a broadcast one ([1,C,1,1], a scalar) plain.
  std::vector<memory::desc> src1;
  for (size_t i = 0; i < shapes.operands.size(); ++i) {
    const Dims& dims = shapes.operands[i];
    const memory::data_type type = shapes.operand_types[i];
    const memory::desc wanted = dims == dst_dims ? layout_desc(dst_dims, dst_layout, type) : onednn::plain_f32(dims);
    Staged& s = plan->binary.emplace_back();
    stage(s, marked_desc(dims, layouts_.binary_channels_last[i], wanted, type), wanted, true, workspace);
    src1.push_back(wanted);
  }
  // In place only where the primitive writes the tensor's own layout and
  // reads the operand in it too: the staged copies would break the aliasing.
  if (shapes.sum_operand >= 0 && !plan->dst.staged() && !plan->binary[static_cast<size_t>(shapes.sum_operand)].staged()) {
    plan->sum_operand = shapes.sum_operand;
  }
  plan->workspace_bytes = workspace;
  plan->dst_transpose = plan->dst.staged() && dst_type == memory::data_type::f32 && dst_dims.size() >= 3 &&
                        dst_dims[1] >= onednn::kTransposeMinChannels &&
                        dst == layout_desc(dst_dims, Layout::kChannelsLast) &&
                        plan->dst.tensor == layout_desc(dst_dims, Layout::kPlain);

  const int64_t out_channels = shapes.out[1];
  const memory::desc plain_w = plain_weights_desc(w.shape());
  const bool constant_w = const_weights_.defined();
  const auto weight_type = quant_.enabled ? memory::data_type::s8 : compute_type;
  const memory::desc want_w = constant_w ? memory::desc(plain_w.dims(), weight_type, memory::format_tag::any)
                                         : plain_w;
  const memory::desc bias =
      !has_bias_ && !shapes.plan_bias ? memory::desc()
                 : memory::desc({out_channels}, quant_.enabled ? memory::data_type::s32 : memory::data_type::f32,
                                memory::format_tag::a);
  dnnl::primitive_attr attr = onednn::scratchpad_attr();
  if (quant_.enabled) set_quant_attributes(attr, out_channels, shapes.src_zero_point);
  onednn::PostOpChain chain(dst_dims.size());
  plan->binary_positions = post_ops_.append_to(chain, src1, plan->sum_operand);
  if (quant_.output != DataType::kFloat32) {
    // QuantizeLinear after the post-ops; the destination conversion rounds
    // half to even and saturates.
    chain.eltwise(dnnl::algorithm::eltwise_linear, 1.0f / quant_.output_scale, static_cast<float>(quant_.output_zero));
  }
  ECOINFER_ASSIGN_OR_RETURN(dnnl::post_ops ops, chain.finish());
  attr.set_post_ops(ops);
  plan->constant_args = chain.constant_args();
  const auto& engine = onednn::cpu_engine();
  const auto prop = dnnl::prop_kind::forward_inference;

  memory::desc chosen_w;
  if (!transposed_) {
    const auto algorithm = winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
    dnnl::convolution_forward::desc d(prop, algorithm, src, want_w, bias, dst, geo.strides, geo.dilations,
                                      geo.pad_begin, geo.pad_end);
    dnnl::convolution_forward::primitive_desc pd(d, attr, engine);
    if (!quant_.enabled && !bf16) prefer_jit_dw(pd, d, attr);
    if (winograd) prefer_wino_4x3(pd, d, attr, geo);
    chosen_w = pd.weights_desc();
    plan->scratchpad = pd.scratchpad_desc();
    plan->impl = pd.impl_info_str();
    plan->primitive = dnnl::convolution_forward(pd);
  } else {
    dnnl::deconvolution_forward::desc d(prop, dnnl::algorithm::deconvolution_direct, src, want_w, bias, dst,
                                        geo.strides, geo.dilations, geo.pad_begin, geo.pad_end);
    dnnl::deconvolution_forward::primitive_desc pd(d, attr, engine);
    chosen_w = pd.weights_desc();
    plan->scratchpad = pd.scratchpad_desc();
    plan->impl = pd.impl_info_str();
    plan->primitive = dnnl::deconvolution_forward(pd);
  }
  plan->bias = bias;
  plan->weights = chosen_w;
  if (constant_w) {
    if (!packed_.holds()) packed_.hold(const_weights_, plain_w);
    plan->packed_weights = packed_.get(chosen_w);
  }
  return plan;
}

// True when every fused operand is float32 and holds one value, or one
// value per channel (axis 1 of an output of `rank` dimensions): all the
// int8 pixel path takes; the others go to oneDNN's deconvolution.
bool per_channel_operands(const std::vector<const Tensor*>& operands, size_t rank) {
  return std::all_of(operands.begin(), operands.end(), [&](const Tensor* t) {
    if (t->dtype() != DataType::kFloat32 || t->rank() > rank) return false;
    if (t->numel() == 1) return true;
    return t->rank() + 1 >= rank && t->dim(t->rank() + 1 - rank) == t->numel();
  });
}

// An int8 ConvTranspose on the pixel path (pixel_deconv.h).
Expected<onednn::PixelDeconvPlan> ConvKernel::make_pixel_deconv_int8(const Tensor& x, const Tensor& w,
                                                                     const std::vector<const Tensor*>& operands) const {
  onednn::PixelDeconvQuant q{onednn_type(x.dtype()), quant_.input_scale, quant_.input_zero, quant_.weight_scales,
                             onednn_type(quant_.output), quant_.output_scale, quant_.output_zero};
  std::vector<int64_t> sizes;
  for (const Tensor* t : operands) sizes.push_back(t->numel());
  if (!const_weights_.defined()) return unimplemented(who_ + ": an int8 ConvTranspose needs constant weights");
  return onednn::make_pixel_deconv_int8(x.shape(), const_weights_, has_bias_, post_ops_, sizes, q,
                                        layouts_.src_channels_last, layouts_.dst_channels_last);
}

// oneDNN 2.6 int8: acc (s32) + bias (s32) times the output scale, then the
// post-ops; the input's zero point is a runtime argument.
void ConvKernel::set_quant_attributes(dnnl::primitive_attr& attr, int64_t out_channels, bool src_zero_point) const {
  std::vector<float> scales;
  for (int64_t m = 0; m < (quant_.weight_scales.size() == 1 ? 1 : out_channels); ++m) {
    scales.push_back(quant_.input_scale * quant_.weight_scales[static_cast<size_t>(m)]);
  }
  attr.set_output_scales(scales.size() == 1 ? 0 : 1 << 1, scales);
  if (quant_.input_zero != 0 && src_zero_point) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
}

// A depthwise int8 convolution with padding and an input zero point, on a
// channels-last 2-D source with constant weights and bias: the plan on a
// zero-point-padded copy (zero_point_padding.h), when oneDNN then offers its
// brdgmm kernel; nullptr otherwise (the caller builds the usual plan).
Expected<std::shared_ptr<ConvPlan>> ConvKernel::zero_point_padding_plan(const Tensor& w, PlanShapes shapes,
                                                                        Geometry geo) const {
  const bool padded = std::any_of(geo.pad_begin.begin(), geo.pad_begin.end(), [](int64_t p) { return p > 0; }) ||
                      std::any_of(geo.pad_end.begin(), geo.pad_end.end(), [](int64_t p) { return p > 0; });
  const bool depthwise =
      shapes.x.size() == 4 && w.dim(1) == 1 && attrs_.group == shapes.x[1] && w.dim(0) == shapes.x[1];
  if (!quant_.enabled || quant_.input_zero == 0 || transposed_ || !depthwise || !padded ||
      !layouts_.src_channels_last || !const_weights_.defined() || (has_bias_ && !const_bias_.defined())) {
    return std::shared_ptr<ConvPlan>();
  }
  onednn::ZeroPointPadding zp = onednn::make_zero_point_padding(
      onednn::to_dims(shapes.x), geo.pad_begin, geo.pad_end, quant_.input_zero, const_weights_,
      has_bias_ ? &const_bias_ : nullptr);
  shapes.x = Shape(zp.padded.begin(), zp.padded.end());
  shapes.src_zero_point = false;
  shapes.plan_bias = true;
  std::fill(geo.pad_begin.begin(), geo.pad_begin.end(), 0);
  std::fill(geo.pad_end.begin(), geo.pad_end.end(), 0);
  ECOINFER_ASSIGN_OR_RETURN(auto plan, build_plan(w, shapes, geo, Layout::kChannelsLast, false));
  if (plan->impl.find("brdgmm") == std::string::npos || plan->src.staged()) return std::shared_ptr<ConvPlan>();
  plan->padded_offset = plan->workspace_bytes;
  plan->workspace_bytes += (shape_numel(shapes.x) + 63) / 64 * 64;
  plan->zero_point_padding = std::move(zp);
  return plan;
}

// The primitive-side memory of a staged tensor at `data`, reordering an
// input into the workspace first.
memory bind_input(const Staged& s, const void* data, char* workspace) {
  const auto& engine = onednn::cpu_engine();
  memory tensor(s.tensor, engine, const_cast<void*>(data));
  if (!s.staged()) return tensor;
  memory staged(s.primitive, engine, workspace + s.offset);
  s.reorder.execute(onednn::thread_stream(), {{DNNL_ARG_FROM, tensor},
                                               {DNNL_ARG_TO, staged},
                                               {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(s.reorder_scratchpad)}});
  return staged;
}

Status ConvKernel::run(const ConvPlan& plan, const Tensor& x, const Tensor& w, const Tensor* b,
                       const std::vector<const Tensor*>& operands, KernelContext& ctx) const {
  Tensor* y = plan.sum_operand >= 0 ? ctx.overwrite_input(0, *operands[static_cast<size_t>(plan.sum_operand)])
                                    : ctx.output(0, quant_.output, plan.out_shape);
  if (y->numel() == 0) return Status::ok();
  if (x.numel() == 0 && quant_.enabled) return unimplemented(who_ + ": an empty input to an int8 Conv");
  if (x.numel() == 0) {
    // Every tap reads padding (or there are no input channels): the bias.
    if (!post_ops_.empty() || layouts_.dst_channels_last) {
      return unimplemented(fmt::format("{}: an empty input with fused post-ops is not supported", who_));
    }
    const int64_t channels = y->dim(1), inner = y->numel() / (y->dim(0) * channels);
    float* yp = y->data<float>();
    for (int64_t i = 0; i < y->numel(); ++i) yp[i] = b != nullptr ? b->data<float>()[i / inner % channels] : 0.0f;
    return Status::ok();
  }
  if (plan.pixel && quant_.enabled) {
    std::vector<const float*> values;
    for (const Tensor* t : operands) values.push_back(t->data<float>());
    onednn::run_pixel_deconv_int8(*plan.pixel, x.raw_data(), b != nullptr ? b->data<int32_t>() : nullptr, values, y->raw_data());
    return Status::ok();
  }
  if (plan.pixel) {
    onednn::run_pixel_deconv(*plan.pixel, x.data<float>(), w.data<float>(), b != nullptr ? b->data<float>() : nullptr,
                             y->data<float>());
    return Status::ok();
  }
  const auto& engine = onednn::cpu_engine();
  char* workspace = onednn::thread_workspace(plan.workspace_bytes);
  memory weights = plan.packed_weights ? plan.packed_weights : memory(plan.weights, engine, const_cast<void*>(w.raw_data()));
  for (int64_t n = 0; n < plan.images; ++n) {
    const size_t x_size = dtype_size(x.dtype()), y_size = dtype_size(y->dtype());
    memory dst_tensor(plan.dst.tensor, engine, static_cast<char*>(y->raw_data()) + n * plan.dst_image * y_size);
    memory dst = plan.dst.staged() ? memory(plan.dst.primitive, engine, workspace + plan.dst.offset) : dst_tensor;
    const char* x_image = static_cast<const char*>(x.raw_data()) + n * plan.src_image * x_size;
    const auto& padding = plan.zero_point_padding;
    if (padding) onednn::pad_channels_last(x_image, workspace + plan.padded_offset, *padding);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, padding ? memory(plan.src.primitive, engine, workspace + plan.padded_offset)
                               : bind_input(plan.src, x_image, workspace)},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, dst}};
    if (padding) args.emplace(DNNL_ARG_BIAS, memory(plan.bias, engine, const_cast<int32_t*>(padding->bias.data())));
    else if (b != nullptr) args.emplace(DNNL_ARG_BIAS, memory(plan.bias, engine, const_cast<void*>(b->raw_data())));
    for (size_t i = 0; i < operands.size(); ++i) {
      if (static_cast<int>(i) == plan.sum_operand) continue;  // the destination holds it
      const char* operand = static_cast<const char*>(operands[i]->raw_data()) +
                            n * plan.operand_image[i] * dtype_size(operands[i]->dtype());
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(plan.binary_positions[i]) | DNNL_ARG_SRC_1,
                   bind_input(plan.binary[i], operand, workspace));
    }
    args.insert(plan.constant_args.begin(), plan.constant_args.end());
    if (quant_.enabled && quant_.input_zero != 0 && !padding) {
      args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                   memory({{1}, memory::data_type::s32, memory::format_tag::x}, engine, &input_zero_arg_));
    }
    args.emplace(DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(plan.scratchpad));
    plan.primitive.execute(onednn::thread_stream(), args);
    if (plan.dst_transpose) {
      const int64_t batch = plan.out_shape[0], channels = plan.out_shape[1];
      onednn::channels_last_to_plain(static_cast<const float*>(dst.get_data_handle()),
                                     static_cast<float*>(dst_tensor.get_data_handle()), batch / plan.images, channels,
                                     shape_numel(plan.out_shape) / (batch * channels));
    } else if (plan.dst.staged()) {
      plan.dst.reorder.execute(onednn::thread_stream(),
                               {{DNNL_ARG_FROM, dst},
                                {DNNL_ARG_TO, dst_tensor},
                                {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(plan.dst.reorder_scratchpad)}});
    }
  }
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

// Which of the node's tensors the channels_last_convs pass marked; only X
// and binary post-op operands can be.
Expected<ConvLayouts> read_layouts(const KernelInfo& info, const onednn::FusedPostOps& post_ops) {
  ConvLayouts layouts;
  const std::vector<int>& binary = post_ops.binary_inputs();
  layouts.binary_channels_last.assign(binary.size(), false);
  for (int64_t i : passes::channels_last_inputs(info.node())) {
    bool known = i == 0;
    if (i == 0) layouts.src_channels_last = true;
    for (size_t k = 0; k < binary.size(); ++k) {
      if (binary[k] == i) layouts.binary_channels_last[k] = known = true;
    }
    if (!known) return info.model_error(fmt::format("{} lists input {}, which is neither X nor a fused operand",
                                                    passes::kChannelsLastInputs, i));
  }
  layouts.dst_channels_last = passes::channels_last_output(info.node());
  layouts.blocked16 = passes::blocked16_layout(info.node());
  return layouts;
}

// The kQuant* attributes (passes/pass.h), checked.
Expected<QuantConv> read_quant(const KernelInfo& info) {
  QuantConv q;
  if (!info.has_attr(passes::kQuantInputAttribute)) return q;
  const std::vector<float> in = info.attr_floats(passes::kQuantInputAttribute);
  q.weight_scales = info.attr_floats(passes::kQuantWeightScalesAttribute);
  const std::vector<float> out = info.attr_floats(passes::kQuantOutputAttribute);
  if (in.size() != 2 || q.weight_scales.empty() || (!out.empty() && out.size() != 3)) {
    return info.model_error("malformed int8 attributes (input, weight and output scales)");
  }
  q.enabled = true;
  q.input_scale = in[0];
  q.input_zero = static_cast<int32_t>(in[1]);
  if (!out.empty()) {
    q.output_scale = out[0];
    q.output_zero = static_cast<int32_t>(out[1]);
    q.output = static_cast<DataType>(static_cast<int32_t>(out[2]));
    if (q.output != DataType::kUInt8 && q.output != DataType::kInt8) return info.model_error("int8 output must be uint8 or int8");
  }
  return q;
}

Expected<std::unique_ptr<Kernel>> create_conv_kernel(const KernelInfo& info, bool transposed) {
  ECOINFER_ASSIGN_OR_RETURN(QuantConv quant, read_quant(info));
  for (size_t i : {size_t{0}, size_t{1}}) {
    const DataType t = info.declared_input_type(i);
    if (!quant.enabled && t != DataType::kUndefined && t != DataType::kFloat32) {
      return info.unsupported(fmt::format("only float32 is supported, input {} is {}", i, dtype_name(t)));
    }
  }
  ECOINFER_ASSIGN_OR_RETURN(ConvAttrs attrs, read_attrs(info, transposed));
  ECOINFER_ASSIGN_OR_RETURN(onednn::FusedPostOps post_ops, onednn::FusedPostOps::read(info));
  ECOINFER_ASSIGN_OR_RETURN(ConvLayouts layouts, read_layouts(info, post_ops));
  return std::unique_ptr<Kernel>(
      std::make_unique<ConvKernel>(info, std::move(attrs), transposed, std::move(post_ops), std::move(layouts),
                                   std::move(quant)));
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_Conv(const KernelInfo& info) { return create_conv_kernel(info, false); }
Expected<std::unique_ptr<Kernel>> create_ConvTranspose(const KernelInfo& info) { return create_conv_kernel(info, true); }

}  // namespace ecoinfer::kernels
