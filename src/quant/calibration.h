// Calibration: the inputs (a folder of .npy files or random data, split into
// calibration and held-out samples) and the activation ranges the fp32 model
// produces on them, measured by running it in ecoinfer with the tensors of
// interest added as graph outputs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "quant/quantize.h"
#include "quant/range_methods.h"

namespace ecoinfer::quant {

using Sample = std::vector<NamedTensor>;  // one tensor per model input

struct Samples {
  std::vector<Sample> calibration;
  std::vector<Sample> held_out;
};

// Reads or generates the samples for a model with these inputs. Errors name
// the folder or input that is wrong and what to add. Without calibration
// (dynamic mode) random data needs no count: only held-out samples are made.
Expected<Samples> load_samples(const CalibrationSource& source, const std::vector<ValueDescription>& inputs,
                               bool needs_calibration = true);

// A session of `model` with `extra_outputs` (float tensors) declared as
// outputs too; graph inputs among them need no output and are skipped.
Expected<std::unique_ptr<Session>> session_with_outputs(const onnx::ModelProto& model,
                                                        const std::vector<std::string>& extra_outputs, int threads);

// Runs the model over the samples and returns the range of each tensor
// (tensors that never appear as float are left out).
Expected<std::map<std::string, FloatRange>> collect_ranges(const onnx::ModelProto& model,
                                                           const std::vector<std::string>& tensors,
                                                           const std::vector<Sample>& samples,
                                                           const QuantizeOptions& options, const ProgressFn& progress);

}  // namespace ecoinfer::quant
