// Loads a model, runs it on zeros of the given shape, prints the outputs'
// shapes. Usage: hello MODEL.onnx DIM [DIM...]
#include <cstdio>
#include <cstdlib>

#include <ecoinfer/session.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx DIM [DIM...]\n", argv[0]);
    return 2;
  }
  auto session = ecoinfer::Session::load(argv[1], {.threads = 1});
  if (!session) {
    std::fprintf(stderr, "%s\n", session.status().message().c_str());
    return 1;
  }
  ecoinfer::Shape shape;
  for (int i = 2; i < argc; ++i) shape.push_back(std::atoll(argv[i]));
  const auto& input = (*session)->inputs().at(0);
  auto outputs = (*session)->run({{input.name, ecoinfer::Tensor::zeros(input.dtype, shape)}});
  if (!outputs) {
    std::fprintf(stderr, "%s\n", outputs.status().message().c_str());
    return 1;
  }
  for (const auto& out : *outputs)
    std::printf("%s %s\n", out.name.c_str(), ecoinfer::shape_to_string(out.tensor.shape()).c_str());
  return 0;
}
