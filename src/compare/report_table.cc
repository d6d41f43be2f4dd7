// The markdown table: one column per model (the guide's families), rows for
// the figures, one block of rows per precision.
#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "compare/compare.h"

namespace ecoinfer::compare {
namespace {

using Row = std::vector<std::string>;

std::string row_text(const Row& cells) {
  std::string s = "|";
  for (const auto& c : cells) s += " " + c + " |";
  return s + "\n";
}

std::vector<std::string> model_order(const CompareReport& r) {
  std::vector<std::string> models;
  for (const auto& m : r.results)
    if (std::find(models.begin(), models.end(), m.model) == models.end()) models.push_back(m.model);
  return models;
}

std::vector<std::string> precision_order(const CompareReport& r) {
  std::vector<std::string> precisions;
  for (const auto& m : r.results)
    if (std::find(precisions.begin(), precisions.end(), m.precision) == precisions.end())
      precisions.push_back(m.precision);
  return precisions;
}

const Measurement* find(const CompareReport& r, const std::string& model, const std::string& precision) {
  for (const auto& m : r.results)
    if (m.model == model && m.precision == precision) return &m;
  return nullptr;
}

std::string throughput_at(const Measurement& m, int64_t batch) {
  for (const auto& t : m.throughput)
    if (t.batch == batch) return fmt::format("{:.1f}", t.items_per_second);
  return "not run";
}

// Figures of one precision; `value` returns the cell for an available result.
struct Figure {
  std::string name;
  std::function<std::string(const Measurement&)> value;
};

std::vector<Figure> figures(const CompareReport& r) {
  std::string carbon = fmt::format("mg CO2e per inference ({}, {:g} g/kWh)", r.carbon.name, r.carbon.g_per_kwh);
  std::string relative = fmt::format("Relative energy ({} = 1.0)", r.baseline.empty() ? "no baseline" : r.baseline);
  return {
      {"File size (MB)", [](auto& m) { return fmt::format("{:.1f}", static_cast<double>(m.file_bytes) / 1e6); }},
      {"GFLOPs per inference", [](auto& m) { return fmt::format("{:.2f}", static_cast<double>(m.flops) / 1e9); }},
      {"Latency p50, batch 1 (ms)", [](auto& m) { return fmt::format("{:.2f}", m.p50_ms); }},
      {"Latency p99, batch 1 (ms)", [](auto& m) { return fmt::format("{:.2f}", m.p99_ms); }},
      {"Throughput, batch 8 (inferences/s)", [](auto& m) { return throughput_at(m, 8); }},
      {"Throughput, batch 32 (inferences/s)", [](auto& m) { return throughput_at(m, 32); }},
      {"Peak memory (MB)", [](auto& m) { return fmt::format("{:.0f}", static_cast<double>(m.peak_memory_bytes) / 1e6); }},
      {"Energy per inference, batch 1 (mJ, estimated)", [](auto& m) { return fmt::format("{:.1f}", m.joules_per_inference * 1e3); }},
      {relative, [](auto& m) { return m.relative_energy ? fmt::format("{:.3f}", *m.relative_energy) : "n/a"; }},
      {carbon, [](auto& m) { return fmt::format("{:.3g}", m.mg_co2e_per_inference); }},
      {"Fidelity vs fp32 (cosine / top-1)", [](auto& m) {
         if (m.precision == "fp32") return std::string("reference");
         if (!m.cosine) return std::string("n/a");
         return fmt::format("{:.4f} / {:.0f}%", *m.cosine, *m.top1_agreement * 100);
       }},
  };
}

// Model-level rows (the same for every precision): from the first result.
Row model_row(const CompareReport& r, const std::vector<std::string>& models, const std::string& name,
              const std::function<std::string(const Measurement&)>& value) {
  Row row{name};
  for (const auto& model : models) {
    const Measurement* best = nullptr;
    for (const auto& m : r.results)
      if (m.model == model && (best == nullptr || (m.available && !best->available))) best = &m;
    row.push_back(best ? value(*best) : "");
  }
  return row;
}

}  // namespace

std::string markdown_table(const CompareReport& r) {
  std::vector<std::string> models = model_order(r);
  Row header{"Figure"};
  for (const auto& model : models) header.push_back(find(r, model, precision_order(r)[0])->display_name);
  std::string out = row_text(header);
  out += row_text(Row(header.size(), "---"));
  out += row_text(model_row(r, models, "Family", [](auto& m) { return m.family; }));
  out += row_text(model_row(r, models, "Weights", [](auto& m) { return m.weights; }));
  out += row_text(model_row(r, models, "Parameters (M)", [](auto& m) {
    return m.available ? fmt::format("{:.1f}", static_cast<double>(m.parameters) / 1e6) : std::string("n/a");
  }));
  for (const auto& precision : precision_order(r)) {
    bool any = false;
    for (const auto& model : models) any = any || find(r, model, precision)->available;
    if (!any) {
      // Nothing ran at this precision: one row that says why.
      Row row{"**" + precision + "**"};
      for (const auto& model : models) {
        const Measurement* m = find(r, model, precision);
        row.push_back(m->reason.rfind("n/a (not built)", 0) == 0 ? "n/a (not built)" : "n/a");
      }
      out += row_text(row);
      continue;
    }
    for (const auto& f : figures(r)) {
      Row row{"**" + precision + "** " + f.name};
      for (const auto& model : models) {
        const Measurement* m = find(r, model, precision);
        row.push_back(m->available ? f.value(*m) : "n/a");
      }
      out += row_text(row);
    }
  }
  return out;
}

std::string recommendation_text(const CompareReport& r) {
  std::string out;
  for (const auto& line : r.recommendations) out += "- " + line + "\n";
  return out;
}

}  // namespace ecoinfer::compare
