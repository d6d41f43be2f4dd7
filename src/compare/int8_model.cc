#include "compare/int8_model.h"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "ecoinfer/session.h"
#include "quant/quantize.h"

namespace ecoinfer::compare {
namespace {

constexpr int kCalibrationSamples = 4;

bool supports(const std::string& op) {
  const auto& ops = supported_operators();
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

// Calibration inputs as the quantizer reads them: DIR/<input>/<i>.npy, the
// same kind of data compare measures with (real token ids, full masks).
Status write_calibration(const CatalogEntry& entry, const CompareOptions& o, const std::filesystem::path& dir) {
  for (int i = 0; i < kCalibrationSamples + 1; ++i) {  // the last one is held out for the quantizer's own report
    for (const auto& in : make_batch(entry, 1, o.seq_len, 1000 + static_cast<uint32_t>(i))) {
      std::error_code ec;
      std::filesystem::create_directories(dir / in.name, ec);
      if (Status st = write_npy(dir / in.name / fmt::format("{:03d}.npy", i), in.tensor); !st) return st;
    }
  }
  return Status::ok();
}

}  // namespace

std::string int8_unavailable_reason() {
  if (supports("QuantizeLinear") && supports("DequantizeLinear")) return "";
  return "n/a (not built): this build has no QuantizeLinear/DequantizeLinear kernels to run the quantizer's QDQ model";
}

Expected<std::filesystem::path> int8_model_file(const CatalogEntry& entry, const std::filesystem::path& fp32,
                                                const CompareOptions& o) {
  namespace fs = std::filesystem;
  fs::path out = o.cache_dir / (fp32.stem().string() + ".int8.onnx");
  if (fs::exists(out)) return out;
  std::error_code ec;
  fs::create_directories(o.cache_dir, ec);
  fs::path calibration = o.cache_dir / (fp32.stem().string() + ".calibration");
  fs::remove_all(calibration, ec);
  if (Status st = write_calibration(entry, o, calibration); !st) return st;
  quant::QuantizeOptions q;
  q.mode = quant::QuantMode::kStatic;
  q.method = quant::RangeMethod::kMinMax;
  q.per_channel = true;
  q.calibration.folder = calibration;
  q.calibration.held_out = 1;
  q.min_cosine = 0;  // compare reports fidelity itself; a low one is a finding, not an error
  q.threads = o.threads;
  fs::path partial = out;
  partial += ".partial";
  auto report = quant::quantize_model(fp32, partial, q);
  fs::remove_all(calibration, ec);
  if (!report) return report.status().with_context("quantizing " + fp32.string());
  fs::rename(partial, out, ec);
  if (ec) return io_error(fmt::format("cannot rename {} to {}: {}", partial.string(), out.string(), ec.message()));
  return out;
}

}  // namespace ecoinfer::compare
