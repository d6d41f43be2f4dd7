// DB post-processing on synthetic probability maps: known rectangles must
// come back as boxes grown by area * 1.5 / perimeter, scaled to the source
// image, in reading order; faint and tiny blobs must not.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "ocr/db_postprocess.h"

namespace ecoinfer::ocr {
namespace {

// A map with `value` inside each rectangle (pixels x0..x1-1, y0..y1-1).
cv::Mat map_with(cv::Size size, const std::vector<cv::Rect>& rects, float value = 0.9f) {
  cv::Mat prob = cv::Mat::zeros(size, CV_32FC1);
  for (const cv::Rect& r : rects) prob(r).setTo(value);
  return prob;
}

// The expected box: the contour runs through pixel centres, so the rectangle
// is (x, y)-(x+w-1, y+h-1), grown by d = area * 1.5 / perimeter on each side.
void expect_box(const TextBox& b, cv::Rect r, double scale, double tolerance = 2.0) {
  const double w = r.width - 1, h = r.height - 1;
  const double d = w * h * 1.5 / (2 * (w + h));
  const double x0 = (r.x - d) * scale, y0 = (r.y - d) * scale;
  const double x1 = (r.x + w + d) * scale, y1 = (r.y + h + d) * scale;
  EXPECT_NEAR(b.points[0].x, x0, tolerance * scale);
  EXPECT_NEAR(b.points[0].y, y0, tolerance * scale);
  EXPECT_NEAR(b.points[1].x, x1, tolerance * scale);
  EXPECT_NEAR(b.points[1].y, y0, tolerance * scale);
  EXPECT_NEAR(b.points[2].x, x1, tolerance * scale);
  EXPECT_NEAR(b.points[2].y, y1, tolerance * scale);
  EXPECT_NEAR(b.points[3].x, x0, tolerance * scale);
  EXPECT_NEAR(b.points[3].y, y1, tolerance * scale);
  EXPECT_NEAR(b.score, 0.9, 1e-4);
}

TEST(OcrDbPostprocess, RectanglesBecomeUnclippedBoxesInReadingOrder) {
  const cv::Rect top(40, 50, 160, 30), bottom_right(180, 150, 100, 40), bottom_left(40, 152, 100, 40);
  const cv::Mat prob = map_with({320, 256}, {top, bottom_right, bottom_left});
  const std::vector<TextBox> boxes = db_postprocess(prob, 256, 320);
  ASSERT_EQ(boxes.size(), 3u);
  expect_box(boxes[0], top, 1.0);
  // Tops 2 px apart: one line, so left before right although it is lower.
  expect_box(boxes[1], bottom_left, 1.0);
  expect_box(boxes[2], bottom_right, 1.0);
}

TEST(OcrDbPostprocess, BoxesScaleToTheSourceImage) {
  const cv::Rect r(40, 50, 160, 30);
  const std::vector<TextBox> boxes = db_postprocess(map_with({320, 256}, {r}), 512, 640);
  ASSERT_EQ(boxes.size(), 1u);
  expect_box(boxes[0], r, 2.0);
}

TEST(OcrDbPostprocess, BoxesAreClippedToTheImage) {
  const std::vector<TextBox> boxes = db_postprocess(map_with({320, 256}, {cv::Rect(0, 0, 100, 30)}), 256, 320);
  ASSERT_EQ(boxes.size(), 1u);
  for (const cv::Point2f& p : boxes[0].points) {
    EXPECT_GE(p.x, 0);
    EXPECT_GE(p.y, 0);
  }
  EXPECT_EQ(boxes[0].points[0].x, 0);
  EXPECT_EQ(boxes[0].points[0].y, 0);
}

TEST(OcrDbPostprocess, FaintAndTinyBlobsAreDropped) {
  // 0.5 is text for the 0.3 threshold, but the box mean is under box_thresh 0.6.
  cv::Mat prob = map_with({320, 256}, {cv::Rect(40, 50, 160, 30)}, 0.5f);
  prob(cv::Rect(250, 200, 2, 2)).setTo(1.0f);  // short side under min_size 3
  EXPECT_TRUE(db_postprocess(prob, 256, 320).empty());
}

TEST(OcrDbPostprocess, RotatedRectangleKeepsItsAngleAndClockwiseCorners) {
  cv::Mat prob = cv::Mat::zeros(320, 320, CV_32FC1);
  const cv::RotatedRect rr({160, 160}, {200, 40}, 20);
  cv::Point2f c[4];
  rr.points(c);
  std::vector<cv::Point> poly(c, c + 4);
  cv::fillPoly(prob, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(0.9));
  const std::vector<TextBox> boxes = db_postprocess(prob, 320, 320);
  ASSERT_EQ(boxes.size(), 1u);
  const Quad& q = boxes[0].points;
  const double angle = std::atan2(q[1].y - q[0].y, q[1].x - q[0].x) * 180 / CV_PI;
  EXPECT_NEAR(angle, 20, 1.5);
  // Clockwise in image coordinates (y down): positive signed area.
  double area = 0;
  for (int i = 0; i < 4; ++i) area += q[i].x * q[(i + 1) % 4].y - q[(i + 1) % 4].x * q[i].y;
  EXPECT_GT(area, 0);
  // Grown on every side: about (200 + 2d) x (40 + 2d), d = 8000 * 1.5 / 480 = 25.
  EXPECT_NEAR(cv::norm(q[0] - q[1]), 250, 4);
  EXPECT_NEAR(cv::norm(q[0] - q[3]), 90, 4);
}

TEST(OcrDbPostprocess, UnclipGrowsASquareByTheRatioDistance) {
  // 100x100: d = 10000 * 1.5 / 400 = 37.5 on every side (round corners).
  const std::vector<cv::Point2f> grown = unclip({{{100, 100}, {200, 100}, {200, 200}, {100, 200}}}, 1.5f);
  float short_side = 0;
  const Quad box = mini_box(grown, &short_side);
  EXPECT_NEAR(short_side, 175, 1.5);
  EXPECT_NEAR(box[0].x, 62.5, 1);
  EXPECT_NEAR(box[2].y, 237.5, 1);
  // Corners are rounded: no point of the offset is farther than d + 1 from the square.
  for (const cv::Point2f& p : grown) {
    const double dx = std::max({100 - p.x, 0.0f, p.x - 200}), dy = std::max({100 - p.y, 0.0f, p.y - 200});
    EXPECT_LE(std::hypot(dx, dy), 37.5 + 1);
  }
}

}  // namespace
}  // namespace ecoinfer::ocr
