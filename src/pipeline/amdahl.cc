#include "pipeline/amdahl.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace ecoinfer::pipeline {

size_t dag_width(const Pipeline& p) {
  std::vector<size_t> depth(p.stages().size(), 0);
  std::map<size_t, size_t> per_level;
  for (size_t s = 0; s < p.stages().size(); ++s) {  // stages are in topological order
    for (size_t d : p.dependencies(s)) depth[s] = std::max(depth[s], depth[d] + 1);
    ++per_level[depth[s]];
  }
  size_t width = 1;
  for (const auto& [level, n] : per_level) width = std::max(width, n);
  return width;
}

AmdahlReport amdahl_report(const RunProfile& base, const RunProfile* parallel, double extra_serial_seconds,
                           size_t width) {
  AmdahlReport r;
  const double wall = base.wall_seconds + extra_serial_seconds;
  const double serial = base.idle_seconds + extra_serial_seconds;
  r.serial_fraction = wall > 0 ? std::clamp(serial / wall, 0.0, 1.0) : 0.0;
  r.parallelism_cap = static_cast<double>(std::max<size_t>(1, base.micro_batches) * std::max<size_t>(1, width));
  for (int n : {2, 4, 8, 16}) {
    const double amdahl = 1.0 / (r.serial_fraction + (1.0 - r.serial_fraction) / n);
    r.predicted.emplace_back(n, std::min(amdahl, r.parallelism_cap));
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
  j["parallelism_cap"] = r.parallelism_cap;
  for (const auto& [n, s] : r.predicted) j["predicted_speedup"][std::to_string(n)] = s;
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
  std::string out = fmt::format("amdahl: serial fraction {:.4f} (time no stage ran); predicted speed-up", r.serial_fraction);
  for (const auto& [n, s] : r.predicted) out += fmt::format(" {}w {:.2f}x", n, s);
  out += fmt::format(" (capped at {:.0f} tasks at once)\n", r.parallelism_cap);
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
