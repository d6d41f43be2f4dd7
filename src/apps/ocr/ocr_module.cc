// load_ocr_engine: the program's side of libecoinfer_ocr.so (ocr_module.h).
#include "ocr/ocr_module.h"

#include "ocr/module_loader.h"

namespace ecoinfer::ocr {

Expected<std::unique_ptr<OcrEngine>> load_ocr_engine(const OcrOptions& options) {
  using LoadFunction = decltype(&ecoinfer_ocr_load_v1);
  // Loaded once per process, on the first OCR use, never unloaded.
  static const Expected<void*> entry = load_module_symbol(
      {kOcrModuleFile, kOcrModuleEnv, kOcrModuleSymbol, "OCR module", "ecoinfer_ocr_module"});
  if (!entry) return entry.status();
  Expected<std::unique_ptr<OcrEngine>> engine = internal_error("the OCR module's loader returned nothing");
  reinterpret_cast<LoadFunction>(*entry)(&options, &engine);
  return engine;
}

}  // namespace ecoinfer::ocr
