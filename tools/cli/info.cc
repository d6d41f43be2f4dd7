#include "commands.h"
namespace ecoinfer::cli {
int fail(const std::string& message) { std::fprintf(stderr, "ecoinfer: error: %s\n", message.c_str()); return kExitFailure; }
void add_info_command(CLI::App&, CommandList&) {}
void add_run_command(CLI::App&, CommandList&) {}
void add_bench_command(CLI::App&, CommandList&) {}
}
