// Records the tensors the OCR pipeline feeds its models, as .npy files in
// the layout `ecoinfer quantize --calibration` reads: DIR/<model>/<input>/
// <hash>.npy, one file per model run (a rec batch of up to six crops is one
// sample). Calibrating on these is calibrating on the inputs the model will
// really see, after the pipeline's own preprocessing (resize, normalize,
// crop, rotate, batch by width).
//
// Files are named by a hash of their content, so two runs over the same
// images write the same files whatever the worker count, and the held-out
// samples quantize takes (the last in name order) are a pseudo-random pick.
//
//   auto recorder = std::make_shared<ModelInputRecorder>("calib");
//   recorder->save("rec", "x", batch);   // -> calib/rec/x/3f2a...e1.npy
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::ocr {

class ModelInputRecorder {
 public:
  explicit ModelInputRecorder(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Thread-safe: pipeline workers record at the same time.
  Status save(const std::string& model, const std::string& input, const Tensor& tensor);

  const std::filesystem::path& dir() const { return dir_; }
  int saved() const;

 private:
  std::filesystem::path dir_;
  mutable std::mutex mutex_;
  int saved_ = 0;
};

}  // namespace ecoinfer::ocr
