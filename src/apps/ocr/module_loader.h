// Finding and opening the OCR app's loadable modules (libecoinfer_ocr.so,
// libecoinfer_imgdecode.so): what they are for is in ocr_module.h and
// image_decoder_module.h; this is only the search, shared by both.
//
// Order: the environment variable, when set; else the file beside
// libecoinfer.so (the build folder, or <prefix>/lib once installed), when it
// is there; else the bare name (LD_LIBRARY_PATH, the system's folders).
// Beside libecoinfer.so comes before the bare name because a bare name is
// searched from the RUNPATH of whoever calls dlopen, and under
// AddressSanitizer that is libasan (its dlopen interceptor), which has none.
//
//   static const auto symbol = load_module_symbol({...});
//   if (!symbol) return symbol.status();
#pragma once

#include "ecoinfer/status.h"

namespace ecoinfer::ocr {

struct ModuleSpec {
  const char* file;          // libecoinfer_ocr.so
  const char* env;           // ECOINFER_OCR_MODULE: a path that overrides the search
  const char* symbol;        // the versioned entry point looked up in it
  const char* description;   // "OCR module", for errors
  const char* build_target;  // the CMake target that builds it, for errors
};

// Opens the module (RTLD_NOW | RTLD_LOCAL; never closed) and returns the
// address of spec.symbol. Errors, one line each: the module cannot be
// loaded (names the file, dlerror's reason and the three fixes), or it has
// no such symbol (from another ecoinfer version).
Expected<void*> load_module_symbol(const ModuleSpec& spec);

}  // namespace ecoinfer::ocr
