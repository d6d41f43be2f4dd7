// ecoinfer compare: the efficient-architecture table, measured on this
// machine (src/compare), printed as markdown and written as report.json and
// report.html.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cli_util.h"
#include "commands.h"
#include "compare/compare.h"

namespace ecoinfer::cli {
namespace {

struct CompareFlags {
  std::string models;
  std::string precisions = "fp32,bf16,int8";
  int threads = 0;
  bool quick = false;
  std::string region;
  std::string out = "build/compare";
  std::string cache = "build/zoo-cache";
  std::string models_dir = "models";
  int64_t seq_len = 128;
  double latency_target_ms = 100;
  double energy_budget_mj = 0;
  bool json = false;
  std::string command;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> items;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

// "compare  [#####-----] 3/21 resnet50 fp32" on a terminal, nothing otherwise.
void show_progress(int done, int total, const std::string& what) {
  if (!stderr_is_terminal()) return;
  const int width = 30;
  const int filled = total ? done * width / total : width;
  std::fprintf(stderr, "\r\033[Kcompare  [%s%s] %d/%d %s", std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '-').c_str(), done, total, what.c_str());
  if (done == total) std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

Status write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) return io_error(fmt::format("cannot write {}: check the --out folder", path.string()));
  return Status::ok();
}

int run_compare_command(const CompareFlags& f) {
  compare::CompareOptions o;
  if (!f.models.empty()) o.models = split_list(f.models);
  o.precisions = split_list(f.precisions);
  o.threads = f.threads;
  o.quick = f.quick;
  o.region = f.region;
  o.cache_dir = f.cache;
  o.models_dir = f.models_dir;
  o.seq_len = f.seq_len;
  o.latency_target_ms = f.latency_target_ms;
  if (f.energy_budget_mj > 0) o.energy_budget_mj = f.energy_budget_mj;
  o.command = f.command;
  std::error_code ec;
  std::filesystem::create_directories(f.out, ec);
  if (ec) return fail(fmt::format("cannot create --out folder {}: {}", f.out, ec.message()));

  auto report = compare::run_compare(o, show_progress);
  if (!report) return fail(report.status().message());
  std::filesystem::path out = f.out;
  std::string json = compare::report_json(*report);
  for (const auto& [file, text] : {std::pair{out / "report.json", json}, {out / "report.html", compare::report_html(*report)}})
    if (Status st = write_text(file, text); !st) return fail(st.message());
  if (f.json) {
    fmt::print("{}\n", json);
    return 0;
  }
  fmt::print("{}\n", compare::markdown_table(*report));
  fmt::print("Recommendation (latency target p99 <= {:g} ms{}):\n{}\n", o.latency_target_ms,
             o.energy_budget_mj ? fmt::format(", energy budget {:g} mJ", *o.energy_budget_mj) : "",
             compare::recommendation_text(*report));
  for (const auto& m : report->results)
    if (!m.available) fmt::print("{} {}: {}\n", m.display_name, m.precision, m.reason);
  fmt::print("\nEnergy: {}\nCarbon: {} ({}), {:g} gCO2e/kWh{}\n", report->meter_description, report->carbon.name,
             report->carbon.location, report->carbon.g_per_kwh,
             report->carbon.is_world_default ? " (world average: pass --region for yours)" : "");
  fmt::print("{} thread(s), {} measured in {:.0f} s. Wrote {} and {}\n", report->threads,
             report->quick ? "quick run" : "full run", report->seconds, (out / "report.json").string(),
             (out / "report.html").string());
  return 0;
}

}  // namespace

void add_compare_command(CLI::App& app, CommandList& commands) {
  auto f = std::make_shared<CompareFlags>();
  CLI::App* sub = app.add_subcommand(
      "compare",
      "Measure Transformer (BERT), convolutional (ResNet-50), efficient (MobileNetV3) and distilled (DistilBERT)\n"
      "architectures and the real PaddleOCR models on this machine: parameters, FLOPs, latency, throughput,\n"
      "memory, energy and carbon per inference, per precision. Prints a markdown table and a recommendation,\n"
      "writes report.json and report.html (charts) to --out. Zoo models are built once into --cache.\n"
      "  ecoinfer compare                      # everything, about 6 minutes on 2 cores (first run: + model builds)\n"
      "  ecoinfer compare --quick              # fewer iterations, batch 8 only, about 2 minutes\n"
      "  ecoinfer compare --models distilbert-base,mobilenetv3-large --precisions fp32 --region FR");
  sub->add_option("--models", f->models,
                  "comma-separated: bert-base,resnet50,mobilenetv3-large,distilbert-base,ppocr-cls,ppocr-det,ppocr-rec "
                  "(default: all)");
  sub->add_option("--precisions", f->precisions, "comma-separated from fp32,bf16,int8")->default_val("fp32,bf16,int8");
  sub->add_option("--threads", f->threads, "intra-op threads (0: all cores)")->default_val(0);
  sub->add_flag("--quick", f->quick, "shorter measurements (1 s latency loops, throughput at batch 8 only)");
  sub->add_option("--region", f->region, "grid region for carbon: ISO country (FR) or cloud region (us-east-1)");
  sub->add_option("--out", f->out, "folder for report.json and report.html")->default_val("build/compare");
  sub->add_option("--cache", f->cache, "folder for the built zoo models (reused between runs)")->default_val("build/zoo-cache");
  sub->add_option("--models-dir", f->models_dir, "folder holding the PaddleOCR .onnx files")->default_val("models");
  sub->add_option("--seq-len", f->seq_len, "sequence length for BERT and DistilBERT")->default_val(128);
  sub->add_option("--latency-target-ms", f->latency_target_ms, "the recommendation's p99 latency target")->default_val(100);
  sub->add_option("--energy-budget-mj", f->energy_budget_mj, "the recommendation's energy budget per inference (mJ; 0: none)");
  sub->add_flag("--json", f->json, "print report.json instead of the table");
  commands.emplace_back(sub, [f, sub] {
    f->command = "ecoinfer compare";  // as given, for the report
    for (const CLI::Option* opt : sub->get_options()) {
      if (opt->count() == 0 || opt->get_name() == "--help") continue;
      f->command += " " + opt->get_name();
      if (opt->get_type_size() != 0)
        for (const auto& value : opt->results()) f->command += " " + value;
    }
    return run_compare_command(*f);
  });
}

}  // namespace ecoinfer::cli
