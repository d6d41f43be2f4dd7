#include "profile.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "cli_util.h"

namespace ecoinfer::cli {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void sort_by_time(std::vector<ProfileEntry>& v) {
  std::stable_sort(v.begin(), v.end(), [](const ProfileEntry& a, const ProfileEntry& b) { return a.seconds > b.seconds; });
}

}  // namespace

Expected<Profile> profile_session(const Session& session, const std::vector<NamedTensor>& inputs, int runs) {
  // Per node, the time of each run; the median resists the noise of a
  // shared machine better than the mean.
  std::vector<std::vector<double>> node_times;
  std::vector<NodeTrace> trace;
  for (int r = 0; r < runs; ++r) {
    auto out = session.run(inputs, &trace);
    if (!out) return out.status();
    if (node_times.empty()) node_times.resize(trace.size());
    for (size_t i = 0; i < trace.size() && i < node_times.size(); ++i) node_times[i].push_back(trace[i].seconds);
  }
  Profile p;
  p.runs = runs;
  std::map<std::string, ProfileEntry> types;
  for (size_t i = 0; i < trace.size(); ++i) {
    const double t = median(node_times[i]);
    p.by_node.push_back({trace[i].name, trace[i].op_type, t, 1});
    ProfileEntry& e = types[trace[i].op_type];
    e.name = trace[i].op_type;
    e.seconds += t;
    ++e.count;
    p.total_seconds += t;
  }
  for (auto& [name, e] : types) p.by_op_type.push_back(e);
  sort_by_time(p.by_op_type);
  sort_by_time(p.by_node);
  return p;
}

void print_profile(const Profile& p, size_t top) {
  const double total = p.total_seconds > 0 ? p.total_seconds : 1;
  fmt::print("\nprofile     median of {} traced runs; sum of nodes {}\n", p.runs, format_seconds(p.total_seconds));
  fmt::print("  {:<28} {:>6} {:>12} {:>7}\n", "op type", "nodes", "time", "share");
  for (size_t i = 0; i < p.by_op_type.size() && i < top; ++i) {
    const auto& e = p.by_op_type[i];
    fmt::print("  {:<28} {:>6} {:>12} {:>6.1f}%\n", e.name, e.count, format_seconds(e.seconds), 100 * e.seconds / total);
  }
  fmt::print("  {:<40} {:<20} {:>12} {:>7}\n", "node", "op type", "time", "share");
  for (size_t i = 0; i < p.by_node.size() && i < top; ++i) {
    const auto& e = p.by_node[i];
    std::string name = e.name.size() > 40 ? e.name.substr(0, 37) + "..." : e.name;
    fmt::print("  {:<40} {:<20} {:>12} {:>6.1f}%\n", name, e.op_type, format_seconds(e.seconds), 100 * e.seconds / total);
  }
}

nlohmann::json profile_json(const Profile& p, size_t top) {
  const double total = p.total_seconds > 0 ? p.total_seconds : 1;
  nlohmann::json j = {{"runs", p.runs}, {"total_ms", p.total_seconds * 1e3}};
  j["op_types"] = nlohmann::json::array();
  for (const auto& e : p.by_op_type)
    j["op_types"].push_back({{"op_type", e.name}, {"nodes", e.count}, {"ms", e.seconds * 1e3}, {"share", e.seconds / total}});
  j["nodes"] = nlohmann::json::array();
  for (size_t i = 0; i < p.by_node.size() && i < top; ++i) {
    const auto& e = p.by_node[i];
    j["nodes"].push_back({{"node", e.name}, {"op_type", e.op_type}, {"ms", e.seconds * 1e3}, {"share", e.seconds / total}});
  }
  return j;
}

}  // namespace ecoinfer::cli
