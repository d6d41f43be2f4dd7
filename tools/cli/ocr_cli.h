// What `ecoinfer ocr` and `ecoinfer quantize --pipeline ocr` share.
#pragma once

#include <filesystem>

namespace ecoinfer::cli {

// models/ under the current folder, else next to the binary or its parent
// (build/ecoinfer finds <repo>/models, where scripts/fetch-models.sh puts them).
std::filesystem::path default_ocr_models_dir();

}  // namespace ecoinfer::cli
