// Operator-level profile for `ecoinfer bench --profile`: where a run's time
// goes, per op type and per node, so the next bottleneck is visible (Amdahl's
// law at operator level: a node at 40% caps any speed-up elsewhere at 1.67x).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecoinfer/session.h"

namespace ecoinfer::cli {

struct ProfileEntry {
  std::string name;     // op type, or node name
  std::string op_type;  // for nodes
  double seconds = 0;   // median over the profiled runs
  int count = 0;        // nodes of this type (for op types)
};

struct Profile {
  std::vector<ProfileEntry> by_op_type;  // sorted by time, descending
  std::vector<ProfileEntry> by_node;     // sorted by time, descending
  double total_seconds = 0;              // sum of node medians
  int runs = 0;
};

Expected<Profile> profile_session(const Session& session, const std::vector<NamedTensor>& inputs, int runs);
void print_profile(const Profile& p, size_t top);
nlohmann::json profile_json(const Profile& p, size_t top);

}  // namespace ecoinfer::cli
