// Measuring one model at one precision: latency at batch 1, throughput at
// larger batches, energy per inference, peak memory, fidelity to fp32.
#pragma once

#include <optional>
#include <vector>

#include "compare/catalog.h"
#include "compare/compare.h"
#include "ecoinfer/energy.h"
#include "ecoinfer/session.h"

namespace ecoinfer::compare {

// How long to measure: time-boxed loops with floors and caps on runs.
struct MeasureBudget {
  double latency_seconds = 3;
  int min_iterations = 5;
  int max_iterations = 300;
  double throughput_seconds = 2;
  std::vector<int64_t> batches = {8, 32};
};
MeasureBudget budget_for(bool quick);

// The fp32 output of the first throughput batch (8 items) on make_batch's
// inputs, for fidelity checks.
struct Reference {
  Tensor output;
};

// Fills `m` (which names the model and precision) by running `session`.
// `reference` is filled for fp32 and read for the other precisions.
Status measure_session(const Session& session, const CatalogEntry& entry, const CompareOptions& options,
                       const MeasureBudget& budget, energy::Meter& meter, const energy::CarbonIntensity& ci,
                       std::optional<Reference>& reference, Measurement& m);

// Peak resident memory from here on: resets the kernel's high-water mark
// (/proc/self/clear_refs) so the next reading belongs to one model.
struct MemoryWatch {
  MemoryWatch();
  int64_t peak_added_bytes() const;  // VmHWM now minus VmRSS at the start
  std::string method() const;
  bool reset_ok = false;
  int64_t baseline = 0;
};

}  // namespace ecoinfer::compare
