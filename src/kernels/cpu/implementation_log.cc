#include "kernels/cpu/implementation_log.h"

#include <map>
#include <mutex>
#include <utility>

#include "ecoinfer/session.h"

namespace ecoinfer {
namespace kernels::onednn {
namespace {

struct Log {
  std::mutex mutex;
  std::map<std::pair<std::string, std::string>, int> counts;
};

Log& log() {
  static Log instance;
  return instance;
}

}  // namespace

void note_implementation(const std::string& kind, const std::string& implementation) {
  Log& l = log();
  std::lock_guard<std::mutex> lock(l.mutex);
  ++l.counts[{kind, implementation}];
}

}  // namespace kernels::onednn

std::vector<PrimitiveImplementation> onednn_implementations_used() {
  auto& l = kernels::onednn::log();
  std::lock_guard<std::mutex> lock(l.mutex);
  std::vector<PrimitiveImplementation> out;
  for (const auto& [key, count] : l.counts) out.push_back({key.first, key.second, count});
  return out;
}

}  // namespace ecoinfer
