// The boundary between the programs that use OCR (the `ecoinfer` command,
// the server's pipeline models) and libecoinfer_ocr.so, the module that
// holds the OCR app itself (src/apps/ocr, with OpenCV core and imgproc).
//
// Why a module: OpenCV core brings about 15 shared libraries (GLX, X11/xcb,
// LAPACK/BLAS/gfortran, TBB, OpenCL) into any process that links it, a few
// MiB of resident memory in every `ecoinfer bench`, `run` or `serve` that
// never reads an image. load_ocr_engine (ocr_api.h) dlopen()s the module on
// first use instead, and only OCR processes map OpenCV. Decoding images
// (imgcodecs, ~120 more libraries) is a second module, loaded by this one
// on the first decode (image_decoder_module.h).
//
// The module is built next to libecoinfer.so (build/) and installed next to
// it (<prefix>/lib), where module_loader.h looks first;
// ECOINFER_OCR_MODULE=/path/to/libecoinfer_ocr.so overrides the search.
#pragma once

#include <memory>

#include "ocr/ocr_api.h"

namespace ecoinfer::ocr {

inline constexpr const char* kOcrModuleFile = "libecoinfer_ocr.so";
inline constexpr const char* kOcrModuleEnv = "ECOINFER_OCR_MODULE";
// The symbol carries a version: bump it whenever a type of ocr_api.h or
// OcrEngine's methods change, so a module from another build is refused
// instead of called with the wrong layout.
inline constexpr const char* kOcrModuleSymbol = "ecoinfer_ocr_load_v1";

}  // namespace ecoinfer::ocr

// OcrPipeline::load(*options) behind a plain symbol: *out gets the engine or
// the load's error. Never throws (nothing may cross a C boundary).
extern "C" void ecoinfer_ocr_load_v1(const ecoinfer::ocr::OcrOptions* options,
                                     ecoinfer::Expected<std::unique_ptr<ecoinfer::ocr::OcrEngine>>* out);
