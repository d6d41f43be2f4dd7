// Binary tensors in the KServe protocol layer without copies: request bodies
// whose binary inputs become Tensor views when aligned (copies when not),
// and responses whose binary outputs are the output Tensors themselves.
#include <cstring>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serve/protocol/kserve_infer.h"
#include "serve/protocol/request_body.h"
#include "test_util.h"

namespace ecoinfer::serve::protocol {
namespace {

using nlohmann::json;

bool inside(const void* p, const RequestBody& body) {
  const char* c = static_cast<const char*>(p);
  return c >= body.view().data() && c < body.view().data() + body.size();
}

// JSON header + raw bytes of `x`, as Triton's client sends them; the body's
// memory is placed as the HTTP layer places it when `align_binary` is set.
RequestBody binary_request(const Tensor& x, size_t& json_length, bool align_binary) {
  const std::string header = json{{"inputs", {{{"name", "x"}, {"shape", x.shape()}, {"datatype", "FP32"},
                                               {"parameters", {{"binary_data_size", x.nbytes()}}}}}}}
                                 .dump();
  json_length = header.size();
  RequestBody body = RequestBody::with_room(header.size() + x.nbytes(), header.size() + (align_binary ? 0 : 1));
  std::memcpy(body.data(), header.data(), header.size());
  std::memcpy(body.data() + header.size(), x.raw_data(), x.nbytes());
  return body;
}

TEST(RequestBody, AlignedBytesBecomeAViewAndOthersACopy) {
  RequestBody body = RequestBody::with_room(1000, 100);
  for (size_t i = 0; i < body.size(); ++i) body.data()[i] = static_cast<char>(i * 7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(body.data() + 100) % 64, 0u);
  const Tensor view = body.tensor_at(100, DataType::kFloat32, {2, 8});
  EXPECT_EQ(view.raw_data(), body.data() + 100);
  const Tensor copy = body.tensor_at(101, DataType::kUInt8, {5, 3});
  EXPECT_FALSE(inside(copy.raw_data(), body));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copy.raw_data()) % 64, 0u);
  EXPECT_EQ(std::memcmp(copy.raw_data(), body.data() + 101, 15), 0);
  EXPECT_EQ(std::memcmp(view.raw_data(), body.data() + 100, 64), 0);
}

TEST(RequestBody, AViewKeepsTheBodyAlive) {
  Tensor view;
  {
    RequestBody body = RequestBody::with_room(256, 64);
    std::memset(body.data() + 64, 0x3f, 128);
    view = body.tensor_at(64, DataType::kUInt8, {128});
  }
  const Tensor& bytes = view;
  for (uint8_t b : bytes.span<uint8_t>()) EXPECT_EQ(b, 0x3f);
}

TEST(KServeBinary, AlignedBinaryInputIsDecodedWithoutACopy) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {1, 3, 48, 320}, 7);
  for (bool aligned : {true, false}) {
    size_t json_length = 0;
    const RequestBody body = binary_request(x, json_length, aligned);
    auto r = parse_infer_request(body, json_length, {});
    ASSERT_TRUE(r) << r.status().message();
    ASSERT_EQ(r->inputs.size(), 1u);
    const Tensor& got = r->inputs[0].tensor;
    EXPECT_EQ(got.shape(), x.shape());
    EXPECT_EQ(std::memcmp(got.raw_data(), x.raw_data(), x.nbytes()), 0);
    EXPECT_EQ(inside(got.raw_data(), body), aligned) << (aligned ? "aligned: a view" : "unaligned: a copy");
  }
}

TEST(KServeBinary, BinaryOutputIsTheOutputTensorItself) {
  const Tensor y = testing::random_tensor(DataType::kFloat32, {1, 40, 6625}, 3);
  InferenceResponse response;
  response.model = "rec";
  response.version = "1";
  response.outputs.push_back({"y", y});
  response.bytes_outputs.push_back({"text", {2}, {"ab", ""}});
  const EncodedBody out = encode_infer_response(response, {{}, /*all_binary=*/true});
  EXPECT_EQ(out.content_type, "application/octet-stream");
  ASSERT_EQ(out.json_length, out.body.size());
  ASSERT_EQ(out.binary.size(), 2u);
  EXPECT_EQ(out.binary[0].view().data(), y.raw_data());  // written from the tensor's memory, not copied
  EXPECT_EQ(out.binary[1].view(), std::string("\x02\0\0\0ab\0\0\0\0", 10));
  const json j = json::parse(out.body);
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], y.nbytes());
  EXPECT_EQ(j["outputs"][1]["parameters"]["binary_data_size"], 10);
  const std::string flat = out.flattened();
  ASSERT_EQ(flat.size(), out.size());
  EXPECT_EQ(std::memcmp(flat.data() + out.body.size(), y.raw_data(), y.nbytes()), 0);
}

TEST(KServeBinary, JsonOutputsStayInTheBody) {
  InferenceResponse response;
  response.model = "m";
  response.outputs.push_back({"y", Tensor::from_vector<float>({2}, {0.5f, -1.0f})});
  const EncodedBody out = encode_infer_response(response, {});
  EXPECT_EQ(out.content_type, "application/json");
  EXPECT_FALSE(out.json_length);
  EXPECT_TRUE(out.binary.empty());
  EXPECT_EQ(json::parse(out.body)["outputs"][0]["data"], json::array({0.5, -1.0}));
}

}  // namespace
}  // namespace ecoinfer::serve::protocol
