// report.html: one self-contained page (no external JS, CSS or fonts): the
// table, the recommendation, and two inline SVG charts.
#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "compare/compare.h"

namespace ecoinfer::compare {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string color_of(const std::string& precision) {
  if (precision == "bf16") return "#e67e22";
  if (precision == "int8") return "#27ae60";
  return "#2f6fb3";
}

// The markdown table as HTML (same cells, so the two never disagree).
std::string html_table(const std::string& markdown) {
  std::istringstream in(markdown);
  std::string line, out = "<table>\n";
  int row = 0;
  while (std::getline(in, line)) {
    if (line.find("---") != std::string::npos) continue;
    out += "<tr>";
    size_t start = 1;
    while (true) {
      size_t bar = line.find('|', start);
      if (bar == std::string::npos) break;
      std::string cell = line.substr(start, bar - start);
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      bool bold = cell.rfind("**", 0) == 0;
      if (bold) cell = "<b>" + escape(cell.substr(2, cell.find("**", 2) - 2)) + "</b>" + escape(cell.substr(cell.find("**", 2) + 2));
      else cell = escape(cell);
      out += row == 0 ? "<th>" + cell + "</th>" : "<td>" + cell + "</td>";
      start = bar + 1;
    }
    out += "</tr>\n";
    ++row;
  }
  return out + "</table>\n";
}

struct LogAxis {
  double lo, hi;  // decades, inclusive
  double pos(double v, double length) const { return (std::log10(v) - lo) / (hi - lo) * length; }
};

LogAxis log_axis(std::vector<double> values) {
  auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  double lo = std::floor(std::log10(*mn)), hi = std::ceil(std::log10(*mx));
  if (hi <= lo) hi = lo + 1;
  return {lo, hi};
}

// Latency (x) against energy per inference (y), both log scale.
std::string scatter_chart(const CompareReport& r) {
  std::vector<const Measurement*> points;
  for (const auto& m : r.results)
    if (m.available && m.p50_ms > 0 && m.joules_per_inference > 0) points.push_back(&m);
  if (points.empty()) return "<p>No measurement to plot.</p>\n";
  const double w = 720, h = 420, left = 70, bottom = 50, top = 20, right = 160;
  const double pw = w - left - right, ph = h - top - bottom;
  std::vector<double> xs, ys;
  for (auto* m : points) {
    xs.push_back(m->p50_ms);
    ys.push_back(m->joules_per_inference * 1e3);
  }
  LogAxis ax = log_axis(xs), ay = log_axis(ys);
  std::string s = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" "
                              "aria-label=\"latency against energy per inference\">\n", w, h);
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", left, top, pw, ph);
  for (double d = ax.lo; d <= ax.hi; ++d) {
    double x = left + ax.pos(std::pow(10, d), pw);
    s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0}\" y=\"{3}\" "
                     "font-size=\"11\" text-anchor=\"middle\">{4:g}</text>\n", x, top, top + ph, top + ph + 15, std::pow(10, d));
  }
  for (double d = ay.lo; d <= ay.hi; ++d) {
    double y = top + ph - ay.pos(std::pow(10, d), ph);
    s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#ddd\"/><text x=\"{3}\" y=\"{4}\" "
                     "font-size=\"11\" text-anchor=\"end\">{5:g}</text>\n", left, y, left + pw, left - 5, y + 4, std::pow(10, d));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">latency p50, batch 1 (ms, log scale)</text>\n",
                   left + pw / 2, h - 10);
  s += fmt::format("<text x=\"15\" y=\"{0}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 15 {0})\">"
                   "energy per inference (mJ, log scale)</text>\n", top + ph / 2);
  for (auto* m : points) {
    double x = left + ax.pos(m->p50_ms, pw), y = top + ph - ay.pos(m->joules_per_inference * 1e3, ph);
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"><title>{} {}: {:.2f} ms, {:.1f} mJ</title></circle>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{} {}</text>\n",
                     x, y, color_of(m->precision), escape(m->display_name), m->precision, m->p50_ms,
                     m->joules_per_inference * 1e3, x + 8, y + 4, escape(m->display_name), m->precision);
  }
  return s + "</svg>\n";
}

// Energy per inference for each model, one bar per precision.
std::string bar_chart(const CompareReport& r) {
  double max_mj = 0;
  for (const auto& m : r.results)
    if (m.available) max_mj = std::max(max_mj, m.joules_per_inference * 1e3);
  const double bar = 16, gap = 4, left = 230, width = 420;
  double h = static_cast<double>(r.results.size()) * (bar + gap) + 40;
  std::string s = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" "
                              "aria-label=\"energy per inference per precision per model\">\n", left + width + 120, h);
  double y = 10;
  for (const auto& m : r.results) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{} {}</text>\n", left - 6,
                     y + bar - 4, escape(m.display_name), m.precision);
    if (m.available && max_mj > 0) {
      double len = std::max(1.0, m.joules_per_inference * 1e3 / max_mj * width);
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/><text x=\"{:.1f}\" y=\"{}\" "
                       "font-size=\"11\">{:.1f} mJ</text>\n", left, y, len, bar, color_of(m.precision), left + len + 4,
                       y + bar - 4, m.joules_per_inference * 1e3);
    } else {
      s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#888\">{}</text>\n", left + 4, y + bar - 4,
                       m.reason.rfind("n/a (not built)", 0) == 0 ? "n/a (not built)" : "n/a");
    }
    y += bar + gap;
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\">energy per inference, batch 1 (mJ, {})</text>\n", left,
                   y + 20, r.results.empty() ? "" : "estimated");
  return s + "</svg>\n";
}

}  // namespace

std::string report_html(const CompareReport& r) {
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ecoinfer compare</title>\n"
                  "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
                  "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,"
                  "th:first-child{text-align:left}th{background:#f0f0f0}.note{color:#555;font-size:13px}</style>\n"
                  "</head><body>\n<h1>ecoinfer compare</h1>\n";
  s += fmt::format("<p class=\"note\">{} on {} ({} CPUs, {:.0f} GiB, oneDNN ISA {}), {} thread(s){}. Command: <code>{}</code></p>\n",
                   escape(r.generated_at), escape(r.host.cpu_model), r.host.cpu_count, r.host.ram_total_gib,
                   escape(r.onednn_isa), r.threads, r.quick ? ", quick run" : "", escape(r.command));
  s += fmt::format("<p class=\"note\">Energy: {}. Carbon: {} ({}), {:g} gCO2e/kWh ({} {}).</p>\n",
                   escape(r.meter_description), escape(r.carbon.name), escape(r.carbon.location), r.carbon.g_per_kwh,
                   escape(r.carbon.source), r.carbon.year);
  s += "<h2>Figures</h2>\n" + html_table(markdown_table(r));
  s += "<h2>Recommendation</h2>\n<ul>\n";
  for (const auto& line : r.recommendations) s += "<li>" + escape(line) + "</li>\n";
  s += "</ul>\n<h2>Latency against energy per inference</h2>\n" + scatter_chart(r);
  s += "<h2>Energy per inference, per precision, per model</h2>\n" + bar_chart(r);
  s += "<h2>Not measured</h2>\n<ul>\n";
  for (const auto& m : r.results)
    if (!m.available) s += "<li>" + escape(m.display_name + " " + m.precision + ": " + m.reason) + "</li>\n";
  s += "</ul>\n<p class=\"note\">Methods: docs/COMPARE.md. Zoo models carry synthetic weights: their fidelity figures "
       "compare precisions, not accuracy.</p>\n</body></html>\n";
  return s;
}

}  // namespace ecoinfer::compare
