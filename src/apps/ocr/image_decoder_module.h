// The boundary between image_io.cc and libecoinfer_imgdecode.so, the small
// module that alone links OpenCV's imgcodecs.
//
// Why a module: imgcodecs pulls about 120 shared libraries (GDAL, x265, ICU,
// ...) into every process that links it: 42 MiB of resident memory and a
// third of a second of dynamic loading at each start of the ecoinfer command,
// though only OCR decodes images. image_io.cc dlopen()s the module on the
// first decode instead, so `ecoinfer bench`, `run`, `serve` of a plain model
// and libecoinfer itself never load it.
//
// The module is built next to libecoinfer.so (build/) and installed next to
// it (<prefix>/lib), where module_loader.h looks first.
// ECOINFER_IMGDECODE_MODULE=/path/to/libecoinfer_imgdecode.so overrides the
// search. libecoinfer_ocr.so (ocr_module.h), itself loaded on demand, loads
// it with the OCR models (load_image_decoder); programs that link the OCR
// code (its tests) load it at their first decode.
#pragma once

#include <cstddef>

#include <opencv2/core.hpp>

namespace ecoinfer::ocr {

inline constexpr const char* kImageDecoderModuleFile = "libecoinfer_imgdecode.so";
inline constexpr const char* kImageDecoderModuleEnv = "ECOINFER_IMGDECODE_MODULE";
// The symbol carries a version: a module from an older build with another
// signature is refused instead of called.
inline constexpr const char* kImageDecoderSymbol = "ecoinfer_imgdecode_v1";

}  // namespace ecoinfer::ocr

// Decodes `size` bytes with cv::imdecode(IMREAD_COLOR) into *out: 8-bit BGR,
// or an empty Mat when the bytes are no image OpenCV knows. Returns 0, or 1
// with a NUL-terminated message in error[0, error_size) when OpenCV threw.
// Never throws (nothing may cross a C boundary). Thread-safe.
extern "C" int ecoinfer_imgdecode_v1(const void* bytes, size_t size, cv::Mat* out, char* error, size_t error_size);
