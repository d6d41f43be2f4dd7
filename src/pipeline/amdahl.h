// Amdahl's law over a pipeline run: how much of the run was serial, what
// more workers would give, what a second run with more workers did give,
// and which stage limits.
//
//   RunResult one = run_pipeline(p, items, {.workers = 1});
//   RunResult two = run_pipeline(p, items, {.workers = 2});
//   AmdahlReport r = amdahl_report(one.profile, &two.profile);
//   std::cout << format_amdahl(r);
//
// Serial fraction f: the share of the run's wall time that no number of
// workers can share: the critical path (the longest chain of dependent
// stage tasks, RunProfile::span_seconds), the time no stage task ran (the
// coordinator admitting items, hand-offs) and any serial work the caller
// did around the run (`extra_serial_seconds`, e.g. printing results); the
// work-span bound. Predicted speed-up with n workers: Amdahl's
// 1 / (f + (1 - f) / n) (Brent's bound: the serial part alone, the rest
// shared perfectly), and at most min(n, 1 / f). Measured: wall time
// with 1 worker over wall time with n; from it the Karp-Flatt serial
// fraction e = (1/S - 1/n) / (1 - 1/n), which also counts what Amdahl's
// model leaves out (shared cores, memory bandwidth).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/executor.h"

namespace ecoinfer::pipeline {

struct PredictedSpeedup {
  int workers = 1;
  double amdahl = 1;   // 1 / (f + (1 - f) / n)
  double at_most = 1;  // min(n, 1 / f)
};

struct AmdahlReport {
  double serial_fraction = 0;
  std::vector<PredictedSpeedup> predicted;  // for 2, 4, 8, 16 workers
  std::string limiting_stage;   // the largest share of busy time
  double limiting_share = 0;
  std::optional<double> measured_speedup;
  int measured_workers = 0;
  std::optional<double> karp_flatt;
};

// `base`: a run (1 worker gives the cleanest serial fraction); `parallel`:
// the same work with more workers, for the measured speed-up.
AmdahlReport amdahl_report(const RunProfile& base, const RunProfile* parallel = nullptr,
                           double extra_serial_seconds = 0);

nlohmann::json profile_json(const RunProfile& profile);
nlohmann::json amdahl_json(const AmdahlReport& report);
// Human-readable tables: one line per stage, then the Amdahl summary.
std::string format_profile(const RunProfile& profile);
std::string format_amdahl(const AmdahlReport& report);

}  // namespace ecoinfer::pipeline
