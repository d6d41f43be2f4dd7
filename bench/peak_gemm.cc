// peak_gemm: the machine's achievable fp32 GFLOP/s, measured with a large
// oneDNN matmul (C[M,N] = A[M,K] * B[K,N]) at a given thread count. It is the
// ceiling that bench/compare-ort quotes ecoinfer's achieved GFLOP/s against.
//
//   build/bench/peak_gemm --threads 2 --size 2048 --seconds 2 --json
//
// Method: one primitive created once, a few warm-up runs, then timed runs for
// at least --seconds (and at least 3); FLOPs per run are 2*M*N*K; the figure
// reported is the best run (peak) and the median run, both in GFLOP/s.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace {

struct Options {
  int threads = 1;
  long size = 2048;
  double seconds = 2.0;
  bool json = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "peak_gemm: %s\nusage: peak_gemm [--threads N] [--size S] [--seconds T] [--json]\n", why);
  std::exit(1);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--threads") o.threads = std::atoi(value());
    else if (a == "--size") o.size = std::atol(value());
    else if (a == "--seconds") o.seconds = std::atof(value());
    else if (a == "--json") o.json = true;
    else if (a == "-h" || a == "--help") usage("measures fp32 GEMM GFLOP/s with oneDNN");
    else usage(("unknown option " + a).c_str());
  }
  if (o.threads < 1 || o.size < 16 || o.seconds <= 0) usage("--threads >= 1, --size >= 16, --seconds > 0");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  omp_set_num_threads(o.threads);
  const dnnl::memory::dim n = o.size;
  try {
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream strm(eng);
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc a_md({n, n}, dt::f32, tag::ab), b_md({n, n}, dt::f32, tag::ab), c_md({n, n}, dt::f32, tag::ab);
    std::vector<float> a(static_cast<size_t>(n * n)), b(a.size()), c(a.size());
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    for (auto& v : a) v = dist(rng);
    for (auto& v : b) v = dist(rng);
    dnnl::memory a_mem(a_md, eng, a.data()), b_mem(b_md, eng, b.data()), c_mem(c_md, eng, c.data());
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), eng);
    const dnnl::matmul mm(pd);
    auto run = [&] {
      mm.execute(strm, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
      strm.wait();
    };
    for (int i = 0; i < 2; ++i) run();
    std::vector<double> samples;
    const auto begin = std::chrono::steady_clock::now();
    while (samples.size() < 3 ||
           std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() < o.seconds) {
      const auto t0 = std::chrono::steady_clock::now();
      run();
      samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(samples.begin(), samples.end());
    const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    const double peak = flops / samples.front() / 1e9;
    const double median = flops / samples[samples.size() / 2] / 1e9;
    const char* isa = "unknown";
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
      case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
      case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
      case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
      case dnnl::cpu_isa::avx2: isa = "avx2"; break;
      default: break;
    }
    if (o.json) {
      std::printf(
          "{\"threads\": %d, \"m\": %ld, \"n\": %ld, \"k\": %ld, \"runs\": %zu, \"gflops_per_s\": %.2f, "
          "\"gflops_per_s_median\": %.2f, \"best_ms\": %.3f, \"onednn_isa\": \"%s\", "
          "\"method\": \"oneDNN fp32 matmul, best of timed runs, 2*M*N*K FLOPs\"}\n",
          o.threads, static_cast<long>(n), static_cast<long>(n), static_cast<long>(n), samples.size(), peak, median,
          samples.front() * 1e3, isa);
    } else {
      std::printf("fp32 GEMM %ldx%ldx%ld, %d thread(s), oneDNN ISA %s: peak %.1f GFLOP/s (best of %zu runs), median %.1f GFLOP/s\n",
                  static_cast<long>(n), static_cast<long>(n), static_cast<long>(n), o.threads, isa, peak, samples.size(),
                  median);
    }
  } catch (const dnnl::error& e) {
    std::fprintf(stderr, "peak_gemm: oneDNN error: %s\n", e.what());
    return 1;
  }
  return 0;
}
