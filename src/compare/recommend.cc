#include "compare/recommend.h"

#include <algorithm>

#include <fmt/format.h>

namespace ecoinfer::compare {
namespace {

std::string label(const Measurement& m) { return m.display_name + " " + m.precision; }

const Measurement* find_baseline(const CompareReport& r) {
  for (const auto& m : r.results)
    if (m.available && m.model == "bert-base" && m.precision == "fp32") return &m;
  for (const auto& m : r.results)
    if (m.available && m.precision == "fp32") return &m;
  return nullptr;
}

bool fits(const Measurement& m, const CompareReport& r) {
  return m.p99_ms <= r.latency_target_ms &&
         (!r.energy_budget_mj || m.joules_per_inference * 1e3 <= *r.energy_budget_mj);
}

std::string budget_text(const CompareReport& r) {
  std::string s = fmt::format("p99 <= {:g} ms", r.latency_target_ms);
  if (r.energy_budget_mj) s += fmt::format(" and <= {:g} mJ per inference", *r.energy_budget_mj);
  return s;
}

}  // namespace

void set_relative_energy(CompareReport& r) {
  const Measurement* base = find_baseline(r);
  if (base == nullptr || base->joules_per_inference <= 0) return;
  r.baseline = label(*base);
  double joules = base->joules_per_inference;
  for (auto& m : r.results)
    if (m.available) m.relative_energy = m.joules_per_inference / joules;
}

std::vector<std::string> recommend(const CompareReport& r) {
  std::vector<std::string> lines;
  for (const std::string task : {"text encoding", "image classification"}) {
    std::vector<const Measurement*> candidates;
    for (const auto& m : r.results)
      if (m.available && m.task == task) candidates.push_back(&m);
    if (candidates.empty()) continue;
    auto by_energy = [](const Measurement* a, const Measurement* b) {
      return a->joules_per_inference < b->joules_per_inference;
    };
    std::vector<const Measurement*> fitting;
    for (const auto* m : candidates)
      if (fits(*m, r)) fitting.push_back(m);
    if (fitting.empty()) {
      const Measurement* fastest = *std::min_element(candidates.begin(), candidates.end(),
                                                     [](auto* a, auto* b) { return a->p99_ms < b->p99_ms; });
      lines.push_back(fmt::format("{}: nothing measured meets {}; the fastest is {} (p99 {:.1f} ms, {:.1f} mJ per "
                                  "inference): relax the target, or add threads",
                                  task, budget_text(r), label(*fastest), fastest->p99_ms,
                                  fastest->joules_per_inference * 1e3));
      continue;
    }
    const Measurement* pick = *std::min_element(fitting.begin(), fitting.end(), by_energy);
    const Measurement* worst = *std::max_element(candidates.begin(), candidates.end(), by_energy);
    std::string saving;
    if (worst != pick && pick->joules_per_inference > 0)
      saving = fmt::format(", {:.1f}x less energy than {}", worst->joules_per_inference / pick->joules_per_inference,
                           label(*worst));
    lines.push_back(fmt::format("{}: {} (p99 {:.1f} ms, {:.1f} mJ per inference{}) is the least energy that meets {}",
                                task, label(*pick), pick->p99_ms, pick->joules_per_inference * 1e3, saving,
                                budget_text(r)));
  }
  return lines;
}

}  // namespace ecoinfer::compare
