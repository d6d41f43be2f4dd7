// A child process for tests that need the real thing running (redis-server,
// ecoinfer serve): started with posix_spawn, stdout readable line by line with
// a deadline, killed and reaped when the object goes away.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace ecoinfer::testing {

class SpawnedProcess {
 public:
  SpawnedProcess() = default;
  SpawnedProcess(const SpawnedProcess&) = delete;
  SpawnedProcess& operator=(const SpawnedProcess&) = delete;
  ~SpawnedProcess() { stop(SIGKILL); }

  // Starts argv[0] (searched in PATH); its stdout comes to read_line(),
  // stderr goes to the test's stderr. False when it cannot be started.
  bool start(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      pid_ = -1;
      return false;
    }
    out_ = fds[0];
    return true;
  }

  // The next stdout line, or nothing when the deadline passes or the child
  // closes its stdout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || out_ < 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  void signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }

  // Sends `sig`, waits for the exit, returns the wait status (-1 if not running).
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (out_ >= 0) close(out_);
    out_ = -1;
    return status;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

// Starts `CLI serve --model-repository REPO` on a port of its choosing on
// loopback (`--http-port 0`, one thread, then `extra`) and returns the port
// it says it listens on; 0 when it does not start or say so within `timeout`.
inline int start_serve(SpawnedProcess& server, const std::string& cli, const std::string& repo,
                       const std::vector<std::string>& extra, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {cli,     "serve",          "--model-repository", repo,        "--http-port",
                                   "0",     "--http-address", "127.0.0.1",          "--threads", "1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (!server.start(argv)) return 0;
  const std::string marker = "listening on http://127.0.0.1:";
  while (auto line = server.read_line(timeout)) {
    if (auto at = line->find(marker); at != std::string::npos) return std::stoi(line->substr(at + marker.size()));
  }
  return 0;
}

// A loopback TCP port nobody listens on right now.
inline int free_loopback_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

}  // namespace ecoinfer::testing
