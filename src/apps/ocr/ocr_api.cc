#include "ocr/ocr_api.h"

namespace ecoinfer::ocr {

const char* ocr_precision_name(OcrPrecision p) {
  switch (p) {
    case OcrPrecision::kFp32: return "fp32";
    case OcrPrecision::kBf16: return "bf16";
    case OcrPrecision::kInt8: return "int8";
  }
  return "?";
}

Expected<OcrPrecision> parse_ocr_precision(const std::string& name) {
  if (name == "fp32") return OcrPrecision::kFp32;
  if (name == "bf16") return OcrPrecision::kBf16;
  if (name == "int8") return OcrPrecision::kInt8;
  return invalid_argument("unknown OCR precision '" + name + "': use fp32, bf16 or int8");
}

}  // namespace ecoinfer::ocr
