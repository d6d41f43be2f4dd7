#include "pipeline/stage_cache.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <xxhash.h>
#include <zstd.h>

namespace ecoinfer::pipeline {
namespace fs = std::filesystem;

Expected<std::unique_ptr<StageCache>> StageCache::open(const fs::path& dir, uint64_t max_bytes) {
  std::error_code ec;
  fs::create_directories(dir / "objects", ec);
  if (ec) return io_error(dir.string() + ": cannot create the stage cache folder (" + ec.message() +
                          "); pass --cache-dir to a writable folder or --no-cache");
  uint64_t size = 0;
  for (auto it = fs::recursive_directory_iterator(dir / "objects", ec); !ec && it != fs::end(it); it.increment(ec))
    if (it->is_regular_file(ec)) size += it->file_size(ec);
  return std::unique_ptr<StageCache>(new StageCache(dir, max_bytes, size));
}

std::string StageCache::key(const Stage& stage, const std::vector<std::string>& input_hashes) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  // A separator that cannot occur in the parts keeps ("ab","c") apart from ("a","bc").
  auto add = [&](const std::string& part) {
    XXH3_64bits_update(state, part.data(), part.size());
    XXH3_64bits_update(state, "\0", 1);
  };
  add(stage.name);
  add(stage.version);
  add(stage.parameters);
  add(stage.model_hash);
  for (const std::string& h : input_hashes) add(h);
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return hash_hex(h);
}

fs::path StageCache::object_path(const std::string& key) const {
  return dir_ / "objects" / key.substr(0, 2) / (key + ".zst");
}

std::optional<Values> StageCache::get(const std::string& key) {
  const fs::path path = object_path(key);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const unsigned long long raw = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > (1ull << 34)) return std::nullopt;
  std::string bytes(raw, '\0');
  const size_t n = ZSTD_decompress(bytes.data(), bytes.size(), packed.data(), packed.size());
  if (ZSTD_isError(n) || n != raw) return std::nullopt;
  auto values = deserialize_values(bytes);
  if (!values) return std::nullopt;
  // Touch it: eviction removes the least recently used entries first.
  std::error_code ec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
  return std::move(*values);
}

Status StageCache::put(const std::string& key, const Values& outputs) {
  const std::string bytes = serialize_values(outputs);
  std::string packed(ZSTD_compressBound(bytes.size()), '\0');
  // Level 3: Zstandard's default; higher levels cost more time than they save on tensors.
  const size_t n = ZSTD_compress(packed.data(), packed.size(), bytes.data(), bytes.size(), 3);
  if (ZSTD_isError(n)) return internal_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  packed.resize(n);
  const fs::path path = object_path(key);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  // Write then rename, so a reader never sees half an entry.
  const fs::path tmp = path.string() + ".tmp" + std::to_string(reinterpret_cast<uintptr_t>(&packed));
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(packed.data(), static_cast<std::streamsize>(packed.size()));
    if (!out) return io_error(tmp.string() + ": cannot write a stage cache entry (disk full?)");
  }
  fs::rename(tmp, path, ec);
  if (ec) return io_error(path.string() + ": cannot store a stage cache entry: " + ec.message());
  if ((size_bytes_ += packed.size()) > max_bytes_) evict_oldest();
  return Status::ok();
}

void StageCache::evict_oldest() {
  std::lock_guard lock(evict_mutex_);
  struct Entry {
    fs::file_time_type time;
    uint64_t size;
    fs::path path;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_ / "objects", ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() != ".zst") continue;
    entries.push_back({it->last_write_time(ec), it->file_size(ec), it->path()});
    total += entries.back().size;
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.time < b.time; });
  // Down to 90% of the bound, so the next few puts do not rescan the folder.
  const uint64_t target = max_bytes_ / 10 * 9;
  for (const Entry& e : entries) {
    if (total <= target) break;
    if (fs::remove(e.path, ec)) total -= e.size;
  }
  size_bytes_ = total;
}

}  // namespace ecoinfer::pipeline
