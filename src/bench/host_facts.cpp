#include "bench/host_facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace webaccel::bench {
namespace {

std::string read_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 256> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int rc = ::pclose(p);
  if (rc != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

std::string machine_name() {
  std::array<char, 256> name{};
  return ::gethostname(name.data(), name.size() - 1) == 0 ? std::string(name.data()) : "unknown";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string new_run_id() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  char rnd[16];
  std::snprintf(rnd, sizeof rnd, "%08x", rd());
  return std::string(stamp) + "-" + machine_name() + "-" + std::to_string(::getpid()) + "-" + rnd;
}

std::string process_start_time(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return "";
  // Field 22 (starttime) counts from after the command name, which may itself contain spaces.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {}
  return field;
}

bool process_alive(long pid, const std::string& start_time) {
  const std::string now = process_start_time(pid);
  return !now.empty() && now == start_time;
}

namespace {

// GPUs present, whether or not the backend uses one: NVIDIA's model names, else PCI display devices.
std::string gpu_adapters() {
  std::string out;
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    std::ifstream in(e.path() / "information");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Model:", 0) == 0) out += (out.empty() ? "" : "; ") + line.substr(line.find_first_not_of(" \t", 6));
    }
  }
  if (!out.empty()) return out;
  for (const auto& e : fs::directory_iterator("/sys/bus/pci/devices", ec)) {
    std::string cls, vendor, device;
    std::ifstream(e.path() / "class") >> cls;
    if (cls.rfind("0x03", 0) != 0) continue;  // PCI class 03: display controllers
    std::ifstream(e.path() / "vendor") >> vendor;
    std::ifstream(e.path() / "device") >> device;
    out += (out.empty() ? "" : "; ") + ("PCI display " + vendor + ":" + device);
  }
  return out.empty() ? "none detected" : out;
}

std::string own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string line;
  for (std::string arg; std::getline(in, arg, '\0');) {
    const bool plain = arg.find_first_of(" '\"$\\") == std::string::npos && !arg.empty();
    line += (line.empty() ? "" : " ") + (plain ? arg : "'" + arg + "'");
  }
  return line;
}

}  // namespace

RunInfo describe_this_run() {
  RunInfo r;
  r.run_id = new_run_id();
  r.started_at = utc_now();
  r.machine = machine_name();
  utsname u{};
  if (::uname(&u) == 0) r.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  r.cpu = cpu_model();
  r.cpu_cores = static_cast<int>(std::thread::hardware_concurrency());
  r.command_line = own_command_line();
  r.gpu = gpu_adapters();
  r.webaccel_version = "0.1.0";
  r.pid = ::getpid();
  r.process_start = process_start_time(r.pid);
  // The commit of the tree the binary was built in, marked -dirty when it has local changes.
  const auto exe_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
  const std::string git = "git -C '" + exe_dir + "' ";
  r.git_commit = read_command(git + "rev-parse --short=12 HEAD 2>/dev/null");
  if (!r.git_commit.empty() && !read_command(git + "status --porcelain --untracked-files=no 2>/dev/null").empty()) {
    r.git_commit += "-dirty";
  }
  return r;
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  return f && (f << "5") && f.flush();
}

std::optional<double> peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return std::nullopt;
}

}  // namespace webaccel::bench
