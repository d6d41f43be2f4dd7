// FusedElementwise (domain "com.ecoinfer"): a chain of element-wise ops run
// as one pass over memory. src/passes/fuse_elementwise.cc builds it from
// chains like HardSwish's Add -> Clip -> Mul -> Div, so the intermediate
// tensors are never written to memory: each block of elements goes through
// every step while it sits in L1.
//
// The program, in attributes (step k writes register k + 1; register 0 is
// input 0; the output is the last register):
//   ops     STRINGS  the ONNX op of each step: Add Sub Mul Div Pow Relu
//                    LeakyRelu Sigmoid HardSigmoid HardSwish Tanh Erf Exp Log
//                    Sqrt Neg Reciprocal Abs Clip Floor Ceil Elu
//   lhs     INTS     the register of the first operand, -1 for the scalar
//   rhs     INTS     the register of the second operand, -1 for the scalar,
//                    -2 for none (unary ops)
//   scalars FLOATS   the step's constant operand (when lhs or rhs is -1)
//   alpha, beta FLOATS  per step: LeakyRelu/Elu alpha, HardSigmoid alpha and
//                    beta, Clip min and max
//   rank    INT      the output's minimum rank: a [1,1,1] constant operand
//                    of the original graph broadcast x up to that rank
//
// Every register has input 0's shape, so there is no broadcasting inside:
// the pass only fuses ops whose other operand is a scalar constant or
// another register. The float math mirrors src/kernels/ref/unary.cc (the same
// polynomials), so fused and unfused graphs agree to the last bit or two.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "kernels/kernel.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/fast_math.h"

namespace ecoinfer::kernels {
namespace {

// Float math from fast_math.h, shared with unary.cc so fused and unfused
// graphs give the same bits.

template <class C> inline C vexp(C x) { if constexpr (std::is_same_v<C, float>) return fast_exp(x); else return std::exp(x); }
template <class C> inline C vtanh(C x) { if constexpr (std::is_same_v<C, float>) return fast_tanh(x); else return std::tanh(x); }
template <class C> inline C verf(C x) { if constexpr (std::is_same_v<C, float>) return fast_erf(x); else return std::erf(x); }

// ---- The program -------------------------------------------------------------

enum class Op {
  kAdd, kSub, kMul, kDiv, kPow,
  kRelu, kLeakyRelu, kSigmoid, kHardSigmoid, kHardSwish, kTanh, kErf, kExp, kLog, kSqrt, kNeg,
  kReciprocal, kAbs, kClip, kFloor, kCeil, kElu,
};

constexpr struct { const char* name; Op op; bool binary; } kOps[] = {
    {"Add", Op::kAdd, true}, {"Sub", Op::kSub, true}, {"Mul", Op::kMul, true}, {"Div", Op::kDiv, true},
    {"Pow", Op::kPow, true}, {"Relu", Op::kRelu, false}, {"LeakyRelu", Op::kLeakyRelu, false},
    {"Sigmoid", Op::kSigmoid, false}, {"HardSigmoid", Op::kHardSigmoid, false},
    {"HardSwish", Op::kHardSwish, false}, {"Tanh", Op::kTanh, false}, {"Erf", Op::kErf, false},
    {"Exp", Op::kExp, false}, {"Log", Op::kLog, false}, {"Sqrt", Op::kSqrt, false}, {"Neg", Op::kNeg, false},
    {"Reciprocal", Op::kReciprocal, false}, {"Abs", Op::kAbs, false}, {"Clip", Op::kClip, false},
    {"Floor", Op::kFloor, false}, {"Ceil", Op::kCeil, false}, {"Elu", Op::kElu, false},
};

constexpr int kScalar = -1;
constexpr int kNone = -2;
constexpr size_t kMaxSteps = 32;
// Elements per block: every register's block stays in L1 (33 x 256 x 4 B).
constexpr int64_t kBlock = 256;

struct Step {
  Op op;
  int lhs;  // register, or kScalar
  int rhs;  // register, kScalar, or kNone
  float scalar;
  float alpha;
  float beta;
};

// One step over n elements: d = op(a, b), where a or b may be a broadcast
// scalar. Each case is its own loop so the compiler vectorizes it.
template <class C>
void run_binary(const Step& s, const C* a, const C* b, C* d, int64_t n) {
  const C k = static_cast<C>(s.scalar);
  auto apply = [&](auto f) {
    if (a && b) for (int64_t i = 0; i < n; ++i) d[i] = f(a[i], b[i]);
    else if (a) for (int64_t i = 0; i < n; ++i) d[i] = f(a[i], k);
    else for (int64_t i = 0; i < n; ++i) d[i] = f(k, b[i]);
  };
  switch (s.op) {
    case Op::kAdd: apply([](C x, C y) { return x + y; }); break;
    case Op::kSub: apply([](C x, C y) { return x - y; }); break;
    case Op::kMul: apply([](C x, C y) { return x * y; }); break;
    case Op::kDiv:
      // x / k as x * (1/k): a divide costs ~10x a multiply in the vector
      // units, and HardSwish's / 6 is in most chains (at most 1 ulp apart).
      if (a && !b) {
        const C inv = C(1) / k;
        for (int64_t i = 0; i < n; ++i) d[i] = a[i] * inv;
      } else {
        apply([](C x, C y) { return x / y; });
      }
      break;
    case Op::kPow:
      // Pow's reference kernel special-cases these constant exponents.
      if (a && !b && s.scalar == 2.0f) apply([](C x, C) { return x * x; });
      else if (a && !b && s.scalar == 0.5f) apply([](C x, C) { return std::sqrt(x); });
      else apply([](C x, C y) { return static_cast<C>(std::pow(x, y)); });
      break;
    default: break;
  }
}

template <class C>
void run_unary(const Step& s, const C* a, C* d, int64_t n) {
  const C alpha = static_cast<C>(s.alpha), beta = static_cast<C>(s.beta);
  auto apply = [&](auto f) { for (int64_t i = 0; i < n; ++i) d[i] = f(a[i]); };
  switch (s.op) {
    case Op::kRelu: apply([](C v) { return v < C(0) ? C(0) : v; }); break;
    case Op::kLeakyRelu: apply([=](C v) { return v < 0 ? v * alpha : v; }); break;
    case Op::kSigmoid: apply([](C v) { return C(1) / (C(1) + vexp(-v)); }); break;
    case Op::kHardSigmoid: apply([=](C v) { return std::min(std::max(alpha * v + beta, C(0)), C(1)); }); break;
    case Op::kHardSwish:
      apply([](C v) { return v * std::min(std::max(v * C(1.0 / 6.0) + C(0.5), C(0)), C(1)); });
      break;
    case Op::kTanh: apply([](C v) { return vtanh(v); }); break;
    case Op::kErf: apply([](C v) { return verf(v); }); break;
    case Op::kExp: apply([](C v) { return vexp(v); }); break;
    case Op::kLog: apply([](C v) { return std::log(v); }); break;
    case Op::kSqrt: apply([](C v) { return std::sqrt(v); }); break;
    case Op::kNeg: apply([](C v) { return -v; }); break;
    case Op::kReciprocal: apply([](C v) { return C(1) / v; }); break;
    case Op::kAbs: apply([](C v) { return std::fabs(v); }); break;
    case Op::kClip: apply([=](C v) { return std::min(std::max(v, alpha), beta); }); break;
    case Op::kFloor: apply([](C v) { return std::floor(v); }); break;
    case Op::kCeil: apply([](C v) { return std::ceil(v); }); break;
    case Op::kElu: apply([=](C v) { return v < C(0) ? alpha * (vexp(v) - C(1)) : v; }); break;
    default: break;
  }
}

template <class T>
void run_program(const std::vector<Step>& steps, const T* x, T* y, int64_t numel) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t blocks = (numel + kBlock - 1) / kBlock;
  const int64_t per_task = 16;  // blocks per OpenMP task: 4096 elements
  const int64_t tasks = (blocks + per_task - 1) / per_task;
#pragma omp parallel for schedule(static) if (numel >= kParallelElements && tasks > 1)
  for (int64_t t = 0; t < tasks; ++t) {
    alignas(64) C regs[kMaxSteps + 1][kBlock];
    const int64_t block_end = std::min(blocks, (t + 1) * per_task);
    for (int64_t b = t * per_task; b < block_end; ++b) {
      const int64_t begin = b * kBlock;
      const int64_t n = std::min(kBlock, numel - begin);
      for (int64_t i = 0; i < n; ++i) regs[0][i] = static_cast<C>(load_element(x[begin + i]));
      for (size_t k = 0; k < steps.size(); ++k) {
        const Step& s = steps[k];
        const C* a = s.lhs >= 0 ? regs[s.lhs] : nullptr;
        if (s.rhs == kNone) {
          run_unary(s, a, regs[k + 1], n);
        } else {
          run_binary(s, a, s.rhs >= 0 ? regs[s.rhs] : nullptr, regs[k + 1], n);
        }
      }
      const C* out = regs[steps.size()];
      for (int64_t i = 0; i < n; ++i) y[begin + i] = store_element<T>(out[i]);
    }
  }
}

Expected<std::vector<Step>> read_program(const KernelInfo& info) {
  const ir::Attribute* ops = info.node().attribute("ops");
  if (ops == nullptr || ops->kind != ir::Attribute::Kind::kStrings || ops->strings.empty())
    return info.model_error("needs the STRINGS attribute 'ops'");
  const size_t count = ops->strings.size();
  if (count > kMaxSteps) return info.model_error(fmt::format("at most {} steps, got {}", kMaxSteps, count));
  const std::vector<int64_t> lhs = info.attr_ints("lhs"), rhs = info.attr_ints("rhs");
  const std::vector<float> scalars = info.attr_floats("scalars"), alpha = info.attr_floats("alpha"),
                           beta = info.attr_floats("beta");
  if (lhs.size() != count || rhs.size() != count || scalars.size() != count || alpha.size() != count ||
      beta.size() != count)
    return info.model_error("'lhs', 'rhs', 'scalars', 'alpha' and 'beta' need one entry per step");
  std::vector<Step> steps;
  for (size_t k = 0; k < count; ++k) {
    const auto* entry = std::find_if(std::begin(kOps), std::end(kOps),
                                     [&](const auto& e) { return ops->strings[k] == e.name; });
    if (entry == std::end(kOps)) return info.model_error(fmt::format("step {}: unknown op '{}'", k, ops->strings[k]));
    // A register must be written before it is read; a binary op needs one register.
    auto valid = [&](int64_t r, bool allow_none) {
      return (r >= 0 && r <= static_cast<int64_t>(k)) || r == kScalar || (allow_none && r == kNone);
    };
    const bool ok = entry->binary ? valid(lhs[k], false) && valid(rhs[k], false) && (lhs[k] >= 0 || rhs[k] >= 0)
                                  : lhs[k] >= 0 && lhs[k] <= static_cast<int64_t>(k) && rhs[k] == kNone;
    if (!ok) return info.model_error(fmt::format("step {} ({}): bad operands {} and {}", k, entry->name, lhs[k], rhs[k]));
    steps.push_back({entry->op, static_cast<int>(lhs[k]), static_cast<int>(rhs[k]), scalars[k], alpha[k], beta[k]});
  }
  return steps;
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_FusedElementwise(const KernelInfo& info) {
  if (!info.has_input(0)) return info.model_error("needs one input");
  ECOINFER_ASSIGN_OR_RETURN(std::vector<Step> steps, read_program(info));
  const int64_t rank = info.attr_int("rank", 0);
  return std::unique_ptr<Kernel>(make_kernel([steps, rank](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    Shape shape = x.shape();
    while (static_cast<int64_t>(shape.size()) < rank) shape.insert(shape.begin(), 1);
    return dispatch_types<kFloats | kHalfs>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      Tensor* y = ctx.output(0, x.dtype(), shape);
      run_program(steps, x.data<T>(), y->data<T>(), x.numel());
      return Status::ok();
    });
  }));
}

}  // namespace ecoinfer::kernels
