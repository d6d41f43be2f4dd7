#include "cli_util.h"

#include <unistd.h>

#include <random>

#include <fmt/format.h>

namespace ecoinfer::cli {

Expected<std::map<std::string, Shape>> parse_shape_flags(const std::vector<std::string>& flags) {
  std::map<std::string, Shape> shapes;
  for (const std::string& flag : flags) {
    const auto eq = flag.rfind('=');
    const std::string bad = fmt::format("--shape '{}' is not NAME=DIMS, e.g. --shape x=1x3x48x320", flag);
    if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) return invalid_argument(bad);
    Shape shape;
    std::string dims = flag.substr(eq + 1);
    size_t start = 0;
    while (start <= dims.size()) {
      const size_t end = std::min(dims.find('x', start), dims.size());
      const std::string part = dims.substr(start, end - start);
      if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 12)
        return invalid_argument(bad);
      shape.push_back(std::stoll(part));
      start = end + 1;
    }
    shapes[flag.substr(0, eq)] = shape;
  }
  return shapes;
}

Expected<std::vector<std::pair<std::string, Shape>>> resolve_input_shapes(const Session& session,
                                                                          const std::map<std::string, Shape>& given) {
  for (const auto& [name, shape] : given) {
    bool known = false;
    for (const auto& in : session.inputs()) known |= in.name == name;
    if (!known) {
      std::string names;
      for (const auto& in : session.inputs()) names += (names.empty() ? "" : ", ") + in.name;
      return invalid_argument(fmt::format("--shape names '{}', which is not an input; the inputs are: {}", name, names));
    }
  }
  std::vector<std::pair<std::string, Shape>> shapes;
  for (const auto& in : session.inputs()) {
    if (auto it = given.find(in.name); it != given.end()) {
      shapes.emplace_back(in.name, it->second);
      continue;
    }
    Shape shape;
    bool fixed = in.has_shape;
    for (const auto& d : in.shape) {
      fixed &= d.is_fixed();
      shape.push_back(d.value);
    }
    if (!fixed) {
      std::string example;
      for (const auto& d : in.shape) example += (example.empty() ? "" : "x") + (d.is_fixed() ? std::to_string(d.value) : std::string("1"));
      return invalid_argument(fmt::format("input '{}' has dynamic dimensions ({}); give its shape, e.g. --shape {}={}",
                                          in.name, in.shape_string(), in.name, example.empty() ? "1" : example));
    }
    shapes.emplace_back(in.name, shape);
  }
  return shapes;
}

std::vector<NamedTensor> make_inputs(const Session& session, const std::vector<std::pair<std::string, Shape>>& shapes,
                                     uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<NamedTensor> inputs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const DataType dtype = session.inputs()[i].dtype == DataType::kUndefined ? DataType::kFloat32 : session.inputs()[i].dtype;
    Tensor t = Tensor::zeros(dtype, shapes[i].second);
    const int64_t n = t.numel();
    std::uniform_real_distribution<float> real(-1.0f, 1.0f);
    std::uniform_int_distribution<int> ints(0, 99);
    switch (dtype) {
      case DataType::kFloat32: for (int64_t j = 0; j < n; ++j) t.data<float>()[j] = real(rng); break;
      case DataType::kFloat64: for (int64_t j = 0; j < n; ++j) t.data<double>()[j] = real(rng); break;
      case DataType::kInt64: for (int64_t j = 0; j < n; ++j) t.data<int64_t>()[j] = ints(rng); break;
      case DataType::kInt32: for (int64_t j = 0; j < n; ++j) t.data<int32_t>()[j] = ints(rng); break;
      case DataType::kUInt8: for (int64_t j = 0; j < n; ++j) t.data<uint8_t>()[j] = static_cast<uint8_t>(ints(rng)); break;
      case DataType::kInt8: for (int64_t j = 0; j < n; ++j) t.data<int8_t>()[j] = static_cast<int8_t>(ints(rng)); break;
      case DataType::kBool: for (int64_t j = 0; j < n; ++j) static_cast<uint8_t*>(t.raw_data())[j] = ints(rng) & 1; break;
      default: break;  // zeros
    }
    inputs.push_back({shapes[i].first, std::move(t)});
  }
  return inputs;
}

std::string sanitize_file_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
    if (!keep) c = '_';
  }
  // "." and ".." would name folders, not files.
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

std::string format_seconds(double s) {
  if (s >= 1.0) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.1f} us", s * 1e6);
}

std::string format_bytes(int64_t b) {
  if (b >= (int64_t{1} << 30)) return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1 << 30));
  if (b >= (int64_t{1} << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1 << 20));
  return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024);
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

}  // namespace ecoinfer::cli
