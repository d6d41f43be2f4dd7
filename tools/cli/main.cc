// The ecoinfer command: one file per subcommand (info.cc, run.cc, bench.cc),
// each registering itself here. Uses only the public API.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"ecoinfer: run ONNX models on the CPU with the least energy, and show what it costs.\n"
               "Try: ecoinfer info MODEL.onnx    ecoinfer bench MODEL.onnx --shape x=1x3x48x320"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ecoinfer 0.1.0");
  ecoinfer::cli::CommandList commands;
  ecoinfer::cli::add_info_command(app, commands);
  ecoinfer::cli::add_run_command(app, commands);
  ecoinfer::cli::add_bench_command(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, action] : commands) {
    if (sub->parsed()) return action();
  }
  return 2;
}
