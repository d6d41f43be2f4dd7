// DB post-processing (Differentiable Binarization, PaddleOCR's
// DBPostProcess with score_mode "fast", then TextSystem's box filtering and
// reading-order sort): turns the det model's text probability map into
// quadrilaterals in source-image pixels.
//
//   cv::Mat prob(map_h, map_w, CV_32F, det_output.data<float>());
//   std::vector<TextBox> boxes = db_postprocess(prob, image.rows, image.cols);
//   // boxes[i].points: top-left, top-right, bottom-right, bottom-left
//
// Steps: threshold the map (thresh), find contours, take each contour's
// minimum-area rectangle, drop it when its short side is under min_size or
// the mean probability inside it is under box_thresh, grow it by
// area * unclip_ratio / perimeter (a Clipper round-join offset, as
// pyclipper does), take the minimum-area rectangle again, scale to the
// source image, order the corners clockwise and clip to the image.
#pragma once

#include <array>
#include <vector>

#include <opencv2/core.hpp>

#include "ocr/ocr_api.h"  // DbOptions

namespace ecoinfer::ocr {

using Quad = std::array<cv::Point2f, 4>;

struct TextBox {
  Quad points;  // clockwise from top-left, integer pixel coordinates
  float score = 0;  // mean probability inside the box before unclipping
};

// prob: CV_32F, the det model's map (1x1xHxW squeezed). Boxes come back in
// reading order: top to bottom, and left to right within a line (PaddleOCR's
// sorted_boxes: same line when the top-left y differ by less than 10 px).
std::vector<TextBox> db_postprocess(const cv::Mat& prob, int source_height, int source_width,
                                    const DbOptions& options = {});

// The pieces, exposed for tests.
// Minimum-area rectangle of `points` as PaddleOCR's get_mini_boxes orders
// it (top-left, top-right, bottom-right, bottom-left); `short_side` gets the
// rectangle's shorter side.
Quad mini_box(const std::vector<cv::Point2f>& points, float* short_side);
// The polygon grown by area * ratio / perimeter with round joins.
std::vector<cv::Point2f> unclip(const Quad& box, float unclip_ratio);
// Mean of `prob` over the pixels inside `box` (cv::fillPoly coverage).
float box_score_fast(const cv::Mat& prob, const Quad& box);
Quad order_points_clockwise(const Quad& box);
void sort_boxes(std::vector<TextBox>& boxes);

}  // namespace ecoinfer::ocr
