// The ecoinfer command: one file per subcommand (info.cc, run.cc, bench.cc),
// each registering itself here. Uses only the public API.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"

// How libgomp's (oneDNN's OpenMP) idle threads wait between parallel
// regions. Its default spins for up to 300k iterations; fully passive
// waiting (sleep at once) was 3x faster under load but, on a quiet machine,
// made cls at 2 threads 7.5x slower (9.5 vs 1.3 ms) and 4x costlier in
// estimated energy, since a model run is hundreds of short regions each
// paying a futex wake-up. A spin of 100k iterations (about 6 ms of `pause`
// here) was as fast as unbounded spinning on a quiet machine, but when another
// process takes the second core every barrier costs the whole spin: cls at
// 2 threads 240-290 ms instead of 1.0. 5000 iterations (~0.3 ms) still
// cover the gaps between a run's regions (cls 1.02-1.13 ms vs 1.0-1.15 with
// 100k when nothing interferes) and bound that stall at 13-15 ms (rec 25-29
// against 235-250 ms; passive 15 ms). docs/PERFORMANCE.md, "How OpenMP
// threads wait". A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is respected.
//
// libgomp reads its environment in its constructor, so the variable must be
// there before it runs: start again once with it. This runs from the
// executable's .preinit_array, before any shared library's initializer
// (libgomp, oneDNN, protobuf, OpenCV), so the first image pays only the
// mapping, not the constructors. setenv() here would not do: libc's own
// initializer runs after this and resets environ to the original array
// (glibc 2.36), so the new environment is built by hand and passed to execve.
namespace {

bool starts_with(const char* text, const char* prefix) { return std::strncmp(text, prefix, std::strlen(prefix)) == 0; }

void bound_openmp_spin_waiting(int /*argc*/, char** argv, char** envp) {
  size_t count = 0;
  for (; envp[count] != nullptr; ++count) {
    if (starts_with(envp[count], "OMP_WAIT_POLICY=") || starts_with(envp[count], "GOMP_SPINCOUNT=")) return;
  }
  std::vector<char*> env(envp, envp + count);
  env.push_back(const_cast<char*>("GOMP_SPINCOUNT=5000"));
  env.push_back(nullptr);
  execve("/proc/self/exe", argv, env.data());  // returns only on failure: then go on as is
}

}  // namespace

__attribute__((section(".preinit_array"), used)) static void (*const kBoundOpenmpSpinWaiting)(int, char**, char**) =
    bound_openmp_spin_waiting;

int main(int argc, char** argv) {
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
