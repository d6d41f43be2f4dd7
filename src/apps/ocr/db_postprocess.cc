#include "ocr/db_postprocess.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <opencv2/imgproc.hpp>

namespace ecoinfer::ocr {
namespace {

// Clipper's default ArcTolerance: an arc is approximated by chords whose
// distance from the true arc is at most this (in integer units).
constexpr double kArcTolerance = 0.25;

double signed_area(const std::vector<cv::Point2d>& p) {
  double a = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const cv::Point2d& u = p[i];
    const cv::Point2d& v = p[(i + 1) % p.size()];
    a += u.x * v.y - v.x * u.y;
  }
  return a / 2;
}

double perimeter(const std::vector<cv::Point2d>& p) {
  double l = 0;
  for (size_t i = 0; i < p.size(); ++i) l += cv::norm(p[(i + 1) % p.size()] - p[i]);
  return l;
}

cv::Point2d unit_normal(const cv::Point2d& a, const cv::Point2d& b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len = std::hypot(dx, dy);
  if (len == 0) return {0, 0};
  return {dy / len, -dx / len};
}

cv::Point2f rounded(double x, double y) {
  return {static_cast<float>(std::llround(x)), static_cast<float>(std::llround(y))};
}

// Python's round() for the map -> image scaling (np.round: half to even).
float round_half_even(float v) { return std::nearbyint(v); }

}  // namespace

Quad mini_box(const std::vector<cv::Point2f>& points, float* short_side) {
  const cv::RotatedRect rect = cv::minAreaRect(points);
  cv::Point2f corners[4];
  rect.points(corners);
  std::vector<cv::Point2f> p(corners, corners + 4);
  // Python's sorted() is stable: keep boxPoints' order among equal x.
  std::stable_sort(p.begin(), p.end(), [](const cv::Point2f& a, const cv::Point2f& b) { return a.x < b.x; });
  const bool left_first_is_top = p[1].y > p[0].y;
  const bool right_first_is_top = p[3].y > p[2].y;
  Quad box;
  box[0] = left_first_is_top ? p[0] : p[1];
  box[3] = left_first_is_top ? p[1] : p[0];
  box[1] = right_first_is_top ? p[2] : p[3];
  box[2] = right_first_is_top ? p[3] : p[2];
  if (short_side) *short_side = std::min(rect.size.width, rect.size.height);
  return box;
}

std::vector<cv::Point2f> unclip(const Quad& box, float unclip_ratio) {
  // pyclipper takes integer coordinates (it truncates floats); the distance
  // comes from the float polygon (Shapely's area and length).
  std::vector<cv::Point2d> src(box.begin(), box.end());
  const double len = perimeter(src);
  if (len <= 0) return {box.begin(), box.end()};
  const double delta = std::abs(signed_area(src)) * unclip_ratio / len;
  std::vector<cv::Point2d> poly;
  for (const cv::Point2f& p : box) poly.emplace_back(std::trunc(p.x), std::trunc(p.y));
  // Clipper orients outer polygons so that its normals point outwards.
  if (signed_area(poly) < 0) std::reverse(poly.begin(), poly.end());
  const size_t n = poly.size();
  std::vector<cv::Point2d> normals(n);
  for (size_t j = 0; j < n; ++j) normals[j] = unit_normal(poly[j], poly[(j + 1) % n]);

  double steps = std::numbers::pi / std::acos(1 - kArcTolerance / delta);
  steps = std::min(steps, delta * std::numbers::pi);
  const double step_sin = std::sin(2 * std::numbers::pi / steps), step_cos = std::cos(2 * std::numbers::pi / steps);
  const double steps_per_rad = steps / (2 * std::numbers::pi);

  std::vector<cv::Point2f> out;
  for (size_t j = 0; j < n; ++j) {
    const size_t k = (j + n - 1) % n;  // the edge arriving at vertex j
    const cv::Point2d& nk = normals[k];
    const cv::Point2d& nj = normals[j];
    const double sin_a = nk.x * nj.y - nj.x * nk.y;
    const double cos_a = nk.x * nj.x + nk.y * nj.y;
    if (std::abs(sin_a * delta) < 1.0 && cos_a > 0) {  // nearly straight: one point
      out.push_back(rounded(poly[j].x + nk.x * delta, poly[j].y + nk.y * delta));
      continue;
    }
    if (sin_a * delta < 0) {  // concave corner (not for rectangles): Clipper's three points
      out.push_back(rounded(poly[j].x + nk.x * delta, poly[j].y + nk.y * delta));
      out.push_back(rounded(poly[j].x, poly[j].y));
      out.push_back(rounded(poly[j].x + nj.x * delta, poly[j].y + nj.y * delta));
      continue;
    }
    // Round join: sweep from the incoming edge's normal to the outgoing one.
    const double angle = std::atan2(sin_a, cos_a);
    const int arc_steps = std::max(static_cast<int>(std::llround(steps_per_rad * std::abs(angle))), 1);
    double x = nk.x, y = nk.y;
    for (int i = 0; i < arc_steps; ++i) {
      out.push_back(rounded(poly[j].x + x * delta, poly[j].y + y * delta));
      const double x2 = x;
      x = x * step_cos - step_sin * y;
      y = x2 * step_sin + y * step_cos;
    }
    out.push_back(rounded(poly[j].x + nj.x * delta, poly[j].y + nj.y * delta));
  }
  return out;
}

float box_score_fast(const cv::Mat& prob, const Quad& box) {
  const int h = prob.rows, w = prob.cols;
  float min_x = box[0].x, max_x = box[0].x, min_y = box[0].y, max_y = box[0].y;
  for (const cv::Point2f& p : box) {
    min_x = std::min(min_x, p.x), max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y), max_y = std::max(max_y, p.y);
  }
  const int x0 = std::clamp(static_cast<int>(std::floor(min_x)), 0, w - 1);
  const int x1 = std::clamp(static_cast<int>(std::ceil(max_x)), 0, w - 1);
  const int y0 = std::clamp(static_cast<int>(std::floor(min_y)), 0, h - 1);
  const int y1 = std::clamp(static_cast<int>(std::ceil(max_y)), 0, h - 1);
  cv::Mat mask = cv::Mat::zeros(y1 - y0 + 1, x1 - x0 + 1, CV_8UC1);
  std::vector<cv::Point> poly;
  // astype("int32") truncates toward zero.
  for (const cv::Point2f& p : box) poly.emplace_back(static_cast<int>(p.x - x0), static_cast<int>(p.y - y0));
  cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(1));
  return static_cast<float>(cv::mean(prob(cv::Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1)), mask)[0]);
}

Quad order_points_clockwise(const Quad& box) {
  // Top-left has the smallest x+y, bottom-right the largest; of the other
  // two, top-right has the smaller y-x.
  int tl = 0, br = 0;
  for (int i = 1; i < 4; ++i) {
    if (box[i].x + box[i].y < box[tl].x + box[tl].y) tl = i;
    if (box[i].x + box[i].y > box[br].x + box[br].y) br = i;
  }
  std::vector<cv::Point2f> rest;
  for (int i = 0; i < 4; ++i)
    if (i != tl && i != br) rest.push_back(box[i]);
  if (rest.size() != 2) return box;  // degenerate (all corners equal): keep as is
  const bool first_is_tr = rest[0].y - rest[0].x <= rest[1].y - rest[1].x;
  return {box[tl], first_is_tr ? rest[0] : rest[1], box[br], first_is_tr ? rest[1] : rest[0]};
}

void sort_boxes(std::vector<TextBox>& boxes) {
  std::stable_sort(boxes.begin(), boxes.end(), [](const TextBox& a, const TextBox& b) {
    if (a.points[0].y != b.points[0].y) return a.points[0].y < b.points[0].y;
    return a.points[0].x < b.points[0].x;
  });
  // Boxes whose tops differ by under 10 px are one line: order them by x.
  for (size_t i = 0; i + 1 < boxes.size(); ++i) {
    for (size_t j = i + 1; j-- > 0;) {
      const TextBox& upper = boxes[j];
      const TextBox& lower = boxes[j + 1];
      if (std::abs(lower.points[0].y - upper.points[0].y) < 10 && lower.points[0].x < upper.points[0].x)
        std::swap(boxes[j], boxes[j + 1]);
      else
        break;
    }
  }
}

namespace {

// One contour -> a box in source pixels, or nothing when it is too small or
// too faint (PaddleOCR's boxes_from_bitmap, per contour).
bool contour_to_box(const cv::Mat& prob, const std::vector<cv::Point>& contour, int source_height,
                    int source_width, const DbOptions& o, TextBox* out) {
  float short_side = 0;
  const Quad box = mini_box(std::vector<cv::Point2f>(contour.begin(), contour.end()), &short_side);
  if (short_side < o.min_size) return false;
  const float score = box_score_fast(prob, box);
  if (score < o.box_thresh) return false;
  const Quad grown = mini_box(unclip(box, o.unclip_ratio), &short_side);
  if (short_side < o.min_size + 2) return false;
  for (int i = 0; i < 4; ++i) {
    out->points[i].x = std::clamp(round_half_even(grown[i].x / prob.cols * source_width), 0.0f,
                                  static_cast<float>(source_width));
    out->points[i].y = std::clamp(round_half_even(grown[i].y / prob.rows * source_height), 0.0f,
                                  static_cast<float>(source_height));
  }
  out->score = score;
  return true;
}

}  // namespace

std::vector<TextBox> db_postprocess(const cv::Mat& prob, int source_height, int source_width,
                                    const DbOptions& o) {
  CV_Assert(prob.type() == CV_32FC1);
  cv::Mat bitmap = prob > o.thresh;  // 255 where text, as (bitmap * 255).astype(uint8)
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(bitmap, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  const size_t count = std::min(contours.size(), static_cast<size_t>(o.max_candidates));
  std::vector<TextBox> boxes;
  for (size_t i = 0; i < count; ++i) {
    TextBox box;
    if (!contour_to_box(prob, contours[i], source_height, source_width, o, &box)) continue;
    // TextDetector.filter_tag_det_res: clockwise corners, clipped to the
    // image, and no sliver boxes.
    box.points = order_points_clockwise(box.points);
    for (cv::Point2f& p : box.points) {
      p.x = std::trunc(std::min(std::max(p.x, 0.0f), static_cast<float>(source_width - 1)));
      p.y = std::trunc(std::min(std::max(p.y, 0.0f), static_cast<float>(source_height - 1)));
    }
    const int width = static_cast<int>(cv::norm(box.points[0] - box.points[1]));
    const int height = static_cast<int>(cv::norm(box.points[0] - box.points[3]));
    if (width <= 3 || height <= 3) continue;
    boxes.push_back(box);
  }
  sort_boxes(boxes);
  return boxes;
}

}  // namespace ecoinfer::ocr
