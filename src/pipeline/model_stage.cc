#include "pipeline/model_stage.h"

#include <cstring>
#include <fstream>
#include <map>

#include <xxhash.h>

namespace ecoinfer::pipeline {
namespace {

// Where one tensor of one item goes: rows [row, row + rows) of a stacked run.
struct Slice {
  size_t item = 0;
  size_t index = 0;  // position in the item's list
  int64_t row = 0;
  int64_t rows = 0;
};

struct Group {
  std::vector<Tensor> parts;
  std::vector<Slice> slices;
  int64_t rows = 0;
};

Tensor stack(const std::vector<Tensor>& parts, int64_t rows) {
  if (parts.size() == 1) return parts[0];
  Shape shape = parts[0].shape();
  shape[0] = rows;
  Tensor out = Tensor::zeros(parts[0].dtype(), shape);
  auto* dst = static_cast<std::byte*>(out.raw_data());
  for (const Tensor& t : parts) {
    std::memcpy(dst, t.raw_data(), t.nbytes());
    dst += t.nbytes();
  }
  return out;
}

Tensor rows_of(const Tensor& t, int64_t row, int64_t rows) {
  if (row == 0 && rows == t.dim(0)) return t;
  Shape shape = t.shape();
  shape[0] = rows;
  Tensor out = Tensor::zeros(t.dtype(), shape);
  const size_t row_bytes = t.nbytes() / static_cast<size_t>(t.dim(0));
  std::memcpy(out.raw_data(), static_cast<const std::byte*>(t.raw_data()) + row * row_bytes, rows * row_bytes);
  return out;
}

// Stacked runs: same dtype and trailing shape, in arrival order, at most max_rows each.
std::vector<Group> group_tensors(const std::vector<std::vector<Tensor>>& per_item, int64_t max_rows) {
  std::vector<Group> groups;
  std::map<std::pair<DataType, Shape>, size_t> open;  // key -> index of the group still filling
  for (size_t i = 0; i < per_item.size(); ++i) {
    for (size_t j = 0; j < per_item[i].size(); ++j) {
      const Tensor& t = per_item[i][j];
      const auto key = std::make_pair(t.dtype(), Shape(t.shape().begin() + 1, t.shape().end()));
      auto it = open.find(key);
      if (it == open.end() || groups[it->second].rows + t.dim(0) > max_rows) {
        groups.emplace_back();
        it = open.insert_or_assign(key, groups.size() - 1).first;
      }
      Group& g = groups[it->second];
      g.slices.push_back({i, j, g.rows, t.dim(0)});
      g.parts.push_back(t);
      g.rows += t.dim(0);
    }
  }
  return groups;
}

}  // namespace

Stage model_stage(std::string name, std::shared_ptr<const Session> session, std::string input, std::string output,
                  ValueType type, const ModelStageOptions& options) {
  Stage s;
  s.name = name;
  s.inputs = {{input, type}};
  s.outputs = {{output, type}};
  s.is_model = true;
  s.model_hash = options.model_hash;
  s.run = [=](const std::vector<const Values*>& batch) {
    BatchResults results(batch.size(), Values{});
    std::vector<std::vector<Tensor>> per_item(batch.size()), outputs(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const Value& v = batch[i]->at(input);
      per_item[i] = type == ValueType::kTensor ? std::vector<Tensor>{std::get<Tensor>(v)} : std::get<TensorList>(v);
      for (const Tensor& t : per_item[i])
        if (t.rank() == 0) results[i] = invalid_argument(name + ": a model input needs a batch dimension");
      outputs[i].resize(per_item[i].size());
    }
    for (size_t i = 0; i < batch.size(); ++i)
      if (!results[i]) per_item[i].clear();
    for (const Group& g : group_tensors(per_item, options.max_rows)) {
      auto out = session->run({{session->inputs().front().name, stack(g.parts, g.rows)}});
      Status error = out ? Status::ok() : out.status().with_context(name);
      if (error.is_ok() && (out->empty() || (*out)[0].tensor.rank() == 0 || (*out)[0].tensor.dim(0) != g.rows))
        error = invalid_model(name + ": the model's first output does not keep the batch dimension");
      for (const Slice& sl : g.slices) {
        if (!error.is_ok()) results[sl.item] = error;
        else outputs[sl.item][sl.index] = rows_of((*out)[0].tensor, sl.row, sl.rows);
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!results[i]) continue;
      if (type == ValueType::kTensor) results[i] = Values{{output, outputs[i][0]}};
      else results[i] = Values{{output, std::move(outputs[i])}};
    }
    return results;
  };
  return s;
}

Expected<std::string> file_hash(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path.string() + ": cannot read the file to hash it");
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    XXH3_64bits_update(state, buf.data(), static_cast<size_t>(in.gcount()));
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return hash_hex(h);
}

}  // namespace ecoinfer::pipeline
