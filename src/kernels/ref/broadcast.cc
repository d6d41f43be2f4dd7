#include "kernels/ref/broadcast.h"

#include <fmt/format.h>

namespace ecoinfer::kernels {

Expected<Shape> broadcast_shapes(std::span<const Shape* const> shapes) {
  size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  Shape out(rank, 1);
  for (const Shape* s : shapes) {
    const size_t pad = rank - s->size();
    for (size_t d = 0; d < s->size(); ++d) {
      const int64_t dim = (*s)[d];
      int64_t& o = out[pad + d];
      if (dim == o || dim == 1) continue;
      if (o == 1) {
        o = dim;
        continue;
      }
      std::string all;
      for (const Shape* t : shapes) all += (all.empty() ? "" : ", ") + shape_to_string(*t);
      return invalid_argument(fmt::format("shapes {} cannot be broadcast together (dimension {} from the right)",
                                          all, rank - pad - d));
    }
  }
  return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t pad = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d)
    if (from[d] != 1 && from[d] != to[pad + d]) return false;
  return true;
}

BroadcastPlan::BroadcastPlan(const Shape& out_shape, std::span<const Shape* const> inputs)
    : input_count_(std::min(inputs.size(), kMaxBroadcastInputs)), numel_(shape_numel(out_shape)) {
  const size_t rank = out_shape.size();
  // Per output dim, which inputs walk it (1) and which repeat (0). Output dims
  // of size 1 are dropped; neighbours with equal patterns are merged.
  std::vector<std::vector<char>> groups_walk;  // per merged dim, per input
  for (size_t d = 0; d < rank; ++d) {
    if (out_shape[d] == 1) continue;
    std::vector<char> walk(input_count_);
    for (size_t k = 0; k < input_count_; ++k) {
      const Shape& s = *inputs[k];
      const size_t pad = rank - s.size();
      walk[k] = d >= pad && s[d - pad] != 1 ? 1 : 0;
    }
    if (!groups_walk.empty() && groups_walk.back() == walk) {
      dims_.back() *= out_shape[d];
    } else {
      groups_walk.push_back(std::move(walk));
      dims_.push_back(out_shape[d]);
    }
  }
  if (dims_.empty()) {  // a single element: every input walks it
    dims_.push_back(1);
    groups_walk.emplace_back(input_count_, 1);
  }
  strides_.assign(input_count_, std::vector<int64_t>(dims_.size(), 0));
  for (size_t k = 0; k < input_count_; ++k) {
    int64_t stride = 1;
    for (size_t g = dims_.size(); g-- > 0;) {
      if (!groups_walk[g][k]) continue;
      strides_[k][g] = stride;
      stride *= dims_[g];
    }
  }
}

bool BroadcastPlan::all_same() const {
  if (dims_.size() != 1) return false;
  for (size_t k = 0; k < input_count_; ++k)
    if (strides_[k][0] != 1) return false;
  return true;
}

int64_t BroadcastPlan::row_offset(size_t k, int64_t row) const {
  const std::vector<int64_t>& st = strides_[k];
  int64_t offset = 0;
  for (size_t g = dims_.size() - 1; g-- > 0;) {
    const int64_t i = row % dims_[g];
    row /= dims_[g];
    offset += i * st[g];
  }
  return offset;
}

}  // namespace ecoinfer::kernels
