// NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0).
// Refuses files whose header lies about their size, so a bad file is an
// error, never an out-of-bounds read.
#include <cstring>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "ecoinfer/session.h"

namespace ecoinfer {
namespace fs = std::filesystem;

namespace {

struct NpyType { const char* descr; DataType dtype; };
constexpr NpyType kNpyTypes[] = {
    {"<f4", DataType::kFloat32}, {"<f8", DataType::kFloat64}, {"<f2", DataType::kFloat16},
    {"<i8", DataType::kInt64},   {"<i4", DataType::kInt32},   {"<i2", DataType::kInt16},
    {"|i1", DataType::kInt8},    {"|u1", DataType::kUInt8},   {"|b1", DataType::kBool},
    {"<u2", DataType::kUInt16},  {"<u4", DataType::kUInt32},  {"<u8", DataType::kUInt64},
};

Expected<DataType> dtype_from_descr(const std::string& descr, const fs::path& path) {
  for (const auto& t : kNpyTypes) if (descr == t.descr) return t.dtype;
  // "<i1"/"<u1"/"<b1" are accepted spellings of the byte types.
  if (descr == "<i1") return DataType::kInt8;
  if (descr == "<u1") return DataType::kUInt8;
  if (descr == "<b1" || descr == "?") return DataType::kBool;
  return invalid_argument(fmt::format("{}: .npy element type '{}' is not supported (use float32, float64, float16, "
                                      "int64, int32, int16, int8, uint8 or bool, little endian)",
                                      path.string(), descr));
}

const char* descr_for(DataType t) {
  for (const auto& n : kNpyTypes) if (n.dtype == t) return n.descr;
  return nullptr;
}

Expected<Shape> parse_shape(const std::string& text, const fs::path& path) {
  Shape shape;
  std::regex number(R"(\d+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), number); it != std::sregex_iterator(); ++it) {
    const std::string s = it->str();
    if (s.size() > 15) return invalid_argument(fmt::format("{}: .npy dimension {} is too large", path.string(), s));
    shape.push_back(std::stoll(s));
  }
  return shape;
}

}  // namespace

Expected<Tensor> read_npy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(fmt::format("cannot open {}", path.string()));
  char magic[8];
  const std::string not_npy = fmt::format("{} is not a NumPy .npy file (bad magic or header); save it with numpy.save", path.string());
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) return invalid_argument(not_npy);
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) return invalid_argument(not_npy);
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) return invalid_argument(not_npy);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
    if (header_len > (1u << 20)) return invalid_argument(not_npy);
  } else {
    return invalid_argument(not_npy);
  }
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) return invalid_argument(not_npy);

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) return invalid_argument(not_npy);
  ECOINFER_ASSIGN_OR_RETURN(DataType dtype, dtype_from_descr(m[1], path));
  if (std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*True)")))
    return invalid_argument(fmt::format("{}: Fortran-order arrays are not supported; save with numpy.ascontiguousarray", path.string()));
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) return invalid_argument(not_npy);
  ECOINFER_ASSIGN_OR_RETURN(Shape shape, parse_shape(m[1], path));

  // Check the size the header claims against the file before allocating.
  const auto data_start = static_cast<uintmax_t>(in.tellg());
  std::error_code ec;
  const uintmax_t file_size = fs::file_size(path, ec);
  long double claimed = static_cast<long double>(dtype_size(dtype));
  for (int64_t d : shape) claimed *= static_cast<long double>(d);
  if (ec || claimed != static_cast<long double>(file_size - data_start)) {
    return invalid_argument(fmt::format("{}: header says shape {} of {} ({} bytes of data) but the file holds {} bytes; "
                                        "the file is truncated or corrupt",
                                        path.string(), shape_to_string(shape), dtype_name(dtype),
                                        static_cast<uintmax_t>(claimed), file_size - data_start));
  }
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  if (t.nbytes() && !in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes())))
    return io_error(fmt::format("{}: read failed", path.string()));
  if (dtype == DataType::kBool) {
    auto* bytes = static_cast<uint8_t*>(t.raw_data());  // normalize to 0/1 before reading as bool
    for (int64_t i = 0; i < t.numel(); ++i) bytes[i] = bytes[i] != 0 ? 1 : 0;
  }
  return t;
}

Status write_npy(const fs::path& path, const Tensor& t) {
  const char* descr = descr_for(t.dtype());
  if (descr == nullptr) return unimplemented(fmt::format("cannot write {} tensors to .npy", dtype_name(t.dtype())));
  std::string shape = "(";
  for (size_t i = 0; i < t.rank(); ++i) shape += std::to_string(t.dim(i)) + (t.rank() == 1 ? "," : (i + 1 < t.rank() ? ", " : ""));
  shape += ")";
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');  // align data to 64 bytes, as numpy does
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) return io_error(fmt::format("cannot write {}", path.string()));
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) return io_error(fmt::format("writing {} failed (disk full?)", path.string()));
  return Status::ok();
}

}  // namespace ecoinfer
