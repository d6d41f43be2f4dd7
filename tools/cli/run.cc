// ecoinfer run MODEL --input NAME=FILE.npy ...: one inference, outputs to .npy.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "energy_options.h"
#include "precision_options.h"

namespace ecoinfer::cli {
namespace {

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::string output_dir = ".";
  int threads = 0;
  bool json = false;
  bool no_optimize = false;
  Precision precision = Precision::kFp32;
  EnergyFlags energy;
};

Expected<std::vector<NamedTensor>> read_input_flags(const std::vector<std::string>& flags) {
  std::vector<NamedTensor> inputs;
  for (const std::string& flag : flags) {
    const auto eq = flag.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size())
      return invalid_argument(fmt::format("--input '{}' is not NAME=FILE.npy", flag));
    auto t = read_npy(flag.substr(eq + 1));
    if (!t) return t.status();
    inputs.push_back({flag.substr(0, eq), std::move(*t)});
  }
  return inputs;
}

int run_run(const RunOptions& o) {
  auto inputs = read_input_flags(o.inputs);
  if (!inputs) return fail(inputs.status().message());
  auto session = Session::load(o.model, {.threads = o.threads, .optimize = !o.no_optimize, .precision = o.precision});
  if (!session) return fail(session.status().message());
  auto energy = prepare_energy(o.energy, resolve_thread_count(o.threads));
  if (!energy) return fail(energy.status().message());
  if (Status m = start_meters(*energy); !m.is_ok()) return fail(m.message());
  auto outputs = (*session)->run(*inputs);
  if (!outputs) return fail(outputs.status().message());
  EnergyRun energy_run;  // the single run, one inference
  if (Status m = stop_meters(*energy, energy_run); !m.is_ok()) return fail(m.message());
  energy_run.model = o.model;
  std::error_code ec;
  std::filesystem::create_directories(o.output_dir, ec);
  if (ec) return fail(fmt::format("cannot create output folder {}: {}", o.output_dir, ec.message()));
  nlohmann::json j;
  for (const NamedTensor& out : *outputs) {
    const auto path = std::filesystem::path(o.output_dir) / (sanitize_file_name(out.name) + ".npy");
    if (Status s = write_npy(path, out.tensor); !s.is_ok()) return fail(s.message());
    if (o.json) {
      j["outputs"].push_back({{"name", out.name}, {"type", std::string(dtype_name(out.tensor.dtype()))},
                              {"shape", out.tensor.shape()}, {"file", path.string()}});
    } else {
      fmt::print("{} {} {} -> {}\n", out.name, dtype_name(out.tensor.dtype()), shape_to_string(out.tensor.shape()), path.string());
    }
  }
  if (Status w = write_emissions_row(*energy, energy_run); !w.is_ok()) return fail(w.message());
  if (o.json) {
    j["precision"] = describe_precision(**session);
    energy_json(*energy, energy_run, j);
    fmt::print("{}\n", j.dump(2));
  } else {
    print_energy(*energy, energy_run);
  }
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, CommandList& commands) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand("run", "Run a model once on .npy inputs and write each output as DIR/<output name>.npy.\n"
                                            "  ecoinfer run model.onnx --input x=image.npy --output-dir out/");
  sub->add_option("model", o->model, "the .onnx file")->required();
  sub->add_option("--input", o->inputs, "NAME=FILE.npy, once per model input")->required();
  sub->add_option("--output-dir", o->output_dir, "where to write the outputs (created if missing)");
  sub->add_option("--threads", o->threads, "intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  sub->add_flag("--json", o->json, "print one JSON object");
  sub->add_flag("--no-optimize", o->no_optimize, "run the graph as written, without graph optimizations (for debugging)");
  add_precision_option(sub, o->precision);
  add_energy_flags(sub, o->energy);
  commands.emplace_back(sub, [o] { return run_run(*o); });
}

}  // namespace ecoinfer::cli
