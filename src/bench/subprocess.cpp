#include "bench/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"

extern char** environ;

namespace webaccel::bench {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::vector<std::string>& env, int out_fd,
                             int err_fd) {
  ::setpgid(0, 0);  // its own group, so a timeout can end a browser's whole process tree
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  const std::string msg = "cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg.data(), msg.size());
  ::_exit(127);
}

}  // namespace

std::string quoted_command(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    const bool plain = !a.empty() && a.find_first_of(" '\"$\\`*?!&;|<>(){}\n") == std::string::npos;
    std::string q = a;
    if (!plain) {
      q = "'";
      for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      q += "'";
    }
    line += (line.empty() ? "" : " ") + q;
  }
  return line;
}

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                          const std::vector<std::string>& env) {
  if (argv.empty()) fail(ErrorKind::kInternal, "run_process: empty command");
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    fail(ErrorKind::kIo, "cannot create a pipe for " + argv[0] + ": " + std::strerror(errno));
  }
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) fail(ErrorKind::kIo, "cannot start " + argv[0] + ": " + std::strerror(errno));
  if (pid == 0) exec_child(argv, env, out_pipe[1], err_pipe[1]);
  ::setpgid(pid, pid);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  ProcessResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  const auto deadline = t0 + timeout;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      r.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000))) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) if (f.fd >= 0) ::close(f.fd);
  // Wait without reaping, so the group id cannot be reused, then end what the driver left behind
  // (a browser it started): nothing of a cell may outlive it.
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {}
  ::kill(-pid, SIGKILL);
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {}
  r.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.peak_rss_mb = usage.ru_maxrss > 0 ? std::optional<double>(usage.ru_maxrss / 1024.0) : std::nullopt;
  return r;
}

}  // namespace webaccel::bench
