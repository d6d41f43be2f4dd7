// Session: load an ONNX model once, run it many times, from several threads.
//
//   #include <ecoinfer/session.h>
//   auto session = ecoinfer::Session::load("model.onnx", {.threads = 2});
//   if (!session) { std::cerr << session.status().message() << "\n"; return 1; }
//   auto outputs = (*session)->run({{"x", input_tensor}});
//   if (!outputs) { ... }
//   const ecoinfer::Tensor& y = (*outputs)[0].tensor;
//
// run() is safe to call concurrently: each call gets its own working memory,
// reused across calls so the steady state allocates nothing per op.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer {

// Compute precision of the matrix ops (Conv, ConvTranspose, MatMul, Gemm)
// in a float32 model. kBf16 runs them with bfloat16 inputs and weights and
// float32 accumulation and outputs (AMX-BF16 or AVX512-BF16 through oneDNN);
// every other op stays float32. An int8 model's precision comes from the
// model file (its QuantizeLinear/DequantizeLinear nodes), not from here.
enum class Precision { kFp32, kBf16 };
// "fp32", "bf16".
const char* precision_name(Precision p);

struct SessionOptions {
  // Intra-op threads for oneDNN and the project's own kernels (one OpenMP
  // pool). 0 means all cores.
  int threads = 0;
  // Graph optimizations (issue-level work); false runs the graph as written.
  bool optimize = true;
  Precision precision = Precision::kFp32;
};

// A dimension is a number, or a symbol ("batch") / unknown (-1) when dynamic.
struct DimInfo {
  int64_t value = -1;
  std::string symbol;
  bool is_fixed() const { return value >= 0; }
};

struct ValueDescription {
  std::string name;
  DataType dtype = DataType::kUndefined;
  std::vector<DimInfo> shape;
  bool has_shape = false;  // false: the model does not declare a rank
  std::string shape_string() const;  // "?x3x48x320" style ("batch" for symbols)
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Per-node record of one run, for profiling and FLOP estimates.
struct NodeTrace {
  std::string name;
  std::string op_type;
  std::vector<Shape> input_shapes;
  std::vector<Shape> output_shapes;
  double seconds = 0;
};

struct ModelSummary {
  int64_t ir_version = 0;
  int64_t opset = 0;  // default domain
  std::string producer;
  std::vector<std::pair<std::string, int>> op_histogram;  // sorted by count, descending
  int64_t parameter_count = 0;  // elements in float initializers
  int64_t node_count = 0;
};

// Caller memory for one output of Session::run_into, as ONNX Runtime's
// IoBinding: the model writes that output there instead of into memory of
// its own that run() would then copy out.
struct OutputBinding {
  std::string name;  // a model output
  void* data = nullptr;
  size_t capacity_bytes = 0;
  DataType dtype = DataType::kUndefined;  // when set, the output must have this type
};

class Session {
 public:
  static Expected<std::unique_ptr<Session>> load(const std::filesystem::path& model,
                                                 const SessionOptions& options = {});
  virtual ~Session() = default;

  virtual const std::vector<ValueDescription>& inputs() const = 0;
  virtual const std::vector<ValueDescription>& outputs() const = 0;
  virtual const ModelSummary& summary() const = 0;
  virtual const SessionOptions& options() const = 0;

  // Runs the model. Every graph input must be given, by name, with the
  // declared type and a shape that matches the declared fixed dimensions.
  // Outputs come back in the model's output order. When `trace` is given it
  // receives one record per executed node.
  virtual Expected<std::vector<NamedTensor>> run(const std::vector<NamedTensor>& inputs,
                                                 std::vector<NodeTrace>* trace = nullptr) const = 0;

  // Like run(), but each output named in `outputs` is written into the
  // caller's memory and its returned tensor views that memory (valid while
  // the memory is). Where the memory plan allows, the last kernel writes
  // there directly; otherwise the result is copied there (still correct).
  // Errors: an unknown or repeated name, a null pointer, a dtype other than
  // the output's, or an output larger than its memory (that output is then
  // not written; the message gives the bytes it needs).
  //   std::vector<float> logits(40 * 6625);
  //   auto out = session->run_into({{"x", x}}, {{"softmax_11.tmp_0", logits.data(), logits.size() * 4}});
  virtual Expected<std::vector<NamedTensor>> run_into(const std::vector<NamedTensor>& inputs,
                                                      const std::vector<OutputBinding>& outputs) const;
};

// NumPy .npy files: the tensor format users have. Supports float32, float64,
// float16, int64, int32, int16, int8, uint8 and bool, C order, little endian.
Expected<Tensor> read_npy(const std::filesystem::path& path);
Status write_npy(const std::filesystem::path& path, const Tensor& tensor);

// Estimated floating-point operations of one run, from a trace of it
// (Session::run with a trace): a multiply-add counts as 2. Conv,
// ConvTranspose, MatMul and Gemm are counted exactly from their shapes;
// other ops count one operation per output element.
int64_t estimate_flops(const std::vector<NodeTrace>& trace);

// The ONNX op types ecoinfer runs (default domain), sorted.
const std::vector<std::string>& supported_operators();

// Peak resident memory of this process so far, in bytes.
int64_t peak_rss_bytes();

// The CPU ISA oneDNN dispatches to on this machine, e.g. "avx512_core_amx".
std::string onednn_cpu_isa();
// The oneDNN implementations this process has created primitives with, per
// primitive kind ("convolution", "matmul", "reorder"...), e.g.
// {"convolution", "brg:avx512_core_vnni", 12}: a slow fallback ("ref",
// "gemm:jit") shows here.
struct PrimitiveImplementation {
  std::string kind;
  std::string implementation;
  int count = 0;  // primitives created with it
};
std::vector<PrimitiveImplementation> onednn_implementations_used();

// The number of OpenMP threads a session with `threads` will use.
int resolve_thread_count(int threads);

}  // namespace ecoinfer
