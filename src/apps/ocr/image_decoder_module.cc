// libecoinfer_imgdecode.so: OpenCV's imgcodecs behind one C function, loaded
// by image_io.cc on the first image decode (why: image_decoder_module.h).
#include "ocr/image_decoder_module.h"

#include <cstdio>
#include <exception>

#include <opencv2/imgcodecs.hpp>

extern "C" __attribute__((visibility("default"))) int ecoinfer_imgdecode_v1(const void* bytes, size_t size,
                                                                           cv::Mat* out, char* error,
                                                                           size_t error_size) {
  try {
    // imdecode reads the buffer only; Mat wants a non-const pointer.
    const cv::Mat raw(1, static_cast<int>(size), CV_8UC1, const_cast<void*>(bytes));
    *out = cv::imdecode(raw, cv::IMREAD_COLOR);
    return 0;
  } catch (const cv::Exception& e) {
    std::snprintf(error, error_size, "%s", e.err.c_str());
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
  } catch (...) {
    std::snprintf(error, error_size, "unknown error in OpenCV's imdecode");
  }
  return 1;
}
