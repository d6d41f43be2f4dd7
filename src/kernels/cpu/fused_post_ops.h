// A fused node's post-ops (the "_ecoinfer.post_ops" contract of
// passes/pass.h) as a oneDNN post-op chain, for conv.cc and matmul.cc.
//
//   ECOINFER_ASSIGN_OR_RETURN(FusedPostOps fused, FusedPostOps::read(info));
//   onednn::PostOpChain chain(dst_rank);
//   std::vector<int> where = fused.append_to(chain, src1_descs);  // one desc per fused operand
//   attr.set_post_ops(chain.finish());
//   ... args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(where[i]) | DNNL_ARG_SRC_1] = operand i;
//   ... plus chain.constant_args() ...
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <dnnl.hpp>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"
#include "kernels/kernel.h"
#include "passes/post_ops.h"

namespace ecoinfer::kernels::onednn {

// Builds a dnnl::post_ops around two of oneDNN 2.6's ways (see
// passes::fits_onednn_chain): consecutive linear maps merge into one, and
// a repeated linear, clip or relu whose parameters differ from the first
// one of its algorithm becomes binary post-ops by scalars (max, min, mul,
// add), whose memories the chain owns.
class PostOpChain {
 public:
  explicit PostOpChain(size_t dst_rank) : dst_rank_(dst_rank) {}

  void eltwise(dnnl::algorithm alg, float alpha, float beta);
  void sum();
  // Returns the entry's index, for DNNL_ARG_ATTR_MULTIPLE_POST_OP.
  int binary(dnnl::algorithm alg, const dnnl::memory::desc& src1);
  // The chain, with any pending linear map appended; fails for a repeat
  // that has no rewrite.
  Expected<dnnl::post_ops> finish();
  // (argument id, memory) of the scalars the rewrites read.
  const std::vector<std::pair<int, dnnl::memory>>& constant_args() const { return constants_; }

 private:
  void flush();
  void scalar(dnnl::algorithm alg, float value);

  size_t dst_rank_;
  dnnl::post_ops ops_;
  std::optional<std::pair<float, float>> pending_linear_;
  std::vector<std::tuple<dnnl::algorithm, float, float>> first_;  // first parameters of each algorithm
  std::vector<std::pair<int, dnnl::memory>> constants_;
  std::string unsupported_;
};

class FusedPostOps {
 public:
  // The node's attribute, checked (unknown entries are a model error).
  static Expected<FusedPostOps> read(const KernelInfo& info);

  bool empty() const { return ops_.empty(); }
  // The input index each binary entry reads, in order.
  const std::vector<int>& binary_inputs() const { return binary_inputs_; }
  // Appends the entries; `src1[i]` describes binary entry i's operand as
  // the primitive reads it. Returns each binary entry's index in the chain.
  // Binary entry `sum_entry` (an add whose operand the destination already
  // holds: passes::kAccumulateInput) becomes a sum post-op, at index -1.
  std::vector<int> append_to(PostOpChain& chain, const std::vector<dnnl::memory::desc>& src1,
                             int sum_entry = -1) const;

 private:
  std::vector<passes::PostOp> ops_;
  std::vector<int> binary_inputs_;
};

// `operand`'s dims right-aligned to `dst` (leading 1s added) when it
// broadcasts into dst without enlarging it (numpy rules), else an
// invalid-argument error naming `who`.
Expected<dnnl::memory::dims> broadcast_into(const Shape& operand, const dnnl::memory::dims& dst, const std::string& who);

}  // namespace ecoinfer::kernels::onednn
