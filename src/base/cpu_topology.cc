// Linux: the affinity mask, sysfs's thread siblings and the cgroup (v2 or v1) CPU quota; macOS:
// sysctl's performance-core count; elsewhere the standard library's hardware thread count.
#include "base/cpu_topology.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

#include "base/strings.h"

namespace silica {

namespace {

std::optional<std::string> read_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (!f || !std::getline(f, line)) return std::nullopt;
  return line;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

#if defined(__linux__)
// The CPUs this process may run on; empty when the mask cannot be read.
std::vector<int> affinity_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// The tightest CPU quota on the way from this process's cgroup up to the root: cgroup v2's
// cpu.max, or v1's cpu.cfs_quota_us / cpu.cfs_period_us (older Docker hosts).
std::optional<int> cgroup_limit() {
  std::ifstream f("/proc/self/cgroup");
  std::string line, v2_path, v1_path;
  while (std::getline(f, line)) {
    if (line.rfind("0::", 0) == 0) v2_path = line.substr(3);
    const size_t a = line.find(':'), b = line.find(':', a + 1);  // "4:cpu,cpuacct:/path"
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (controllers.find(",cpu,") != std::string::npos) v1_path = line.substr(b + 1);
  }
  auto quota_at = [](const std::string& dir, bool v2) -> std::optional<int> {
    if (v2) {
      auto text = read_line(dir + "/cpu.max");
      return text ? cgroup_cpu_limit(*text) : std::nullopt;
    }
    auto quota = read_line(dir + "/cpu.cfs_quota_us"),
         period = read_line(dir + "/cpu.cfs_period_us");
    return quota && period ? cgroup_cpu_limit(*quota + " " + *period) : std::nullopt;
  };
  std::optional<int> best;
  auto walk = [&](std::string path, const std::string& root, bool v2) {
    for (;;) {  // inside a container the cgroup's own folder may be mounted as the root
      if (auto n = quota_at(root + (path == "/" ? "" : path), v2))
        best = best ? std::min(*best, *n) : *n;
      if (path == "/" || path.empty()) break;
      const size_t slash = path.rfind('/');
      path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
  };
  if (!v2_path.empty()) walk(v2_path, "/sys/fs/cgroup", true);
  if (!v1_path.empty()) walk(v1_path, "/sys/fs/cgroup/cpu", false);
  return best;
}
#endif

}  // namespace

int detect_compute_threads() {
  const int logical = std::max(1, int(std::thread::hardware_concurrency()));
#if defined(__linux__)
  std::vector<int> cpus = affinity_cpus();
  if (cpus.empty()) {
    if (auto online = read_line("/sys/devices/system/cpu/online"))
      if (auto list = parse_cpu_list(*online)) cpus = *list;
  }
  if (cpus.empty()) return logical;
  int n = count_physical_cores("/sys/devices/system/cpu", cpus);
  if (n == 0) n = int(cpus.size());
  if (auto limit = cgroup_limit()) n = std::min(n, *limit);
  return std::max(1, n);
#elif defined(__APPLE__)
  for (const char* key : {"hw.perflevel0.physicalcpu", "hw.physicalcpu"}) {
    int n = 0;
    size_t len = sizeof(n);
    if (sysctlbyname(key, &n, &len, nullptr, 0) == 0 && n > 0) return n;
  }
  return logical;
#else
  return logical;
#endif
}

int default_compute_threads() {
  static const int n = detect_compute_threads();
  return n;
}

std::optional<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  text = trim_ascii_space(text);
  if (text.empty()) return std::nullopt;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t dash = item.find('-');
    const auto first = parse_int(item.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : parse_int(item.substr(dash + 1));
    if (!first || !last || *first < 0 || *last < *first || *last >= (1 << 20)) return std::nullopt;
    for (int64_t c = *first; c <= *last; ++c) cpus.push_back(int(c));
  }
  return cpus;
}

int count_physical_cores(const std::string& sysfs_cpu_dir, const std::vector<int>& cpus) {
  // A core is the set of logical CPUs that share it: its thread siblings list, the same text on
  // each of them (core_id alone repeats across packages, and across clusters on some ARM parts).
  std::set<std::vector<int>> cores;
  for (int c : cpus) {
    const std::string topo = sysfs_cpu_dir + "/cpu" + std::to_string(c) + "/topology/";
    auto text = read_line(topo + "core_cpus_list");
    if (!text) text = read_line(topo + "thread_siblings_list");
    if (!text) return 0;
    auto siblings = parse_cpu_list(*text);
    if (!siblings) return 0;
    cores.insert(std::move(*siblings));
  }
  return int(cores.size());
}

std::optional<int> cgroup_cpu_limit(std::string_view cpu_max) {
  std::istringstream in{std::string(trim_ascii_space(cpu_max))};
  std::string quota, period;
  if (!(in >> quota >> period) || quota == "max") return std::nullopt;
  const auto q = parse_int(quota), p = parse_int(period);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;
  return std::max(1, int(std::ceil(double(*q) / double(*p))));
}

}  // namespace silica
