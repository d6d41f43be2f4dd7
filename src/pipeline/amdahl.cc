#include "pipeline/amdahl.h"

#include <algorithm>

#include <fmt/format.h>

namespace ecoinfer::pipeline {

AmdahlReport amdahl_report(const RunProfile& base, const RunProfile* parallel, double extra_serial_seconds) {
  AmdahlReport r;
  const double wall = base.wall_seconds + extra_serial_seconds;
  // Work-span: the run's critical path cannot be shared between workers,
  // nor can the time no stage ran; T(inf) >= serial, so S(inf) <= 1 / f.
  const double serial = base.idle_seconds + base.span_seconds + extra_serial_seconds;
  r.serial_fraction = wall > 0 ? std::clamp(serial / wall, 0.0, 1.0) : 0.0;
  for (int n : {2, 4, 8, 16}) {
    const double f = r.serial_fraction;
    r.predicted.push_back({n, 1.0 / (f + (1.0 - f) / n), f > 0 ? std::min<double>(n, 1.0 / f) : n});
  }
  const double busy = base.busy_seconds();
  for (const StageProfile& s : base.stages) {
    const double share = busy > 0 ? s.wall_seconds / busy : 0.0;
    if (share > r.limiting_share) {
      r.limiting_share = share;
      r.limiting_stage = s.name;
    }
  }
  if (parallel && parallel->wall_seconds > 0 && parallel->workers > base.workers) {
    const double s = base.wall_seconds / parallel->wall_seconds;
    const double n = static_cast<double>(parallel->workers) / base.workers;
    r.measured_speedup = s;
    r.measured_workers = parallel->workers;
    r.karp_flatt = (1.0 / s - 1.0 / n) / (1.0 - 1.0 / n);
  }
  return r;
}

nlohmann::json profile_json(const RunProfile& p) {
  nlohmann::json j;
  j["method"] = "per stage: task wall time (steady clock), worker-thread CPU time (CLOCK_THREAD_CPUTIME_ID), "
                "wait = ready until a worker took it; summed over all micro-batches";
  j["wall_seconds"] = p.wall_seconds;
  j["busy_seconds"] = p.busy_seconds();
  j["idle_seconds"] = p.idle_seconds;
  j["span_seconds"] = p.span_seconds;
  j["workers"] = p.workers;
  j["batch_size"] = p.batch_size;
  j["items"] = p.items;
  j["micro_batches"] = p.micro_batches;
  j["stages"] = nlohmann::json::array();
  const double busy = p.busy_seconds();
  for (const StageProfile& s : p.stages)
    j["stages"].push_back({{"stage", s.name},
                           {"model", s.is_model},
                           {"seconds", s.wall_seconds},
                           {"share", busy > 0 ? s.wall_seconds / busy : 0.0},
                           {"cpu_seconds", s.cpu_seconds},
                           {"wait_seconds", s.wait_seconds},
                           {"bytes_in", s.bytes_in},
                           {"bytes_out", s.bytes_out},
                           {"items", s.items},
                           {"executed_items", s.executed_items},
                           {"cache_hits", s.cache_hits},
                           {"failures", s.failures},
                           {"calls", s.calls}});
  return j;
}

nlohmann::json amdahl_json(const AmdahlReport& r) {
  nlohmann::json j;
  j["serial_fraction"] = r.serial_fraction;
  for (const PredictedSpeedup& p : r.predicted)
    j["predicted_speedup"][std::to_string(p.workers)] = {{"amdahl", p.amdahl}, {"at_most", p.at_most}};
  j["limiting_stage"] = {{"stage", r.limiting_stage},
                         {"share", r.limiting_share},
                         {"max_speedup_from_other_stages", r.limiting_share > 0 ? 1.0 / r.limiting_share : 0.0}};
  if (r.measured_speedup) {
    j["measured"] = {{"workers", r.measured_workers}, {"speedup", *r.measured_speedup},
                     {"karp_flatt_serial_fraction", *r.karp_flatt}};
  }
  return j;
}

namespace {
std::string human_bytes(double b) {
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}
}  // namespace

std::string format_profile(const RunProfile& p) {
  std::string out = fmt::format(
      "profile: {} item(s), {} micro-batch(es) of up to {}, {} worker(s), wall {:.3f} s, stage time {:.3f} s, "
      "idle {:.3f} s\n",
      p.items, p.micro_batches, p.batch_size, p.workers, p.wall_seconds, p.busy_seconds(), p.idle_seconds);
  out += fmt::format("  {:<16} {:>10} {:>6} {:>10} {:>10} {:>10} {:>10} {:>6} {:>6}\n", "stage", "wall s", "share",
                     "cpu s", "wait s", "in", "out", "items", "cached");
  const double busy = p.busy_seconds();
  for (const StageProfile& s : p.stages)
    out += fmt::format("  {:<16} {:>10.4f} {:>5.1f}% {:>10.4f} {:>10.4f} {:>10} {:>10} {:>6} {:>6}\n", s.name,
                       s.wall_seconds, busy > 0 ? 100 * s.wall_seconds / busy : 0.0, s.cpu_seconds, s.wait_seconds,
                       human_bytes(static_cast<double>(s.bytes_in)), human_bytes(static_cast<double>(s.bytes_out)),
                       s.items, s.cache_hits);
  return out;
}

std::string format_amdahl(const AmdahlReport& r) {
  std::string out = fmt::format("amdahl: serial fraction {:.4f} (critical path + time no stage ran); predicted speed-up", r.serial_fraction);
  for (const PredictedSpeedup& p : r.predicted) out += fmt::format(" {}w {:.2f}x", p.workers, p.amdahl);
  out += " (at most";
  for (const PredictedSpeedup& p : r.predicted) out += fmt::format(" {:.2f}x", p.at_most);
  out += ")\n";
  if (r.measured_speedup)
    out += fmt::format("amdahl: measured speed-up {:.2f}x with {} workers (Karp-Flatt serial fraction {:.3f})\n",
                       *r.measured_speedup, r.measured_workers, *r.karp_flatt);
  if (!r.limiting_stage.empty())
    out += fmt::format("amdahl: limiting stage {} ({:.1f}% of stage time); making every other stage free would "
                       "speed the pipeline up by at most {:.2f}x\n",
                       r.limiting_stage, 100 * r.limiting_share, 1.0 / r.limiting_share);
  return out;
}

}  // namespace ecoinfer::pipeline
