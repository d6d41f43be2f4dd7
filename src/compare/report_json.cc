// report.json: every figure with its unit in the key name, and the method.
// Schema "ecoinfer.compare/1" (docs/COMPARE.md lists the keys).
#include <nlohmann/json.hpp>

#include "compare/compare.h"

namespace ecoinfer::compare {
namespace {

using nlohmann::json;

template <class T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json result_json(const Measurement& m) {
  json j = {{"model", m.model},         {"display_name", m.display_name}, {"family", m.family},
            {"task", m.task},           {"weights", m.weights},           {"precision", m.precision},
            {"available", m.available}, {"reason", m.reason},             {"file", m.file},
            {"file_bytes", m.file_bytes}};
  if (!m.available) return j;
  json throughput = json::array();
  for (const auto& t : m.throughput)
    throughput.push_back({{"batch", t.batch}, {"items_per_second", t.items_per_second},
                          {"joules_per_item", t.joules_per_item}, {"runs", t.runs}});
  j.update({{"parameters", m.parameters},
            {"flops_per_inference", m.flops},
            {"inputs_batch1", m.input_shapes},
            {"latency_ms", {{"p50", m.p50_ms}, {"p99", m.p99_ms}, {"iterations", m.iterations}, {"batch", 1}}},
            {"throughput", throughput},
            {"peak_memory_bytes", m.peak_memory_bytes},
            {"peak_memory_method", m.memory_method},
            {"energy", {{"joules_per_inference", m.joules_per_inference}, {"method", m.energy_method}, {"batch", 1}}},
            {"relative_energy", optional_json(m.relative_energy)},
            {"mg_co2e_per_inference", m.mg_co2e_per_inference},
            {"fidelity", m.precision == "fp32" ? json(nullptr)
                                               : json{{"cosine", optional_json(m.cosine)},
                                                      {"top1_agreement", optional_json(m.top1_agreement)}}}});
  return j;
}

}  // namespace

std::string report_json(const CompareReport& r) {
  json results = json::array();
  for (const auto& m : r.results) results.push_back(result_json(m));
  json j = {
      {"schema", "ecoinfer.compare/1"},
      {"generated_at", r.generated_at},
      {"command", r.command},
      {"host", {{"cpu_model", r.host.cpu_model}, {"cpu_count", r.host.cpu_count},
                {"ram_total_gib", r.host.ram_total_gib}, {"os", r.host.os}, {"onednn_isa", r.onednn_isa}}},
      {"threads", r.threads},
      {"quick", r.quick},
      {"seconds", r.seconds},
      {"carbon", {{"region", r.carbon.name}, {"location", r.carbon.location}, {"g_per_kwh", r.carbon.g_per_kwh},
                  {"year", r.carbon.year}, {"source", r.carbon.source}, {"is_world_default", r.carbon.is_world_default}}},
      {"meter", r.meter_description},
      {"baseline", r.baseline},
      {"latency_target_ms", r.latency_target_ms},
      {"energy_budget_mj", optional_json(r.energy_budget_mj)},
      {"results", results},
      {"recommendations", r.recommendations},
  };
  return j.dump(2);
}

}  // namespace ecoinfer::compare
