// Subcommand registration: each add_*_command adds its CLI11 subcommand and
// the action to run when it is chosen. Actions return the process exit code.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace ecoinfer::cli {

using CommandList = std::vector<std::pair<CLI::App*, std::function<int()>>>;

void add_info_command(CLI::App& app, CommandList& commands);
void add_run_command(CLI::App& app, CommandList& commands);
void add_bench_command(CLI::App& app, CommandList& commands);
void add_ocr_command(CLI::App& app, CommandList& commands);
void add_serve_command(CLI::App& app, CommandList& commands);
void add_loadgen_command(CLI::App& app, CommandList& commands);
void add_zoo_command(CLI::App& app, CommandList& commands);
void add_compare_command(CLI::App& app, CommandList& commands);
void add_quantize_command(CLI::App& app, CommandList& commands);

// Exit codes: 0 success, 1 the model or input is bad (message printed),
// 2 the command line is wrong (CLI11's convention).
inline constexpr int kExitFailure = 1;

// Prints "ecoinfer: error: <message>" on stderr, one line.
int fail(const std::string& message);

}  // namespace ecoinfer::cli
