// ecoinfer zoo list | zoo build NAME --out FILE.onnx: well-known
// architectures as ONNX files with synthetic weights (src/zoo).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "zoo/zoo.h"

namespace ecoinfer::cli {
namespace {

struct ZooOptions {
  std::string name;
  std::string out;
  int64_t seq_len = 128;
  uint64_t seed = 0;
  bool json = false;
};

int run_zoo_list(const ZooOptions& o) {
  if (o.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& m : zoo::zoo_models())
      j.push_back({{"name", m.name}, {"display_name", m.display_name}, {"family", m.family}, {"task", m.task},
                   {"reference_parameters", m.reference_parameters}, {"reference", m.reference},
                   {"takes_seq_len", m.is_transformer}});
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("{:<20} {:<26} {:<18} {:>11}  {}\n", "NAME", "ARCHITECTURE", "FAMILY", "PARAMETERS", "INPUTS");
  for (const auto& m : zoo::zoo_models()) {
    std::string inputs = m.is_transformer ? "input_ids, attention_mask int64 [batch, seq-len]" : "input float [batch, 3, 224, 224]";
    fmt::print("{:<20} {:<26} {:<18} {:>10.1f}M  {}\n", m.name, m.display_name, m.family,
               static_cast<double>(m.reference_parameters) / 1e6, inputs);
  }
  fmt::print("\nBuild one: ecoinfer zoo build distilbert-base --out distilbert.onnx [--seq-len 128] [--seed 0]\n"
             "Weights are synthetic (seeded): right for speed, memory and energy, not for predictions.\n");
  return 0;
}

int run_zoo_build(const ZooOptions& o) {
  int64_t parameters = 0;
  Status st = zoo::write_zoo_model(o.name, {.seq_len = o.seq_len, .seed = o.seed}, o.out, &parameters);
  if (!st) return fail(st.message());
  if (o.json) {
    fmt::print("{}\n", nlohmann::json{{"model", o.name}, {"out", o.out}, {"parameters", parameters},
                                      {"seq_len", o.seq_len}, {"seed", o.seed}}.dump(2));
  } else {
    fmt::print("wrote {} ({}, {:.2f}M parameters, seed {})\n", o.out, o.name, static_cast<double>(parameters) / 1e6,
               o.seed);
  }
  return 0;
}

}  // namespace

void add_zoo_command(CLI::App& app, CommandList& commands) {
  auto o = std::make_shared<ZooOptions>();
  CLI::App* zoo = app.add_subcommand("zoo", "Well-known architectures (BERT, ResNet-50, MobileNetV3, DistilBERT) as ONNX\n"
                                            "files with synthetic weights, to measure on this machine.\n"
                                            "  ecoinfer zoo list\n"
                                            "  ecoinfer zoo build resnet50 --out resnet50.onnx");
  zoo->require_subcommand(1);
  CLI::App* list = zoo->add_subcommand("list", "List the zoo's models with their reference parameter counts.");
  list->add_flag("--json", o->json, "print a JSON array");
  CLI::App* build = zoo->add_subcommand("build", "Write one zoo model as an ONNX file.\n"
                                                 "  ecoinfer zoo build bert-base --out bert.onnx --seq-len 128");
  build->add_option("name", o->name, "the model (see `ecoinfer zoo list`)")->required();
  build->add_option("--out,-o", o->out, "the .onnx file to write")->required();
  build->add_option("--seq-len", o->seq_len, "sequence length of the transformers' inputs (1..512)")->default_val(128);
  build->add_option("--seed", o->seed, "seed of the synthetic weights (same seed, same file)")->default_val(0);
  build->add_flag("--json", o->json, "print one JSON object");
  commands.emplace_back(list, [o] { return run_zoo_list(*o); });
  commands.emplace_back(build, [o] { return run_zoo_build(*o); });
}

}  // namespace ecoinfer::cli
