// Cutting one text box out of the image as an upright rectangle
// (PaddleOCR's get_rotate_crop_image): a perspective warp maps the
// quadrilateral onto a width x height rectangle, so slanted or skewed lines
// come out straight for the recognizer.
//
//   cv::Mat line = crop_text_box(image, box.points);
#pragma once

#include <opencv2/core.hpp>

#include "ocr/db_postprocess.h"

namespace ecoinfer::ocr {

// width: the longer of the top and bottom edges, height: the longer of the
// left and right edges (both truncated to whole pixels, at least 1). Bicubic
// sampling, border pixels replicated. A crop at least 1.5 times as tall as
// wide is taken to be vertical text and turned 90 degrees counter-clockwise
// (np.rot90), so that the recognizer reads it along its width.
cv::Mat crop_text_box(const cv::Mat& image, const Quad& box);

}  // namespace ecoinfer::ocr
