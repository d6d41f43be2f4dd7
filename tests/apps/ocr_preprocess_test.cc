// The resize rules: det (multiple of 32, longest side at most 960, Python's
// rounding) and rec/cls (height 48, width by aspect ratio, batch width).
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "ocr/cls_stage.h"
#include "ocr/crop.h"
#include "ocr/det_preprocess.h"
#include "ocr/rec_preprocess.h"

namespace ecoinfer::ocr {
namespace {

TEST(OcrDetResize, SmallImagesRoundToMultiplesOf32) {
  const DetSize s = det_resize_shape(300, 800);
  EXPECT_EQ(s.height, 288);  // round(9.375) = 9
  EXPECT_EQ(s.width, 800);   // 25 * 32
  // Python's round() sends ties to even: 16/32 = 0.5 -> 0 -> the 32 minimum,
  // 48/32 = 1.5 -> 2, 80/32 = 2.5 -> 2.
  EXPECT_EQ(det_resize_shape(16, 48).height, 32);
  EXPECT_EQ(det_resize_shape(16, 48).width, 64);
  EXPECT_EQ(det_resize_shape(80, 100).height, 64);
  EXPECT_EQ(det_resize_shape(100, 80).width, 64);
}

TEST(OcrDetResize, LargeImagesScaleTheLongerSideTo960) {
  // ratio 0.48 -> 720 x 960; 720 / 32 = 22.5 rounds to even: 704.
  const DetSize wide = det_resize_shape(1500, 2000);
  EXPECT_EQ(wide.height, 704);
  EXPECT_EQ(wide.width, 960);
  const DetSize tall = det_resize_shape(3000, 1000);  // ratio 0.32 -> 960 x 320
  EXPECT_EQ(tall.height, 960);
  EXPECT_EQ(tall.width, 320);
  const DetSize odd = det_resize_shape(1080, 1921);  // 0.49974 -> int(539.7) = 539 -> 544, 960
  EXPECT_EQ(odd.height, 544);
  EXPECT_EQ(odd.width, 960);
}

TEST(OcrDetPreprocess, NormalizesBgrWithImageNetStatisticsInBgrOrder) {
  cv::Mat img(64, 64, CV_8UC3, cv::Scalar(255, 0, 128));  // B=255, G=0, R=128
  const DetInput in = det_preprocess(img);
  ASSERT_EQ(in.tensor.shape(), (Shape{1, 3, 64, 64}));
  const float* p = in.tensor.data<float>();
  EXPECT_NEAR(p[0], (1.0f - 0.485f) / 0.229f, 1e-5);
  EXPECT_NEAR(p[64 * 64], (0.0f - 0.456f) / 0.224f, 1e-5);
  EXPECT_NEAR(p[2 * 64 * 64], (128 / 255.0f - 0.406f) / 0.225f, 1e-5);
}

TEST(OcrRecResize, WidthFollowsAspectRatioUpToTheBatchWidth) {
  EXPECT_EQ(resized_width(32, 100, 48, 320), 150);  // ceil(48 * 3.125)
  EXPECT_EQ(resized_width(30, 101, 48, 320), 162);  // ceil(161.6)
  EXPECT_EQ(resized_width(10, 1000, 48, 320), 320); // capped
  EXPECT_EQ(resized_width(100, 10, 48, 192), 5);    // ceil(4.8)
}

TEST(OcrRecResize, BatchWidthIsAtLeast320AndFitsTheWidestCrop) {
  std::vector<cv::Mat> crops = {cv::Mat(48, 100, CV_8UC3), cv::Mat(20, 400, CV_8UC3), cv::Mat(30, 90, CV_8UC3)};
  const std::vector<size_t> narrow = {0, 2};
  EXPECT_EQ(rec_batch_width(crops, narrow), 320);
  const std::vector<size_t> all = {0, 1, 2};
  EXPECT_EQ(rec_batch_width(crops, all), 960);  // 48 * 400/20
  EXPECT_EQ(order_by_aspect_ratio(crops), (std::vector<size_t>{0, 2, 1}));
}

TEST(OcrRecResize, BatchTensorIsNormalizedAndZeroPadded) {
  std::vector<cv::Mat> crops = {cv::Mat(24, 40, CV_8UC3, cv::Scalar(255, 255, 255)),
                                cv::Mat(48, 48, CV_8UC3, cv::Scalar(0, 0, 0))};
  const std::vector<size_t> batch = {0, 1};
  const Tensor x = resize_normalize_batch(crops, batch, 48, 320);
  ASSERT_EQ(x.shape(), (Shape{2, 3, 48, 320}));
  const float* p = x.data<float>();
  EXPECT_FLOAT_EQ(p[0], 1.0f);       // white -> 1
  EXPECT_FLOAT_EQ(p[79], 1.0f);      // resized width 80
  EXPECT_FLOAT_EQ(p[80], 0.0f);      // padding
  const float* q = p + 3 * 48 * 320;
  EXPECT_FLOAT_EQ(q[47], -1.0f);     // black -> -1
  EXPECT_FLOAT_EQ(q[48], 0.0f);
}

TEST(OcrCls, RotatesOnlyConfident180) {
  const Tensor probs = Tensor::from_vector<float>({3, 2}, {0.2f, 0.8f, 0.05f, 0.95f, 0.99f, 0.01f});
  auto d = cls_decisions(probs);
  ASSERT_TRUE(d) << d.status().message();
  EXPECT_FALSE((*d)[0].rotate);  // 180 but only 0.8 sure
  EXPECT_TRUE((*d)[1].rotate);
  EXPECT_FALSE((*d)[2].rotate);
  EXPECT_EQ((*d)[1].label, 1);
  EXPECT_FALSE(cls_decisions(Tensor::zeros(DataType::kFloat32, {2, 3})));
}

TEST(OcrCrop, WarpsAQuadToAnUprightRectangleAndTurnsTallOnes) {
  cv::Mat img(100, 200, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::rectangle(img, cv::Rect(20, 30, 100, 20), cv::Scalar(0, 0, 0), cv::FILLED);
  const cv::Mat crop = crop_text_box(img, {{{20, 30}, {120, 30}, {120, 50}, {20, 50}}});
  EXPECT_EQ(crop.cols, 100);
  EXPECT_EQ(crop.rows, 20);
  EXPECT_LT(cv::mean(crop)[0], 5.0);
  const cv::Mat tall = crop_text_box(img, {{{150, 10}, {170, 10}, {170, 90}, {150, 90}}});
  EXPECT_EQ(tall.cols, 80);  // 20 x 80 turned to 80 x 20
  EXPECT_EQ(tall.rows, 20);
}

}  // namespace
}  // namespace ecoinfer::ocr
