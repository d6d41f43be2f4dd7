#include "quant/calibration.h"

#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>

#include "quant/model_proto.h"

namespace ecoinfer::quant {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> npy_files(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".npy") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

Expected<std::vector<Sample>> read_folder(const fs::path& folder, const std::vector<ValueDescription>& inputs) {
  if (!fs::is_directory(folder))
    return not_found(fmt::format("calibration folder {} does not exist", folder.string()));
  std::vector<Sample> samples;
  for (const ValueDescription& input : inputs) {
    const fs::path dir = folder / input.name;
    const auto files = npy_files(dir);
    if (files.empty())
      return invalid_argument(fmt::format("calibration folder {} has no {}/*.npy: put one .npy per sample for input '{}' there",
                                          folder.string(), input.name, input.name));
    if (!samples.empty() && files.size() != samples.size())
      return invalid_argument(fmt::format("calibration folder {}: input '{}' has {} files but the first input has {}; "
                                          "every input needs one file per sample", folder.string(), input.name,
                                          files.size(), samples.size()));
    samples.resize(files.size());
    for (size_t i = 0; i < files.size(); ++i) {
      auto t = read_npy(files[i]);
      if (!t) return t.status().with_context(files[i].string());
      samples[i].push_back({input.name, std::move(*t)});
    }
  }
  return samples;
}

Expected<Shape> concrete_shape(const ValueDescription& input, const std::map<std::string, Shape>& given) {
  if (auto it = given.find(input.name); it != given.end()) return it->second;
  Shape shape;
  for (const DimInfo& d : input.shape) {
    if (!d.is_fixed())
      return invalid_argument(fmt::format("input '{}' has shape {} with a dynamic dimension: give it with --shape {}=DIMS",
                                          input.name, input.shape_string(), input.name));
    shape.push_back(d.value);
  }
  return shape;
}

Tensor random_input(DataType dtype, const Shape& shape, std::mt19937& rng) {
  Tensor t = Tensor::zeros(dtype, shape);
  if (dtype == DataType::kFloat32) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& v : t.span<float>()) v = u(rng);
  } else if (dtype == DataType::kInt64) {
    std::uniform_int_distribution<int64_t> u(0, 99);
    for (int64_t& v : t.span<int64_t>()) v = u(rng);
  } else if (dtype == DataType::kInt32) {
    std::uniform_int_distribution<int32_t> u(0, 99);
    for (int32_t& v : t.span<int32_t>()) v = u(rng);
  }
  return t;
}

Expected<std::vector<Sample>> random_samples(const CalibrationSource& source, const std::vector<ValueDescription>& inputs,
                                             int count) {
  for (const auto& [name, shape] : source.shapes) {
    const bool known = std::any_of(inputs.begin(), inputs.end(), [&](const auto& i) { return i.name == name; });
    if (!known) return invalid_argument(fmt::format("--shape names '{}', which is not an input of the model", name));
  }
  std::mt19937 rng(source.seed);
  std::vector<Sample> samples(static_cast<size_t>(count));
  for (Sample& sample : samples) {
    for (const ValueDescription& input : inputs) {
      ECOINFER_ASSIGN_OR_RETURN(Shape shape, concrete_shape(input, source.shapes));
      sample.push_back({input.name, random_input(input.dtype, shape, rng)});
    }
  }
  return samples;
}

}  // namespace

Expected<Samples> load_samples(const CalibrationSource& source, const std::vector<ValueDescription>& inputs,
                               bool needs_calibration) {
  if (source.held_out < 1) return invalid_argument("--held-out must be at least 1: fidelity is measured on held-out inputs");
  Samples samples;
  if (!source.folder.empty()) {
    ECOINFER_ASSIGN_OR_RETURN(std::vector<Sample> all, read_folder(source.folder, inputs));
    if (static_cast<int>(all.size()) <= source.held_out)
      return invalid_argument(fmt::format("calibration folder {} has {} samples; with --held-out {} none is left to calibrate: "
                                          "add samples or lower --held-out", source.folder.string(), all.size(),
                                          source.held_out));
    const auto split = all.end() - source.held_out;
    samples.calibration.assign(all.begin(), split);
    samples.held_out.assign(split, all.end());
    return samples;
  }
  if (source.random_count < 1 && needs_calibration)
    return invalid_argument("no calibration data: give --calibration DIR or --calibration-random N");
  ECOINFER_ASSIGN_OR_RETURN(std::vector<Sample> all, random_samples(source, inputs, source.random_count + source.held_out));
  samples.calibration.assign(all.begin(), all.begin() + source.random_count);
  samples.held_out.assign(all.begin() + source.random_count, all.end());
  return samples;
}

Expected<std::unique_ptr<Session>> session_with_outputs(const onnx::ModelProto& model,
                                                        const std::vector<std::string>& extra_outputs, int threads) {
  onnx::ModelProto copy = model;
  auto* graph = copy.mutable_graph();
  for (const std::string& name : extra_outputs) {
    const bool is_input = std::any_of(graph->input().begin(), graph->input().end(),
                                      [&](const auto& i) { return i.name() == name; });
    if (!is_input) add_float_output(*graph, name);
  }
  TempFile file("calibration");
  ECOINFER_RETURN_IF_ERROR(save_model_proto(copy, file.path()));
  return Session::load(file.path(), {.threads = threads});
}

namespace {

// Every float tensor of interest in one run: the model's outputs plus the
// inputs themselves (a Conv may read a graph input directly).
template <class Fn>
Status for_each_tensor(const Session& session, const Sample& sample, const std::vector<std::string>& tensors, Fn&& fn) {
  auto outputs = session.run(sample);
  if (!outputs) return outputs.status().with_context("calibration run");
  auto visit = [&](const NamedTensor& t) {
    if (t.tensor.dtype() != DataType::kFloat32) return;
    if (std::find(tensors.begin(), tensors.end(), t.name) == tensors.end()) return;
    fn(t.name, t.tensor.span<float>());
  };
  for (const NamedTensor& t : sample) visit(t);
  for (const NamedTensor& t : *outputs) visit(t);
  return Status::ok();
}

}  // namespace

Expected<std::map<std::string, FloatRange>> collect_ranges(const onnx::ModelProto& model,
                                                           const std::vector<std::string>& tensors,
                                                           const std::vector<Sample>& samples,
                                                           const QuantizeOptions& options, const ProgressFn& progress) {
  ECOINFER_ASSIGN_OR_RETURN(auto session, session_with_outputs(model, tensors, options.threads));
  std::map<std::string, RangeStats> stats;
  const int total = static_cast<int>(samples.size());
  for (int i = 0; i < total; ++i) {
    ECOINFER_RETURN_IF_ERROR(for_each_tensor(*session, samples[i], tensors,
                                             [&](const std::string& name, auto values) { stats[name].observe_minmax(values); }));
    if (progress) progress("calibrating", i + 1, total);
  }
  // Histograms need the final min/max for their bin edges: a second pass.
  if (options.method != RangeMethod::kMinMax) {
    for (auto& [name, s] : stats) s.start_histogram();
    for (int i = 0; i < total; ++i) {
      ECOINFER_RETURN_IF_ERROR(for_each_tensor(
          *session, samples[i], tensors, [&](const std::string& name, auto values) { stats[name].observe_histogram(values); }));
      if (progress) progress("histograms", i + 1, total);
    }
  }
  // A graph input keeps its full range: it is the data itself (an image is
  // bounded), and its rare values are often the signal (dark text pixels on
  // a light page), which percentile and entropy would clip away.
  std::set<std::string> graph_inputs;
  for (const auto& i : model.graph().input()) graph_inputs.insert(i.name());
  std::map<std::string, FloatRange> ranges;
  for (const auto& [name, s] : stats) {
    if (!s.has_values()) continue;
    ranges[name] = graph_inputs.count(name) ? s.minmax() : s.range(options.method, options.percentile);
  }
  return ranges;
}

}  // namespace ecoinfer::quant
