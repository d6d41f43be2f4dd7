// The OCR system (src/apps/ocr: det -> cls -> rec) as a served model.
// A repository version folder holding pipeline.json instead of model.onnx:
//
//   repo/ocr/1/pipeline.json:
//   {"pipeline": "ocr", "models_dir": "/opt/paddleocr", "workers": 1, "use_cls": true,
//    "drop_score": 0.5, "max_pixels": 40000000}
//
// Input  `image` BYTES [N]: encoded images (PNG, JPEG, BMP, TIFF, WebP), or
//        the same bytes in base64 (the only way to put them in a JSON string).
// Output `text`  BYTES [N]: the lines read in each image, joined by "\n".
//        `lines` BYTES [N]: per image, the JSON `ecoinfer ocr --json` gives
//        for it: {"width","height","lines":[{"text","confidence","box",
//        "box_score","rotated"}]}.
// A request is all or nothing: one undecodable image fails it with 400 and
// the decoder's reason (docs/SERVING.md).
#pragma once

#include <filesystem>
#include <memory>

#include "ecoinfer/status.h"
#include "serve/backend/model_backend.h"
#include "serve/model_config.h"

namespace ecoinfer::serve {

inline constexpr const char* kPipelineFile = "pipeline.json";
inline constexpr const char* kOcrPlatform = "ecoinfer_ocr";

// Reads DIR/pipeline.json and loads the OCR models it names (a relative
// models_dir is relative to DIR). `threads`: intra-op threads per model run;
// `precision` (config.json's): int8 reads models_dir/int8/, which
// `ecoinfer quantize --pipeline ocr` writes; bf16 runs the fp32 files' matrix
// ops in bfloat16.
Expected<std::shared_ptr<const ModelBackend>> load_pipeline_backend(const std::filesystem::path& version_dir,
                                                                    int threads, Precision precision);

}  // namespace ecoinfer::serve
