// Pooling and Resize kernels: what the ONNX node tests leave out (Resize
// opset 10 vs 11 input layouts, sizes vs scales, the detection model's 2x
// upsampling, pooling with ceil_mode and asymmetric pads, bad input), each
// checked against a plain loop written here.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using namespace testing;



Expected<std::vector<NamedTensor>> run_one(const ModelBuilder& b, const std::string& name, const Tensor& x) {
  auto s = testing::save_and_load(b, name);
  if (!s) return s.status();
  return (*s)->run({{"x", x}});
}

float at4(const Tensor& t, int64_t n, int64_t c, int64_t h, int64_t w) {
  const auto& s = t.shape();
  return t.data<float>()[((n * s[1] + c) * s[2] + h) * s[3] + w];
}

// ---------------------------------------------------------------- Resize

// The PaddleOCR detection model's FPN: opset 11, scales empty, sizes given
// or scales 2, nearest, asymmetric/floor as exported by paddle2onnx.
TEST(Resize, DetectionModelNearest2xWithScales) {
  ModelBuilder b(11);
  b.input("x", onnx::TensorProto::FLOAT, {1, 96, -1, -1});
  b.initializer("roi", {0}, {});
  b.initializer("scales", {4}, {1, 1, 2, 2});
  auto* n = b.node("Resize", {"x", "roi", "scales"}, {"y"});
  set_string(n, "mode", "nearest");
  set_string(n, "coordinate_transformation_mode", "asymmetric");
  set_string(n, "nearest_mode", "floor");
  b.output("y", onnx::TensorProto::FLOAT, {1, 96, -1, -1});
  const Tensor x = testing::random_tensor(DataType::kFloat32, {1, 96, 20, 24}, 1);
  auto out = run_one(b, "resize_det_2x", x);
  ASSERT_TRUE(out) << out.status().message();
  const Tensor& y = (*out)[0].tensor;
  ASSERT_EQ(y.shape(), (Shape{1, 96, 40, 48}));
  for (int64_t c = 0; c < 96; ++c)
    for (int64_t h = 0; h < 40; ++h)
      for (int64_t w = 0; w < 48; ++w) ASSERT_EQ(at4(y, 0, c, h, w), at4(x, 0, c, h / 2, w / 2));
}

TEST(Resize, Opset11SizesWithEmptyScales) {
  for (const bool omit_scales : {false, true}) {
    ModelBuilder b(11);
    b.input("x", onnx::TensorProto::FLOAT, {1, 3, 5, 7});
    b.initializer("roi", {0}, {});
    b.initializer("scales", {0}, {});
    int64_initializer(b, "sizes", {4}, {1, 3, 10, 14});
    auto* n = b.node("Resize", {"x", "roi", omit_scales ? "" : "scales", "sizes"}, {"y"});
    set_string(n, "mode", "nearest");
    b.output("y", onnx::TensorProto::FLOAT, {1, 3, 10, 14});
    const Tensor x = testing::random_tensor(DataType::kFloat32, {1, 3, 5, 7}, 2);
    auto out = run_one(b, "resize_sizes", x);
    ASSERT_TRUE(out) << out.status().message();
    const Tensor& y = (*out)[0].tensor;
    ASSERT_EQ(y.shape(), (Shape{1, 3, 10, 14}));
    // half_pixel + round_prefer_floor at exactly 2x: (o + 0.5) / 2 - 0.5 rounds to o / 2.
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 10; ++h)
        for (int64_t w = 0; w < 14; ++w) ASSERT_EQ(at4(y, 0, c, h, w), at4(x, 0, c, h / 2, w / 2));
  }
}

// Opset 10: (X, scales), Upsample's asymmetric mapping; shrinking an axis
// takes ceil (the ONNX opset-10 node test expects [1, 3] here).
TEST(Resize, Opset10NearestLayout) {
  ModelBuilder b(10);
  b.input("x", onnx::TensorProto::FLOAT, {1, 1, 2, 4});
  b.initializer("scales", {4}, {1, 1, 0.6f, 0.6f});
  auto* n = b.node("Resize", {"x", "scales"}, {"y"});
  set_string(n, "mode", "nearest");
  b.output("y", onnx::TensorProto::FLOAT, {1, 1, 1, 2});
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto out = run_one(b, "resize_opset10_down", x);
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, Tensor::from_vector<float>({1, 1, 1, 2}, {1, 3})));
}

TEST(Resize, Opset10LinearUpsample) {
  ModelBuilder b(10);
  b.input("x", onnx::TensorProto::FLOAT, {1, 1, 2, 2});
  b.initializer("scales", {4}, {1, 1, 2, 2});
  auto* n = b.node("Resize", {"x", "scales"}, {"y"});
  set_string(n, "mode", "linear");
  b.output("y", onnx::TensorProto::FLOAT, {1, 1, 4, 4});
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  auto out = run_one(b, "resize_opset10_linear", x);
  ASSERT_TRUE(out) << out.status().message();
  // Asymmetric: x_in = x_out / 2, clamped at the last pixel.
  const Tensor expected = Tensor::from_vector<float>(
      {1, 1, 4, 4}, {1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4});
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, expected));
}

// Bilinear half_pixel, checked against the formula on shapes that exercise
// the 2-D fast path (4-D) and the separable path (3-D and 5-D).
float bilinear_ref(const float* plane, int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t y, int64_t x) {
  auto coord = [](int64_t o, int64_t in, int64_t out) {
    const double c = (o + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
    return std::clamp(c, 0.0, static_cast<double>(in - 1));
  };
  const double cy = coord(y, ih, oh), cx = coord(x, iw, ow);
  const int64_t y0 = static_cast<int64_t>(cy), x0 = static_cast<int64_t>(cx);
  const int64_t y1 = std::min(y0 + 1, ih - 1), x1 = std::min(x0 + 1, iw - 1);
  const double ty = cy - y0, tx = cx - x0;
  auto p = [&](int64_t r, int64_t c) { return static_cast<double>(plane[r * iw + c]); };
  return static_cast<float>((p(y0, x0) * (1 - tx) + p(y0, x1) * tx) * (1 - ty) +
                            (p(y1, x0) * (1 - tx) + p(y1, x1) * tx) * ty);
}

TEST(Resize, LinearMatchesFormulaAcrossRanks) {
  const int64_t ih = 7, iw = 9, oh = 12, ow = 5;
  for (const Shape& lead : {Shape{2, 3}, Shape{4}, Shape{1, 2, 2}}) {
    Shape in_shape = lead, out_shape = lead;
    in_shape.insert(in_shape.end(), {ih, iw});
    out_shape.insert(out_shape.end(), {oh, ow});
    ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, in_shape);
    int64_initializer(b, "sizes", {static_cast<int64_t>(out_shape.size())}, out_shape);
    auto* n = b.node("Resize", {"x", "", "", "sizes"}, {"y"});
    set_string(n, "mode", "linear");
    b.output("y", onnx::TensorProto::FLOAT, out_shape);
    const Tensor x = testing::random_tensor(DataType::kFloat32, in_shape, 3);
    auto out = run_one(b, "resize_linear_rank" + std::to_string(in_shape.size()), x);
    ASSERT_TRUE(out) << out.status().message();
    const Tensor& y = (*out)[0].tensor;
    ASSERT_EQ(y.shape(), out_shape);
    Tensor expected = Tensor::zeros(DataType::kFloat32, out_shape);
    const int64_t planes = shape_numel(lead);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t c = 0; c < ow; ++c)
          expected.data<float>()[(p * oh + r) * ow + c] = bilinear_ref(x.data<float>() + p * ih * iw, ih, iw, oh, ow, r, c);
    EXPECT_TRUE(testing::tensors_close(y, expected)) << "rank " << in_shape.size();
  }
}

TEST(Resize, BadInputsGiveErrors) {
  {  // scales and sizes both given
    ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {1, 1, 2, 2});
    b.initializer("scales", {4}, {1, 1, 2, 2});
    int64_initializer(b, "sizes", {4}, {1, 1, 4, 4});
    b.node("Resize", {"x", "", "scales", "sizes"}, {"y"});
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
    auto out = run_one(b, "resize_bad_both", testing::random_tensor(DataType::kFloat32, {1, 1, 2, 2}, 4));
    EXPECT_FALSE(out);
  }
  {  // scales of the wrong length, then a negative scale
    for (const std::vector<float>& scales : {std::vector<float>{2, 2}, std::vector<float>{1, 1, -2, 2}}) {
      ModelBuilder b(13);
      b.input("x", onnx::TensorProto::FLOAT, {1, 1, 2, 2});
      b.initializer("scales", {static_cast<int64_t>(scales.size())}, scales);
      b.node("Resize", {"x", "", "scales"}, {"y"});
      b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
      auto out = run_one(b, "resize_bad_scales", testing::random_tensor(DataType::kFloat32, {1, 1, 2, 2}, 4));
      ASSERT_FALSE(out);
      EXPECT_NE(out.status().message().find("Resize"), std::string::npos) << out.status().message();
    }
  }
  {  // an absurd size: an error, not an allocation failure
    ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {1, 1, 2, 2});
    int64_initializer(b, "sizes", {4}, {1, 1, 2, int64_t{1} << 40});
    b.node("Resize", {"x", "", "", "sizes"}, {"y"});
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
    EXPECT_FALSE(run_one(b, "resize_bad_sizes", testing::random_tensor(DataType::kFloat32, {1, 1, 2, 2}, 4)));
  }
  {  // unknown mode: refused at load
    ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {1, 1, 2, 2});
    b.initializer("scales", {4}, {1, 1, 2, 2});
    set_string(b.node("Resize", {"x", "", "scales"}, {"y"}), "mode", "bicubic");
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
    EXPECT_FALSE(save_and_load(b, "resize_bad_mode"));
  }
}

// Nearest copies elements of any type exactly (int64 beyond float's range).
TEST(Resize, NearestInt64IsExact) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::INT64, {1, 2, 3});
  b.initializer("scales", {3}, {1, 2, 2});
  auto* n = b.node("Resize", {"x", "", "scales"}, {"y"});
  set_string(n, "coordinate_transformation_mode", "asymmetric");
  set_string(n, "nearest_mode", "floor");
  b.output("y", onnx::TensorProto::INT64, {1, 4, 6});
  const int64_t big = (int64_t{1} << 60) + 1;
  const Tensor x = Tensor::from_vector<int64_t>({1, 2, 3}, {big, 2, 3, 4, 5, -big});
  auto out = run_one(b, "resize_int64", x);
  ASSERT_TRUE(out) << out.status().message();
  const Tensor& y = (*out)[0].tensor;
  ASSERT_EQ(y.shape(), (Shape{1, 4, 6}));
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t w = 0; w < 6; ++w) EXPECT_EQ(y.data<int64_t>()[h * 6 + w], x.data<int64_t>()[(h / 2) * 3 + w / 2]);
}

// --------------------------------------------------------------- Pooling

// Plain 2-D pooling with explicit pads, ceil_mode dropping a window that
// starts in the end padding (as ONNX Runtime and PyTorch do).
Tensor pool_ref(const Tensor& x, bool is_max, int64_t k, int64_t s, std::array<int64_t, 4> pads, bool ceil_mode,
                bool include_pad) {
  const auto& sh = x.shape();
  auto out_len = [&](int64_t in, int64_t pb, int64_t pe) {
    const int64_t room = in + pb + pe - k;
    int64_t o = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + pb) --o;
    return o;
  };
  const int64_t oh = out_len(sh[2], pads[0], pads[2]), ow = out_len(sh[3], pads[1], pads[3]);
  Tensor y = Tensor::zeros(DataType::kFloat32, {sh[0], sh[1], oh, ow});
  float* yp = y.data<float>();
  for (int64_t n = 0; n < sh[0]; ++n)
    for (int64_t c = 0; c < sh[1]; ++c)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t q = 0; q < ow; ++q) {
          double acc = is_max ? -INFINITY : 0;
          int64_t count = 0;
          const int64_t h0 = r * s - pads[0], w0 = q * s - pads[1];
          for (int64_t i = h0; i < h0 + k; ++i)
            for (int64_t j = w0; j < w0 + k; ++j) {
              if (i < 0 || j < 0 || i >= sh[2] || j >= sh[3]) continue;
              const double v = at4(x, n, c, i, j);
              acc = is_max ? std::max(acc, v) : acc + v;
              ++count;
            }
          if (!is_max) {
            if (include_pad) {
              count = (std::min(h0 + k, sh[2] + pads[2]) - h0) * (std::min(w0 + k, sh[3] + pads[3]) - w0);
            }
            acc /= static_cast<double>(count);
          }
          *yp++ = static_cast<float>(acc);
        }
  return y;
}

TEST(Pool, CeilModeAndAsymmetricPads) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {2, 3, 11, 8}, 5);
  const std::array<int64_t, 4> pads = {1, 0, 2, 1};  // top, left, bottom, right
  for (const bool is_max : {true, false}) {
    for (const bool ceil_mode : {false, true}) {
      for (const bool include_pad : {false, true}) {
        if (is_max && include_pad) continue;
        ModelBuilder b(12);
        b.input("x", onnx::TensorProto::FLOAT, {2, 3, 11, 8});
        auto* n = b.node(is_max ? "MaxPool" : "AveragePool", {"x"}, {"y"});
        set_ints(n, "kernel_shape", {3, 3});
        set_ints(n, "strides", {2, 2});
        set_ints(n, "pads", {pads[0], pads[1], pads[2], pads[3]});
        set_int(n, "ceil_mode", ceil_mode);
        if (!is_max) set_int(n, "count_include_pad", include_pad);
        b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
        auto out = run_one(b, "pool_ceil", x);
        ASSERT_TRUE(out) << out.status().message();
        const Tensor expected = pool_ref(x, is_max, 3, 2, pads, ceil_mode, include_pad);
        EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, expected))
            << (is_max ? "max" : "avg") << " ceil " << ceil_mode << " include_pad " << include_pad;
      }
    }
  }
}

TEST(Pool, MaxPoolIndicesColumnMajor) {
  ModelBuilder b(12);
  b.input("x", onnx::TensorProto::FLOAT, {1, 2, 3, 4});
  auto* n = b.node("MaxPool", {"x"}, {"y", "i"});
  set_ints(n, "kernel_shape", {3, 4});
  set_int(n, "storage_order", 1);
  b.output("y", onnx::TensorProto::FLOAT, {1, 2, 1, 1});
  b.output("i", onnx::TensorProto::INT64, {1, 2, 1, 1});
  std::vector<float> v(24, 0.f);
  v[1 * 4 + 2] = 5;            // channel 0, h=1, w=2
  v[12 + 2 * 4 + 3] = 7;       // channel 1, h=2, w=3
  auto out = run_one(b, "pool_indices", Tensor::from_vector<float>({1, 2, 3, 4}, v));
  ASSERT_TRUE(out) << out.status().message();
  const Tensor& idx = (*out)[1].tensor;
  ASSERT_EQ(idx.dtype(), DataType::kInt64);
  EXPECT_EQ(idx.data<int64_t>()[0], 1 + 2 * 3);        // h + w * H
  EXPECT_EQ(idx.data<int64_t>()[1], 12 + 2 + 3 * 3);   // channel offset + h + w * H
}

TEST(Pool, GlobalPoolsMatchLoops) {
  const Shape shape = {2, 96, 17, 13};
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 6);
  for (const bool is_max : {false, true}) {
    ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, shape);
    b.node(is_max ? "GlobalMaxPool" : "GlobalAveragePool", {"x"}, {"y"});
    b.output("y", onnx::TensorProto::FLOAT, {2, 96, 1, 1});
    auto out = run_one(b, "global_pool", x);
    ASSERT_TRUE(out) << out.status().message();
    Tensor expected = Tensor::zeros(DataType::kFloat32, {2, 96, 1, 1});
    const int64_t size = 17 * 13;
    for (int64_t p = 0; p < 2 * 96; ++p) {
      double acc = is_max ? -INFINITY : 0;
      for (int64_t i = 0; i < size; ++i) {
        const double v = x.data<float>()[p * size + i];
        acc = is_max ? std::max(acc, v) : acc + v;
      }
      expected.data<float>()[p] = static_cast<float>(is_max ? acc : acc / size);
    }
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, expected));
  }
}

TEST(Pool, BadInputGivesErrorStatus) {
  {  // window larger than the input: a run error, not a crash
    ModelBuilder b(12);
    b.input("x", onnx::TensorProto::FLOAT, {1, 1, -1, -1});
    set_ints(b.node("MaxPool", {"x"}, {"y"}), "kernel_shape", {5, 5});
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
    auto out = run_one(b, "pool_bad_window", testing::random_tensor(DataType::kFloat32, {1, 1, 3, 3}, 7));
    EXPECT_FALSE(out);
  }
  {  // rank mismatch between input and kernel_shape
    ModelBuilder b(12);
    b.input("x", onnx::TensorProto::FLOAT, {-1, -1, -1});
    set_ints(b.node("AveragePool", {"x"}, {"y"}), "kernel_shape", {2, 2});
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
    auto out = run_one(b, "pool_bad_rank", testing::random_tensor(DataType::kFloat32, {1, 1, 3}, 7));
    EXPECT_FALSE(out);
  }
  {  // huge pads: an error, not an allocation failure
    ModelBuilder b(12);
    b.input("x", onnx::TensorProto::FLOAT, {1, 1, 4, 4});
    auto* n = b.node("AveragePool", {"x"}, {"y"});
    set_ints(n, "kernel_shape", {2, 2});
    set_ints(n, "pads", {1 << 30, 1 << 30, 1 << 30, 1 << 30});
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
    auto out = run_one(b, "pool_huge_pads", testing::random_tensor(DataType::kFloat32, {1, 1, 4, 4}, 7));
    EXPECT_FALSE(out);
  }
  {  // zero stride: refused at load
    ModelBuilder b(12);
    b.input("x", onnx::TensorProto::FLOAT, {1, 1, 4, 4});
    auto* n = b.node("MaxPool", {"x"}, {"y"});
    set_ints(n, "kernel_shape", {2, 2});
    set_ints(n, "strides", {0, 1});
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
    EXPECT_FALSE(save_and_load(b, "pool_bad_stride"));
  }
}

// A quantized model's MaxPool runs on uint8/int8 (passes/fuse_qdq_maxpool.cc)
// through its own two-stage integer kernel: it must give the float
// MaxPool's values, for strides 1, 2 (the compiled-in stride) and 3, with
// dilation, asymmetric pads and ceil_mode.
TEST(Pool, IntegerMaxPoolMatchesFloat) {
  struct Case {
    int64_t kernel, stride, dilation;
    std::array<int64_t, 4> pads;
    bool ceil_mode;
  };
  const Case cases[] = {{3, 2, 1, {1, 1, 1, 1}, false}, {3, 1, 1, {1, 0, 2, 1}, false}, {2, 3, 2, {0, 1, 1, 0}, true},
                        {3, 2, 1, {0, 0, 0, 0}, true}};
  const Tensor source = testing::random_tensor(DataType::kFloat32, {2, 5, 13, 17}, 8, 0.0f, 255.0f);
  for (const int32_t type : {onnx::TensorProto::UINT8, onnx::TensorProto::INT8}) {
    const bool is_signed = type == onnx::TensorProto::INT8;
    Tensor xf = source.clone();
    Tensor xi = Tensor::zeros(is_signed ? DataType::kInt8 : DataType::kUInt8, source.shape());
    for (int64_t i = 0; i < source.numel(); ++i) {
      const int v = static_cast<int>(source.data<float>()[i]) - (is_signed ? 128 : 0);
      xf.data<float>()[i] = static_cast<float>(v);
      if (is_signed) xi.data<int8_t>()[i] = static_cast<int8_t>(v);
      else xi.data<uint8_t>()[i] = static_cast<uint8_t>(v);
    }
    for (const Case& c : cases) {
      std::vector<Tensor> outputs;
      for (const int32_t t : {type, static_cast<int32_t>(onnx::TensorProto::FLOAT)}) {
        ModelBuilder b(12);
        b.input("x", t, {2, 5, 13, 17});
        auto* n = b.node("MaxPool", {"x"}, {"y"});
        set_ints(n, "kernel_shape", {c.kernel, c.kernel});
        set_ints(n, "strides", {c.stride, c.stride});
        set_ints(n, "dilations", {c.dilation, c.dilation});
        set_ints(n, "pads", {c.pads[0], c.pads[1], c.pads[2], c.pads[3]});
        set_int(n, "ceil_mode", c.ceil_mode);
        b.output("y", t, {-1, -1, -1, -1});
        auto out = run_one(b, "pool_integer", t == type ? xi : xf);
        ASSERT_TRUE(out) << out.status().message();
        outputs.push_back((*out)[0].tensor);
      }
      const Tensor& yi = outputs[0];
      const Tensor& yf = outputs[1];
      ASSERT_EQ(yi.shape(), yf.shape());
      int64_t mismatches = 0;
      for (int64_t i = 0; i < yf.numel(); ++i) {
        const float v = is_signed ? yi.data<int8_t>()[i] : yi.data<uint8_t>()[i];
        mismatches += v != yf.data<float>()[i] ? 1 : 0;
      }
      EXPECT_EQ(mismatches, 0) << (is_signed ? "int8" : "uint8") << " kernel " << c.kernel << " stride " << c.stride;
    }
  }
}

}  // namespace
}  // namespace ecoinfer
