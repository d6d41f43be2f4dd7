// A child process for tests that need the real thing running (redis-server,
// ecoinfer serve): forked and exec'd, stdout readable line by line with
// a deadline, killed and reaped when the object goes away.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ecoinfer::testing {

class SpawnedProcess {
 public:
  SpawnedProcess() = default;
  SpawnedProcess(const SpawnedProcess&) = delete;
  SpawnedProcess& operator=(const SpawnedProcess&) = delete;
  ~SpawnedProcess() { stop(SIGKILL); }

  // Starts argv[0] (searched in PATH); its stdout comes to read_line(),
  // stderr goes to the test's stderr. False when it cannot be started.
  // The child is killed when the test process dies: a test that aborts
  // (an ASan report, a crash) runs no destructor, and an orphaned server
  // would keep ctest's output pipe open, so ctest would wait for it until
  // its timeout instead of reporting the failure. (The kernel sends the
  // signal when the thread that forked exits, so start children from the
  // test's own thread, as every test here does.)
  bool start(const std::vector<std::string>& argv) {
    int out[2];
    int exec_error[2];  // close-on-exec: EOF when exec succeeded, errno when not
    if (pipe(out) != 0) return false;
    if (pipe2(exec_error, O_CLOEXEC) != 0) {
      close(out[0]);
      close(out[1]);
      return false;
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the test died before prctl
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execvp(args[0], args.data());
      const int e = errno;
      (void)!write(exec_error[1], &e, sizeof e);
      _exit(127);
    }
    close(out[1]);
    close(exec_error[1]);
    int e = 0;
    const bool exec_failed = pid_ < 0 || read(exec_error[0], &e, sizeof e) == static_cast<ssize_t>(sizeof e);
    close(exec_error[0]);
    if (exec_failed) {
      if (pid_ > 0) waitpid(pid_, nullptr, 0);
      close(out[0]);
      pid_ = -1;
      return false;
    }
    out_ = out[0];
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
