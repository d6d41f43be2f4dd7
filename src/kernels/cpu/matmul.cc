// MatMul and Gemm through oneDNN's matmul primitive, float32, with the fused
// post-ops of "_ecoinfer.post_ops" (passes/pass.h) applied inside the
// primitive (after Gemm's own alpha and C terms).
//
// Same lifecycle as conv.cc: constant B is kept at creation (Gemm folds
// alpha into it), and the first run of a shape builds the primitive with
// format_tag::any weights and packs B into the chosen layout once. A
// MatMul whose B is 2-D flattens A's leading dims into M, so a linear layer
// over [batch, seq, K] is one large GEMM on packed weights. Batched MatMul
// (B with batch dims) uses oneDNN's batch broadcasting on plain layouts.
//
// Gemm's beta*C: a C that is one row ([N] or [1,N]) becomes the primitive's
// bias; any other C ([M,N], [M,1], scalar) is written into Y first and added
// by a sum post-op. alpha is folded into constant B, or applied by a linear
// post-op when B is given at run time.
//
// int8: a MatMul or Gemm quantized by passes/fuse_qdq_matmul.cc (the
// kQuant* attributes of passes/pass.h) runs as one int8 primitive: u8 or s8
// A with its zero point, constant s8 B packed once (or, for attention's
// activation x activation products, a u8/s8 B with its zero point: u8 is
// shifted to s8 first, as oneDNN takes s8 weights only), Gemm's C as an s32
// bias, per-column output scales s_a * s_b[n], the fused post-ops in f32,
// and, when fuse_qdq_outputs took the trailing QuantizeLinear in, a linear
// map to its scale and zero point with a u8/s8 destination. MatMulInteger
// with a constant B (dynamic quantization) runs on the same primitive with
// an s32 destination and runtime zero points (create_MatMulInteger in
// kernels/ref/quant_matmul.cc hands it over).
#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "kernels/cpu/fused_post_ops.h"
#include "kernels/cpu/int8_matmul.h"
#include "kernels/cpu/implementation_log.h"
#include "kernels/cpu/onednn_context.h"
#include "kernels/cpu/primitive_cache.h"
#include "kernels/kernel.h"
#include "passes/pass.h"

namespace ecoinfer::kernels {
namespace {

using dnnl::memory;
using Dims = memory::dims;

// The int8 form of a MatMul/Gemm (passes/pass.h kQuant* attributes), or a
// MatMulInteger (s32 result, zero points read from inputs 2 and 3).
struct QuantMatmul {
  bool enabled = false;
  bool integer = false;       // MatMulInteger
  bool runtime_zero = false;  // A's zero point is input 2, read on every run
  float input_scale = 1;
  int32_t input_zero = 0;
  std::vector<float> weight_scales;  // 1 or one per column; empty: none (MatMulInteger)
  bool activation_b = false;         // B is a u8/s8 activation with weight_zero
  int32_t weight_zero = 0;
  DataType output = DataType::kFloat32;  // uint8/int8 when requantized, int32 for MatMulInteger
  float output_scale = 1;
  int32_t output_zero = 0;
};

using onednn::onednn_type;

memory::desc plain(const Dims& dims, memory::data_type type) {
  return memory::desc(dims, type, onednn::dense_strides(dims));
}

bool is_int8(DataType t) { return t == DataType::kUInt8 || t == DataType::kInt8; }

// oneDNN 2.6 int8: (acc + s32 bias) times the output scales, then the
// post-ops; zero points are runtime arguments (MatMulInteger's change per run).
void set_quant_attributes(dnnl::primitive_attr& attr, const QuantMatmul& q, int64_t columns) {
  if (!q.weight_scales.empty()) {
    std::vector<float> scales;
    for (size_t n = 0; n < (q.weight_scales.size() == 1 ? 1 : static_cast<size_t>(columns)); ++n) {
      scales.push_back(q.input_scale * q.weight_scales[n]);
    }
    attr.set_output_scales(scales.size() == 1 ? 0 : 1 << 1, scales);
  }
  if (q.runtime_zero || q.input_zero != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  if (q.activation_b) attr.set_zero_points(DNNL_ARG_WEIGHTS, 0, {DNNL_RUNTIME_S32_VAL});
}

// The zero points one run passes to the primitive (null: none).
struct ZeroPoints {
  const int32_t* src = nullptr;
  const int32_t* weights = nullptr;
};

struct MatmulPlan {
  dnnl::primitive primitive;
  memory::desc src, weights, bias, dst, scratchpad;
  memory packed_weights;  // set when B is constant
  // bf16: A is converted into the thread workspace by this reorder first.
  dnnl::primitive src_reorder;
  memory::desc src_compute, src_reorder_scratchpad;
  std::vector<memory::desc> src1;      // fused binary operands, as the primitive reads them
  std::vector<int> binary_positions;   // their indices in the post-op chain
  std::vector<std::pair<int, memory>> constant_args;  // scalars the post-op chain reads
  Shape out_shape;
  bool zero_k = false;     // K == 0: no product, only the C term
  bool prefill_c = false;  // Gemm: Y holds beta*C before the product (sum post-op)
};

// Builds the primitive for plain src/dst and, when `constant_b` (B is in
// `packed`), takes B in the layout already packed when oneDNN runs it as
// fast, else packs it into the layout the primitive prefers.
// `bf16` (with constant B only): A and B in bf16, f32 accumulation and Y.
// `quant` (enabled): the int8 primitive; src, dst and plain_b carry its types.
Status build_primitive(MatmulPlan& plan, const memory::desc& plain_b, bool constant_b,
                       onednn::PostOpChain& chain, onednn::PackedWeights& packed, bool bf16,
                       const QuantMatmul& quant) {
  const auto& engine = onednn::cpu_engine();
  if (is_int8(quant.output)) {
    // QuantizeLinear after the post-ops; the destination conversion rounds
    // half to even and saturates.
    chain.eltwise(dnnl::algorithm::eltwise_linear, 1.0f / quant.output_scale, static_cast<float>(quant.output_zero));
  }
  ECOINFER_ASSIGN_OR_RETURN(dnnl::post_ops ops, chain.finish());
  plan.constant_args = chain.constant_args();
  bf16 = bf16 && constant_b && !quant.enabled;
  const auto compute_type = quant.enabled ? memory::data_type::s8
                            : bf16        ? memory::data_type::bf16
                                          : memory::data_type::f32;
  const memory::desc want_b =
      constant_b ? memory::desc(plain_b.dims(), compute_type, memory::format_tag::any) : plain_b;
  plan.src_compute = plan.src;
  if (bf16) {
    plan.src_compute = memory::desc(plan.src.dims(), compute_type, onednn::dense_strides(plan.src.dims()));
    dnnl::reorder::primitive_desc rpd(engine, plan.src, engine, plan.src_compute, onednn::scratchpad_attr());
    plan.src_reorder = dnnl::reorder(rpd);
    plan.src_reorder_scratchpad = rpd.scratchpad_desc();
  }
  dnnl::primitive_attr attr = onednn::scratchpad_attr();
  attr.set_post_ops(ops);
  if (quant.enabled) set_quant_attributes(attr, quant, plan.dst.dims().back());
  auto make_pd = [&](const memory::desc& weights) {
    dnnl::matmul::desc d = plan.bias ? dnnl::matmul::desc(plan.src_compute, weights, plan.bias, plan.dst)
                                     : dnnl::matmul::desc(plan.src_compute, weights, plan.dst);
    return dnnl::matmul::primitive_desc(d, attr, engine);
  };
  dnnl::matmul::primitive_desc pd = make_pd(want_b);
  if (constant_b) pd = onednn::on_packed_layout(pd, packed, make_pd);
  onednn::note_implementation(quant.enabled ? "matmul int8" : bf16 ? "matmul bf16" : "matmul", pd.impl_info_str());
  plan.weights = pd.weights_desc();
  plan.scratchpad = pd.scratchpad_desc();
  plan.primitive = dnnl::matmul(pd);
  if (constant_b) plan.packed_weights = packed.get(plan.weights);
  return Status::ok();
}

void execute(const MatmulPlan& plan, const void* a, const void* b, const void* bias,
             const std::vector<const Tensor*>& operands, void* y, ZeroPoints zeros = {}) {
  const auto& engine = onednn::cpu_engine();
  memory src(plan.src, engine, const_cast<void*>(a));
  if (plan.src_reorder) {
    memory converted(plan.src_compute, engine, onednn::thread_workspace(plan.src_compute.get_size()));
    plan.src_reorder.execute(onednn::thread_stream(),
                             {{DNNL_ARG_FROM, src},
                              {DNNL_ARG_TO, converted},
                              {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(plan.src_reorder_scratchpad)}});
    src = converted;
  }
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src},
      {DNNL_ARG_WEIGHTS, plan.packed_weights ? plan.packed_weights : memory(plan.weights, engine, const_cast<void*>(b))},
      {DNNL_ARG_DST, memory(plan.dst, engine, y)},
      {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(plan.scratchpad)}};
  if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, memory(plan.bias, engine, const_cast<void*>(bias)));
  args.insert(plan.constant_args.begin(), plan.constant_args.end());
  const memory::desc zero_desc({1}, memory::data_type::s32, memory::format_tag::x);
  if (zeros.src != nullptr) {
    args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, memory(zero_desc, engine, const_cast<int32_t*>(zeros.src)));
  }
  if (zeros.weights != nullptr) {
    args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_WEIGHTS,
                 memory(zero_desc, engine, const_cast<int32_t*>(zeros.weights)));
  }
  for (size_t i = 0; i < operands.size(); ++i) {
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(plan.binary_positions[i]) | DNNL_ARG_SRC_1,
                 memory(plan.src1[i], engine, const_cast<void*>(operands[i]->raw_data())));
  }
  plan.primitive.execute(onednn::thread_stream(), args);
}

// The fused binary operands (float32, present), and their shapes for the
// plan cache's key.
Expected<std::vector<const Tensor*>> fused_operands(const onednn::FusedPostOps& post_ops, const KernelContext& ctx,
                                                    const std::string& who, std::vector<const Shape*>& key_shapes) {
  std::vector<const Tensor*> operands;
  for (int i : post_ops.binary_inputs()) {
    const Tensor* t = ctx.input(static_cast<size_t>(i));
    if (t == nullptr || t->dtype() != DataType::kFloat32) {
      return unimplemented(fmt::format("{}: fused operand (input {}) must be float32", who, i));
    }
    operands.push_back(t);
    key_shapes.push_back(&t->shape());
  }
  return operands;
}

// ---------------------------------------------------------------- MatMul

class MatMulKernel final : public Kernel {
 public:
  MatMulKernel(const KernelInfo& info, onednn::FusedPostOps post_ops, QuantMatmul quant)
      : who_(info.node().describe()), post_ops_(std::move(post_ops)), quant_(std::move(quant)) {
    const DataType weight_type = quant_.enabled ? DataType::kInt8 : DataType::kFloat32;
    const Tensor* b = info.constant_input(1);
    has_const_b_ = b && b->dtype() == weight_type && !quant_.activation_b;
    // A constant weight matrix ([K,N] or a [K] column) lives on only in
    // packed_; a batched constant B is read plain at run time.
    if (has_const_b_ && b->rank() >= 1 && b->rank() <= 2) {
      b_shape_ = b->shape();
      const int64_t n = b->rank() == 1 ? 1 : b->dim(1);
      packed_.hold(*b, plain({b->dim(0), n}, onednn_type(weight_type)));
    }
    bf16_ = info.attr_int(passes::kComputeBf16Attribute, 0) == 1;
  }

  bool owns_constant_input(size_t i) const override { return i == 1 && packed_.holds(); }

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    // Packed B: the session may have dropped the plain tensor (b is empty).
    const bool packed_b = packed_.holds();
    if (a == nullptr || (b == nullptr && !packed_b)) return invalid_argument(who_ + ": needs inputs A and B");
    const Shape& bs = packed_b ? b_shape_ : b->shape();
    ECOINFER_RETURN_IF_ERROR(check_types(*a, packed_b ? DataType::kUndefined : b->dtype()));
    if (a->rank() == 0 || bs.empty()) return shape_error("MatMul operands must have rank 1 or more", a->shape(), bs);
    const int64_t k = a->shape().back();
    const int64_t kb = bs.size() == 1 ? bs[0] : bs[bs.size() - 2];
    if (k != kb) return shape_error(fmt::format("inner dimensions differ ({} vs {})", k, kb), a->shape(), bs);
    ZeroPoints zeros;
    int32_t src_zero = quant_.input_zero, weight_zero = quant_.weight_zero;
    if (quant_.runtime_zero) ECOINFER_RETURN_IF_ERROR(read_runtime_zeros(ctx, *a, src_zero));
    if (quant_.runtime_zero || src_zero != 0) zeros.src = &src_zero;
    std::vector<const Shape*> key_shapes = {&a->shape(), &bs};
    ECOINFER_ASSIGN_OR_RETURN(std::vector<const Tensor*> operands, fused_operands(post_ops_, ctx, who_, key_shapes));
    const onednn::ShapeKey key = onednn::shape_key(key_shapes);
    return onednn::guard(who_, [&]() -> Status {
      auto plan = cache_.get(key, [&]() { return make_plan(*a, bs, operands); });
      if (!plan) return plan.status();
      const MatmulPlan& p = **plan;
      Tensor* y = ctx.output(0, quant_.output, p.out_shape);
      if (y->numel() == 0) return Status::ok();
      if (p.zero_k) {
        if (!post_ops_.empty() || quant_.enabled) {
          return unimplemented(who_ + ": an empty inner dimension with fused post-ops or int8");
        }
        std::fill_n(y->data<float>(), y->numel(), 0.0f);
        return Status::ok();
      }
      const void* b_data = packed_b ? nullptr : b->raw_data();
      if (quant_.activation_b) {
        b_data = signed_b(*b, weight_zero);
        zeros.weights = &weight_zero;
      }
      execute(p, a->raw_data(), b_data, nullptr, operands, y->raw_data(), zeros);
      return Status::ok();
    });
  }

 private:
  Status shape_error(const std::string& what, const Shape& a, const Shape& b) const {
    return invalid_argument(fmt::format("{}: {} (A is {}, B is {})", who_, what, shape_to_string(a),
                                        shape_to_string(b)));
  }
  // `b_type`: kUndefined when B is packed_'s (its type was checked at creation).
  Status check_types(const Tensor& a, DataType b_type) const;
  Status read_runtime_zeros(KernelContext& ctx, const Tensor& a, int32_t& src_zero) const;
  const void* signed_b(const Tensor& b, int32_t& zero) const;
  Expected<std::shared_ptr<const MatmulPlan>> make_plan(const Tensor& a, const Shape& b_shape,
                                                        const std::vector<const Tensor*>& operands) const;

  std::string who_;
  onednn::FusedPostOps post_ops_;
  QuantMatmul quant_;
  bool has_const_b_ = false;  // B is a constant of the weight type
  Shape b_shape_;             // B's shape when packed_ holds it
  bool bf16_ = false;  // bf16 A and B (constant B only), f32 accumulation and Y
  onednn::ShapeCache<MatmulPlan> cache_;
  mutable onednn::PackedWeights packed_;  // touched only inside cache_.get's make()
};

Status MatMulKernel::check_types(const Tensor& a, DataType b_type) const {
  if (b_type == DataType::kUndefined) b_type = quant_.enabled ? DataType::kInt8 : DataType::kFloat32;
  if (!quant_.enabled) {
    if (a.dtype() == DataType::kFloat32 && b_type == DataType::kFloat32) return Status::ok();
    return unimplemented(fmt::format("{}: only float32 MatMul is supported (A is {}, B is {}); integer products "
                                     "are MatMulInteger or a quantized model's job",
                                     who_, dtype_name(a.dtype()), dtype_name(b_type)));
  }
  const bool b_ok = quant_.activation_b ? is_int8(b_type) : has_const_b_;
  if (is_int8(a.dtype()) && b_ok) return Status::ok();
  return unimplemented(fmt::format("{}: an int8 MatMul needs uint8/int8 A and {} B (A is {}, B is {})", who_,
                                   quant_.activation_b ? "uint8/int8" : "constant int8", dtype_name(a.dtype()),
                                   dtype_name(b_type)));
}

// MatMulInteger (and its fused dynamic form): A's zero point (input 2) is one
// value computed per run by DynamicQuantizeLinear; B's was checked to be zero
// at creation.
Status MatMulKernel::read_runtime_zeros(KernelContext& ctx, const Tensor& a, int32_t& src_zero) const {
  src_zero = 0;
  const Tensor* zp = ctx.input(2);
  if (zp == nullptr) return Status::ok();
  if (zp->dtype() != a.dtype() || zp->numel() != 1) {
    return unimplemented(fmt::format("{}: with a constant B, A's zero point must be one {} value (it is {} {})", who_,
                                     dtype_name(a.dtype()), dtype_name(zp->dtype()), shape_to_string(zp->shape())));
  }
  src_zero = zp->dtype() == DataType::kUInt8 ? zp->data<uint8_t>()[0] : zp->data<int8_t>()[0];
  return Status::ok();
}

// oneDNN takes s8 weights only: a u8 activation B is shifted by -128 into
// a buffer of this thread's (b - z == (b - 128) - (z - 128)), `zero` with
// it. Not the thread workspace: execute() may grow that one for A's reorder
// while B is still to be read.
const void* MatMulKernel::signed_b(const Tensor& b, int32_t& zero) const {
  if (b.dtype() == DataType::kInt8) return b.raw_data();
  const int64_t count = b.numel();  // hoisted: numel() is an out-of-line call
  thread_local std::vector<int8_t> shifted;
  if (shifted.size() < static_cast<size_t>(count)) shifted.resize(static_cast<size_t>(count));
  int8_t* out = shifted.data();
  const uint8_t* in = b.data<uint8_t>();
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<int8_t>(in[i] ^ 0x80);
  zero -= 128;
  return out;
}

Expected<std::shared_ptr<const MatmulPlan>> MatMulKernel::make_plan(const Tensor& a, const Shape& b_shape,
                                                                    const std::vector<const Tensor*>& operands) const {
  // numpy rules: a 1-D A is a row [1,K], a 1-D B a column [K,1]; the added
  // dims are dropped from the result.
  Shape as = a.shape(), bs = b_shape;
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  const size_t rank = std::max(as.size(), bs.size());
  if (rank > 12) return shape_error("rank above 12 is not supported", a.shape(), b_shape);

  Shape batch(rank - 2, 1);
  for (size_t i = 0; i + 2 < rank; ++i) {
    const size_t ai = i + as.size() - rank, bi = i + bs.size() - rank;  // wrap below 0 = absent
    const int64_t da = i + as.size() >= rank ? as[ai] : 1, db = i + bs.size() >= rank ? bs[bi] : 1;
    if (da != db && da != 1 && db != 1) {
      return shape_error(fmt::format("batch dimensions {} and {} do not broadcast", da, db), a.shape(), b_shape);
    }
    batch[i] = da == 1 ? db : da;
  }
  auto plan = std::make_shared<MatmulPlan>();
  plan->out_shape = batch;
  if (a.rank() > 1) plan->out_shape.push_back(m);
  if (b_shape.size() > 1) plan->out_shape.push_back(n);
  plan->zero_k = k == 0;
  if (plan->zero_k || shape_numel(plan->out_shape) == 0) return std::shared_ptr<const MatmulPlan>(std::move(plan));

  // The fused operands over the full [batch..., M, N] result (1s where a
  // 1-D operand dropped M or N).
  Dims yd(batch.begin(), batch.end());
  yd.push_back(m);
  yd.push_back(n);
  std::vector<Dims> operand_dims;
  bool foldable = true;  // every operand is one row broadcast, or the whole result
  for (const Tensor* t : operands) {
    ECOINFER_ASSIGN_OR_RETURN(Dims dims, onednn::broadcast_into(t->shape(), onednn::to_dims(plan->out_shape), who_));
    if (a.rank() == 1) dims.insert(dims.end() - (b_shape.size() > 1 ? 1 : 0), 1);
    if (b_shape.size() == 1) dims.push_back(1);
    foldable &= dims == yd || std::all_of(dims.begin(), dims.end() - 1, [](int64_t d) { return d == 1; });
    operand_dims.push_back(std::move(dims));
  }

  const auto src_type = quant_.enabled ? onednn_type(a.dtype()) : memory::data_type::f32;
  const auto b_type = quant_.enabled ? memory::data_type::s8 : memory::data_type::f32;
  const auto dst_type = onednn_type(quant_.output);
  memory::desc plain_b;
  bool constant_b = false;
  if (bs.size() == 2 && foldable) {
    // One weight matrix: fold A's batch dims into M and pack B once.
    const int64_t rows = shape_numel(as) / k;
    plan->src = plain({rows, k}, src_type);
    plan->dst = plain({rows, n}, dst_type);
    plain_b = plain({k, n}, b_type);
    constant_b = packed_.holds();
    for (const Dims& d : operand_dims) plan->src1.push_back(onednn::plain_f32(d == yd ? Dims{rows, n} : Dims{1, d.back()}));
  } else {
    Dims ad(rank, 1), bd(rank, 1);
    std::copy(as.begin(), as.end(), ad.end() - static_cast<std::ptrdiff_t>(as.size()));
    std::copy(bs.begin(), bs.end(), bd.end() - static_cast<std::ptrdiff_t>(bs.size()));
    plan->src = plain(ad, src_type);
    plan->dst = plain(yd, dst_type);
    plain_b = plain(bd, b_type);
    for (const Dims& d : operand_dims) plan->src1.push_back(onednn::plain_f32(d));
  }
  onednn::PostOpChain chain(plan->dst.dims().size());
  plan->binary_positions = post_ops_.append_to(chain, plan->src1);
  ECOINFER_RETURN_IF_ERROR(build_primitive(*plan, plain_b, constant_b, chain, packed_, bf16_, quant_));
  if (!constant_b && packed_.holds()) {
    // A fused operand kept the batch dims: the primitive reads B plain, as
    // [1.., K, N], which has the bytes of a plain [K, N] (made from the
    // packed copy once and kept with it).
    const memory flat = packed_.get(plain({k, n}, b_type));
    plan->packed_weights = memory(plain_b, onednn::cpu_engine(), flat.get_data_handle());
  }
  return std::shared_ptr<const MatmulPlan>(std::move(plan));
}

// ---------------------------------------------------------------- Gemm

class GemmKernel final : public Kernel {
 public:
  GemmKernel(const KernelInfo& info, bool trans_a, bool trans_b, float alpha, float beta,
             onednn::FusedPostOps post_ops, QuantMatmul quant)
      : who_(info.node().describe()), trans_a_(trans_a), trans_b_(trans_b), alpha_(alpha), beta_(beta),
        has_c_(info.has_input(2)), post_ops_(std::move(post_ops)), quant_(std::move(quant)) {
    bf16_ = info.attr_int(passes::kComputeBf16Attribute, 0) == 1;
    const Tensor* b = info.constant_input(1);
    if (quant_.enabled) {
      // fuse_qdq_matmul folded alpha into the scales and beta * C into the int32 bias.
      if (b && b->dtype() == DataType::kInt8) hold_b(*b);
      return;
    }
    if (b && b->dtype() == DataType::kFloat32 && alpha != 0.0f) {
      // Fold alpha into the constant weights, so the primitive needs no scale.
      Tensor scaled = alpha == 1.0f ? *b : b->clone();
      if (alpha != 1.0f) {
        for (float& v : scaled.span<float>()) v *= alpha;
      }
      hold_b(std::move(scaled));
      product_scale_ = 1.0f;
    } else {
      product_scale_ = alpha;
    }
    // A constant row C becomes the bias, scaled once (the linear post-op for
    // alpha multiplies the bias too, hence the division).
    const Tensor* c = info.constant_input(2);
    if (c && c->dtype() == DataType::kFloat32 && product_scale_ != 0.0f) {
      const float factor = beta / product_scale_;
      scaled_c_ = factor == 1.0f ? *c : c->clone();
      if (factor != 1.0f) {
        for (float& v : scaled_c_.span<float>()) v *= factor;
      }
    }
  }

  Status compute(KernelContext& ctx) const override;
  bool owns_constant_input(size_t i) const override { return i == 1 && packed_.holds(); }

 private:
  Status shape_error(const std::string& what, const Shape& a, const Shape& b) const {
    return invalid_argument(fmt::format("{}: {} (A is {}, B is {})", who_, what, shape_to_string(a),
                                        shape_to_string(b)));
  }
  // Constant 2-D B (alpha folded in) lives on only in packed_.
  void hold_b(Tensor b) {
    if (b.rank() != 2) return;
    b_shape_ = b.shape();
    const int64_t k = trans_b_ ? b.dim(1) : b.dim(0), n = trans_b_ ? b.dim(0) : b.dim(1);
    const memory::desc desc({k, n}, onednn_type(b.dtype()), trans_b_ ? Dims{1, k} : Dims{n, 1});
    packed_.hold(std::move(b), desc);
  }
  Expected<std::shared_ptr<const MatmulPlan>> make_plan(int64_t m, int64_t k, int64_t n, const Tensor* c,
                                                        const std::vector<const Tensor*>& operands,
                                                        DataType a_type) const;
  // `b_type`: kUndefined when B is packed_'s (its type was checked at creation).
  Status check_types(const Tensor& a, DataType b_type, const Tensor* c, int64_t n) const;
  // True when C is one row of N values: it becomes the primitive's bias.
  static bool c_is_row(const Tensor& c, int64_t n) {
    return (c.rank() == 1 && c.dim(0) == n) || (c.rank() == 2 && c.dim(0) == 1 && c.dim(1) == n);
  }
  void fill_c(const Tensor& c, int64_t m, int64_t n, float* y) const;

  std::string who_;
  bool trans_a_, trans_b_;
  float alpha_, beta_;
  bool has_c_;
  onednn::FusedPostOps post_ops_;
  QuantMatmul quant_;
  float product_scale_ = 1.0f;  // alpha still to apply to A*B (1 when folded into B)
  Shape b_shape_;               // B's shape when packed_ holds it
  bool bf16_ = false;  // bf16 A and B (constant B only), f32 accumulation and Y
  Tensor scaled_c_;  // constant C times beta / product_scale_, for the bias
  onednn::ShapeCache<MatmulPlan> cache_;
  mutable onednn::PackedWeights packed_;  // touched only inside cache_.get's make()
};

// Y = beta * C, broadcast to [M, N].
void GemmKernel::fill_c(const Tensor& c, int64_t m, int64_t n, float* y) const {
  const float* cp = c.data<float>();
  const int64_t rows = c.rank() == 2 ? c.dim(0) : 1;
  const int64_t cols = c.rank() == 0 ? 1 : c.dim(c.rank() - 1);
  for (int64_t i = 0; i < m; ++i) {
    const float* crow = cp + (rows == 1 ? 0 : i) * cols;
    float* yrow = y + i * n;
    if (cols == 1) std::fill_n(yrow, n, beta_ * crow[0]);
    else for (int64_t j = 0; j < n; ++j) yrow[j] = beta_ * crow[j];
  }
}

Expected<std::shared_ptr<const MatmulPlan>> GemmKernel::make_plan(int64_t m, int64_t k, int64_t n, const Tensor* c,
                                                                   const std::vector<const Tensor*>& operands,
                                                                   DataType a_type) const {
  auto plan = std::make_shared<MatmulPlan>();
  plan->out_shape = {m, n};
  plan->zero_k = k == 0 || product_scale_ == 0.0f;
  const bool use_c = c != nullptr && beta_ != 0.0f;
  if (plan->zero_k || m * n == 0) return std::shared_ptr<const MatmulPlan>(std::move(plan));
  const auto src_type = quant_.enabled ? onednn_type(a_type) : memory::data_type::f32;
  const auto b_type = quant_.enabled ? memory::data_type::s8 : memory::data_type::f32;
  plan->src = memory::desc({m, k}, src_type, trans_a_ ? Dims{1, m} : Dims{k, 1});
  plan->dst = plain({m, n}, onednn_type(quant_.output));
  const memory::desc plain_b({k, n}, b_type, trans_b_ ? Dims{1, k} : Dims{n, 1});
  onednn::PostOpChain chain(2);
  if (product_scale_ != 1.0f) chain.eltwise(dnnl::algorithm::eltwise_linear, product_scale_, 0.0f);
  if (use_c && c_is_row(*c, n)) {
    plan->bias = plain({1, n}, quant_.enabled ? memory::data_type::s32 : memory::data_type::f32);
  } else if (use_c) {
    plan->prefill_c = true;
    chain.sum();
  }
  for (const Tensor* t : operands) {
    ECOINFER_ASSIGN_OR_RETURN(Dims dims, onednn::broadcast_into(t->shape(), {m, n}, who_));
    plan->src1.push_back(onednn::plain_f32(dims));
  }
  plan->binary_positions = post_ops_.append_to(chain, plan->src1);
  ECOINFER_RETURN_IF_ERROR(
      build_primitive(*plan, plain_b, packed_.holds(), chain, packed_, bf16_, quant_));
  return std::shared_ptr<const MatmulPlan>(std::move(plan));
}

Status GemmKernel::check_types(const Tensor& a, DataType b_type, const Tensor* c, int64_t n) const {
  if (b_type == DataType::kUndefined) b_type = quant_.enabled ? DataType::kInt8 : DataType::kFloat32;
  if (quant_.enabled) {
    const bool ok = is_int8(a.dtype()) && packed_.holds() &&
                    (c == nullptr || (c->dtype() == DataType::kInt32 && c_is_row(*c, n)));
    if (ok) return Status::ok();
    return unimplemented(fmt::format("{}: an int8 Gemm needs uint8/int8 A, constant int8 B and an int32 row C "
                                     "(A is {}, B is {})", who_, dtype_name(a.dtype()), dtype_name(b_type)));
  }
  if (a.dtype() != DataType::kFloat32 || b_type != DataType::kFloat32 ||
      (c != nullptr && c->dtype() != DataType::kFloat32)) {
    return unimplemented(fmt::format("{}: only float32 Gemm is supported (A is {}, B is {})", who_,
                                     dtype_name(a.dtype()), dtype_name(b_type)));
  }
  return Status::ok();
}

Status GemmKernel::compute(KernelContext& ctx) const {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  const Tensor* c = has_c_ ? ctx.input(2) : nullptr;
  // Packed B: the session may have dropped the plain tensor (b is empty).
  const bool packed_b = packed_.holds();
  if (a == nullptr || (b == nullptr && !packed_b)) return invalid_argument(who_ + ": needs inputs A and B");
  const Shape& bs = packed_b ? b_shape_ : b->shape();
  if (a->rank() != 2 || bs.size() != 2) return shape_error("A and B must be 2-D", a->shape(), bs);
  const int64_t m = trans_a_ ? a->dim(1) : a->dim(0), k = trans_a_ ? a->dim(0) : a->dim(1);
  const int64_t kb = trans_b_ ? bs[1] : bs[0], n = trans_b_ ? bs[0] : bs[1];
  ECOINFER_RETURN_IF_ERROR(check_types(*a, packed_b ? DataType::kUndefined : b->dtype(), c, n));
  if (k != kb) return shape_error(fmt::format("inner dimensions differ ({} vs {})", k, kb), a->shape(), bs);
  if (c != nullptr) {
    const bool ok = c->rank() <= 2 && (c->rank() < 1 || c->shape().back() == 1 || c->shape().back() == n) &&
                    (c->rank() < 2 || c->dim(0) == 1 || c->dim(0) == m);
    if (!ok) {
      return invalid_argument(fmt::format("{}: C is {} and does not broadcast to the {}x{} result", who_,
                                          shape_to_string(c->shape()), m, n));
    }
  }
  std::vector<const Shape*> key_shapes = {&a->shape(), &bs, c != nullptr ? &c->shape() : nullptr};
  ECOINFER_ASSIGN_OR_RETURN(std::vector<const Tensor*> operands, fused_operands(post_ops_, ctx, who_, key_shapes));
  const onednn::ShapeKey key = onednn::shape_key(key_shapes);
  return onednn::guard(who_, [&]() -> Status {
    auto plan = cache_.get(key, [&]() { return make_plan(m, k, n, c, operands, a->dtype()); });
    if (!plan) return plan.status();
    const MatmulPlan& p = **plan;
    Tensor* y = ctx.output(0, quant_.output, p.out_shape);
    if (y->numel() == 0) return Status::ok();
    if (quant_.enabled) {
      if (p.zero_k) return unimplemented(who_ + ": an int8 Gemm with an empty inner dimension");
      int32_t src_zero = quant_.input_zero;
      execute(p, a->raw_data(), nullptr, c != nullptr ? c->raw_data() : nullptr, operands, y->raw_data(),
              {src_zero != 0 ? &src_zero : nullptr, nullptr});
      return Status::ok();
    }
    float* yp = y->data<float>();
    if (p.zero_k) {
      if (!post_ops_.empty()) return unimplemented(who_ + ": a zero alpha or inner dimension with fused post-ops");
      if (c != nullptr && beta_ != 0.0f) fill_c(*c, m, n, yp);
      else std::fill_n(yp, y->numel(), 0.0f);
      return Status::ok();
    }
    if (p.prefill_c) fill_c(*c, m, n, yp);
    const void* bias = nullptr;
    std::vector<float> scaled;  // only for a row C that needs scaling
    if (p.bias && scaled_c_.defined()) {
      bias = scaled_c_.raw_data();
    } else if (p.bias) {
      const float factor = beta_ / product_scale_;  // the linear post-op multiplies the bias too
      if (factor == 1.0f) {
        bias = c->raw_data();
      } else {
        scaled.assign(c->data<float>(), c->data<float>() + n);
        for (float& v : scaled) v *= factor;
        bias = scaled.data();
      }
    }
    execute(p, a->raw_data(), packed_b ? nullptr : b->raw_data(), bias, operands, yp);
    return Status::ok();
  });
}

// The kQuant* attributes (passes/pass.h), checked.
Expected<QuantMatmul> read_quant(const KernelInfo& info) {
  QuantMatmul q;
  if (info.attr_int(passes::kQuantDynamicAttribute, 0) == 1) {
    q.weight_scales = info.attr_floats(passes::kQuantWeightScalesAttribute);
    if (q.weight_scales.empty()) return info.model_error("malformed int8 attributes (no weight scales)");
    q.enabled = q.runtime_zero = true;
    return q;
  }
  if (!info.has_attr(passes::kQuantInputAttribute)) return q;
  const std::vector<float> in = info.attr_floats(passes::kQuantInputAttribute);
  q.weight_scales = info.attr_floats(passes::kQuantWeightScalesAttribute);
  const std::vector<float> out = info.attr_floats(passes::kQuantOutputAttribute);
  const std::vector<float> b_zero = info.attr_floats(passes::kQuantWeightZeroAttribute);
  if (in.size() != 2 || q.weight_scales.empty() || (!out.empty() && out.size() != 3) || b_zero.size() > 1 ||
      (!b_zero.empty() && q.weight_scales.size() != 1)) {
    return info.model_error("malformed int8 attributes (input, weight and output scales and zero points)");
  }
  q.enabled = true;
  q.input_scale = in[0];
  q.input_zero = static_cast<int32_t>(in[1]);
  q.activation_b = !b_zero.empty();
  q.weight_zero = q.activation_b ? static_cast<int32_t>(b_zero[0]) : 0;
  if (!out.empty()) {
    q.output_scale = out[0];
    q.output_zero = static_cast<int32_t>(out[1]);
    q.output = static_cast<DataType>(static_cast<int32_t>(out[2]));
    if (!is_int8(q.output)) return info.model_error("int8 output must be uint8 or int8");
  }
  return q;
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_MatMul(const KernelInfo& info) {
  ECOINFER_ASSIGN_OR_RETURN(QuantMatmul quant, read_quant(info));
  for (size_t i : {size_t{0}, size_t{1}}) {
    const DataType t = info.declared_input_type(i);
    if (!quant.enabled && t != DataType::kUndefined && t != DataType::kFloat32) {
      return info.unsupported(fmt::format("only float32 MatMul is supported, input {} is {}", i, dtype_name(t)));
    }
  }
  ECOINFER_ASSIGN_OR_RETURN(onednn::FusedPostOps post_ops, onednn::FusedPostOps::read(info));
  return std::unique_ptr<Kernel>(std::make_unique<MatMulKernel>(info, std::move(post_ops), std::move(quant)));
}

Expected<std::unique_ptr<Kernel>> create_Gemm(const KernelInfo& info) {
  ECOINFER_ASSIGN_OR_RETURN(QuantMatmul quant, read_quant(info));
  for (size_t i : {size_t{0}, size_t{1}, size_t{2}}) {
    const DataType t = info.declared_input_type(i);
    if (!quant.enabled && t != DataType::kUndefined && t != DataType::kFloat32) {
      return info.unsupported(fmt::format("only float32 Gemm is supported, input {} is {}", i, dtype_name(t)));
    }
  }
  const bool trans_a = info.attr_int("transA", 0) != 0, trans_b = info.attr_int("transB", 0) != 0;
  const float alpha = info.attr_float("alpha", 1.0f), beta = info.attr_float("beta", 1.0f);
  if (quant.enabled && (trans_a || quant.activation_b || alpha != 1.0f || beta != 1.0f)) {
    return info.model_error("an int8 Gemm takes no transA, alpha, beta or activation B (fuse_qdq_matmul folds them)");
  }
  ECOINFER_ASSIGN_OR_RETURN(onednn::FusedPostOps post_ops, onednn::FusedPostOps::read(info));
  return std::unique_ptr<Kernel>(std::make_unique<GemmKernel>(info, trans_a, trans_b, alpha, beta,
                                                              std::move(post_ops), std::move(quant)));
}

bool int8_matmul_integer_applies(const KernelInfo& info) {
  const Tensor* b = info.constant_input(1);
  if (b == nullptr || b->dtype() != DataType::kInt8 || b->rank() < 2) return false;
  const DataType a = info.declared_input_type(0);
  if (a != DataType::kUndefined && !is_int8(a)) return false;
  // A per-row zero point of A (1-D, M values) is the reference kernel's.
  if (const Tensor* a_zero = info.constant_input(2); a_zero != nullptr && a_zero->numel() != 1) return false;
  if (info.has_input(3)) {
    const Tensor* zp = info.constant_input(3);
    if (zp == nullptr || zp->dtype() != DataType::kInt8) return false;
    for (int8_t z : zp->template span<int8_t>()) {
      if (z != 0) return false;
    }
  }
  return true;
}

Expected<std::unique_ptr<Kernel>> create_int8_matmul_integer(const KernelInfo& info) {
  QuantMatmul q;
  q.enabled = q.integer = q.runtime_zero = true;
  q.output = DataType::kInt32;
  return std::unique_ptr<Kernel>(std::make_unique<MatMulKernel>(info, onednn::FusedPostOps(), std::move(q)));
}

}  // namespace ecoinfer::kernels
