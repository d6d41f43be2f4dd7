// The ecoinfer command: one file per subcommand (info.cc, run.cc, bench.cc),
// each registering itself here. Uses only the public API.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "commands.h"

// libgomp (oneDNN's OpenMP) spins waiting threads by default. On a shared
// or busy machine a spinning thread burns a core another process needs, and
// every spin is energy spent on nothing: measured here with 2 threads under
// load, passive waiting made cls 3x faster and cut its estimated energy 4x.
// libgomp reads the policy when it loads, so set it and start again once;
// a user's own OMP_WAIT_POLICY is respected.
void prefer_passive_openmp_waiting(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then go on as is
}

int main(int argc, char** argv) {
  prefer_passive_openmp_waiting(argv);
  CLI::App app{"ecoinfer: run ONNX models on the CPU with the least energy, and show what it costs.\n"
               "Try: ecoinfer info MODEL.onnx    ecoinfer bench MODEL.onnx --shape x=1x3x48x320"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ecoinfer 0.1.0");
  ecoinfer::cli::CommandList commands;
  ecoinfer::cli::add_info_command(app, commands);
  ecoinfer::cli::add_run_command(app, commands);
  ecoinfer::cli::add_bench_command(app, commands);
  ecoinfer::cli::add_ocr_command(app, commands);
  ecoinfer::cli::add_serve_command(app, commands);
  ecoinfer::cli::add_loadgen_command(app, commands);
  ecoinfer::cli::add_zoo_command(app, commands);
  ecoinfer::cli::add_compare_command(app, commands);
  ecoinfer::cli::add_quantize_command(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message and has its own codes per error kind (105
    // for a failed validator); ecoinfer promises 2 for any bad command line.
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (auto& [sub, action] : commands) {
    if (sub->parsed()) return action();
  }
  return 2;
}
