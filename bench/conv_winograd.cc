// conv_winograd: oneDNN's Winograd F(2x2, 3x3) convolution against its
// direct kernel on ResNet-50's 3x3 stride-1 shapes (and any other), the
// measurement behind ConvKernel::winograd_suits (src/kernels/cpu/conv.cc).
// Direct runs on channels-last tensors as the engine keeps them; Winograd
// takes 16-channel blocks, so the two reorders the engine adds around it
// are timed with it. Both carry the ReLU post-op ResNet fuses. The two sides
// alternate, round by round; the figures are medians.
//
//   build/bench/conv_winograd --threads 1 --rounds 5
//   build/bench/conv_winograd --shape 96x40 --shape 64x160   (CHANNELSxSIDE)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct Shape {
  long channels, side;
};

struct Options {
  int threads = 1;
  int rounds = 5;
  int iters = 20;
  std::vector<Shape> shapes;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "conv_winograd: %s\nusage: conv_winograd [--threads N] [--rounds R] [--iters K] "
               "[--shape CHANNELSxSIDE ...]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--threads")) o.threads = std::atoi(value());
    else if (!std::strcmp(argv[i], "--rounds")) o.rounds = std::atoi(value());
    else if (!std::strcmp(argv[i], "--iters")) o.iters = std::atoi(value());
    else if (!std::strcmp(argv[i], "--shape")) {
      Shape s{};
      if (std::sscanf(value(), "%ldx%ld", &s.channels, &s.side) != 2 || s.channels <= 0 || s.side <= 0)
        usage("--shape wants CHANNELSxSIDE, e.g. 64x56");
      o.shapes.push_back(s);
    } else {
      usage("unknown option");
    }
  }
  if (o.threads < 1 || o.rounds < 1 || o.iters < 1) usage("--threads, --rounds and --iters must be >= 1");
  if (o.shapes.empty()) o.shapes = {{64, 56}, {128, 28}, {256, 14}, {512, 7}};
  return o;
}

// One 3x3 stride-1 pad-1 convolution with ReLU, ready to run: the
// primitive, its memories and, for Winograd, the reorders in and out.
struct Case {
  dnnl::convolution_forward conv;
  memory src, weights, bias, dst, scratchpad, user_src, user_dst;
  dnnl::reorder in, out;
  bool staged = false;
  std::string impl;
};

Case make_case(const dnnl::engine& engine, dnnl::stream& stream, Shape s, bool winograd) {
  const memory::dims act = {1, s.channels, s.side, s.side};
  const memory::desc user(act, memory::data_type::f32, tag::nhwc);
  const memory::desc act_desc(act, memory::data_type::f32, winograd ? tag::nChw16c : tag::nhwc);
  const memory::desc w_any({s.channels, s.channels, 3, 3}, memory::data_type::f32, tag::any);
  const memory::desc bias({s.channels}, memory::data_type::f32, tag::a);
  const dnnl::convolution_forward::desc d(
      dnnl::prop_kind::forward_inference,
      winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct, act_desc, w_any, bias,
      act_desc, {1, 1}, {1, 1}, {1, 1});
  dnnl::post_ops ops;
  ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::convolution_forward::primitive_desc pd(d, attr, engine);
  Case c;
  c.conv = dnnl::convolution_forward(pd);
  c.impl = pd.impl_info_str();
  c.src = memory(pd.src_desc(), engine);
  c.dst = memory(pd.dst_desc(), engine);
  c.bias = memory(bias, engine);
  c.scratchpad = memory(pd.scratchpad_desc(), engine);
  c.user_src = memory(user, engine);
  c.user_dst = memory(user, engine);
  // Plain weights reordered once into the kernel's layout, as the engine
  // packs constant weights.
  memory plain_w({{s.channels, s.channels, 3, 3}, memory::data_type::f32, tag::oihw}, engine);
  float* w = static_cast<float*>(plain_w.get_data_handle());
  for (long i = 0; i < s.channels * s.channels * 9; ++i) w[i] = 0.01f * static_cast<float>((i * 7919) % 200 - 100);
  c.weights = memory(pd.weights_desc(), engine);
  dnnl::reorder(plain_w, c.weights).execute(stream, plain_w, c.weights);
  float* x = static_cast<float*>(c.user_src.get_data_handle());
  for (long i = 0; i < s.channels * s.side * s.side; ++i) x[i] = static_cast<float>((i * 31) % 97) / 97.0f - 0.5f;
  c.staged = winograd;
  if (winograd) {
    c.in = dnnl::reorder(c.user_src, c.src);
    c.out = dnnl::reorder(c.dst, c.user_dst);
  } else {
    c.src = c.user_src;
    c.dst = c.user_dst;
  }
  stream.wait();
  return c;
}

double median_ms(Case& c, dnnl::stream& stream, int iters) {
  std::vector<double> ms;
  for (int i = 0; i < iters + 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (c.staged) c.in.execute(stream, c.user_src, c.src);
    c.conv.execute(stream, {{DNNL_ARG_SRC, c.src},
                            {DNNL_ARG_WEIGHTS, c.weights},
                            {DNNL_ARG_BIAS, c.bias},
                            {DNNL_ARG_DST, c.dst},
                            {DNNL_ARG_SCRATCHPAD, c.scratchpad}});
    if (c.staged) c.out.execute(stream, c.dst, c.user_dst);
    stream.wait();
    if (i >= 3) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  omp_set_num_threads(o.threads);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::printf("3x3 stride-1 convolution + ReLU, batch 1, %d thread(s), median of %d rounds x %d runs\n", o.threads,
              o.rounds, o.iters);
  std::printf("%-14s %12s %14s %8s  %s\n", "channels side", "direct ms", "winograd ms", "ratio", "kernels");
  for (const Shape& s : o.shapes) {
    Case direct = make_case(engine, stream, s, false);
    Case winograd;
    try {
      winograd = make_case(engine, stream, s, true);
    } catch (const dnnl::error& e) {
      std::printf("%5ld %7ld   oneDNN has no Winograd kernel here (%s)\n", s.channels, s.side, e.what());
      continue;
    }
    std::vector<double> d, w;
    for (int r = 0; r < o.rounds; ++r) {
      d.push_back(median_ms(direct, stream, o.iters));
      w.push_back(median_ms(winograd, stream, o.iters));
    }
    const double dm = median(d), wm = median(w);
    std::printf("%5ld %7ld %12.3f %14.3f %7.2fx  %s / %s\n", s.channels, s.side, dm, wm, dm / wm,
                direct.impl.c_str(), winograd.impl.c_str());
  }
  return 0;
}
