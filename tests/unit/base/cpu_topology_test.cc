// The default thread count: cpulists, physical cores from a sysfs tree the test lays out (SMT
// pairs, two packages, an affinity mask that takes one sibling), cgroup quotas, and this host.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

#include "base/cpu_topology.h"

namespace silica {
namespace {

namespace fs = std::filesystem;

TEST(CpuTopology, ParsesCpuLists) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("5"), (std::vector<int>{5}));
  for (const char* bad : {"", "\n", "a", "3-1", "1-", "-2", "1,,2", "0-99999999"})
    EXPECT_FALSE(parse_cpu_list(bad)) << bad;
}

// A sysfs cpu folder: cpuN/topology/thread_siblings_list (older kernels) or core_cpus_list.
class FakeSysfs {
 public:
  FakeSysfs() {
    dir_ = fs::temp_directory_path() /
           ("silica-cpu-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  ~FakeSysfs() { fs::remove_all(dir_); }
  void cpu(int n, const std::string& siblings, const char* file = "thread_siblings_list") {
    const fs::path topo = dir_ / ("cpu" + std::to_string(n)) / "topology";
    fs::create_directories(topo);
    std::ofstream(topo / file) << siblings << "\n";
  }
  std::string path() const { return dir_.string(); }

 private:
  fs::path dir_;
};

TEST(CpuTopology, CountsOneThreadPerCoreWithSmt) {
  FakeSysfs sys;  // 2 packages x 2 cores x 2 threads, Linux's usual numbering (siblings n, n+4)
  for (int c = 0; c < 8; ++c) sys.cpu(c, std::to_string(c % 4) + "," + std::to_string(c % 4 + 4));
  EXPECT_EQ(count_physical_cores(sys.path(), {0, 1, 2, 3, 4, 5, 6, 7}), 4);
  EXPECT_EQ(count_physical_cores(sys.path(), {0, 4}), 1);     // both threads of one core
  EXPECT_EQ(count_physical_cores(sys.path(), {0, 1, 5}), 2);  // taskset across siblings
  EXPECT_EQ(count_physical_cores(sys.path(), {}), 0);
}

TEST(CpuTopology, CountsEveryCpuWithoutSmtAndReadsNewerKernelsFile) {
  FakeSysfs sys;
  for (int c = 0; c < 6; ++c) sys.cpu(c, std::to_string(c), "core_cpus_list");
  EXPECT_EQ(count_physical_cores(sys.path(), {0, 1, 2, 3, 4, 5}), 6);
}

TEST(CpuTopology, UnreadableTopologyCountsZeroSoTheCallerFallsBack) {
  FakeSysfs sys;
  sys.cpu(0, "0");
  EXPECT_EQ(count_physical_cores(sys.path(), {0, 1}), 0);  // cpu1 has no topology
  sys.cpu(1, "garbage");
  EXPECT_EQ(count_physical_cores(sys.path(), {0, 1}), 0);
}

TEST(CpuTopology, CgroupQuotaRoundsUp) {
  EXPECT_EQ(cgroup_cpu_limit("200000 100000\n"), 2);
  EXPECT_EQ(cgroup_cpu_limit("150000 100000"), 2);
  EXPECT_EQ(cgroup_cpu_limit("50000 100000"), 1);
  EXPECT_EQ(cgroup_cpu_limit("1600000000 100000"), 16000);
  EXPECT_FALSE(cgroup_cpu_limit("max 100000"));
  EXPECT_FALSE(cgroup_cpu_limit("-1 100000"));  // cgroup v1's quota and period: no limit
  for (const char* bad : {"", "100000", "x 100000", "-5 100000", "100 0"})
    EXPECT_FALSE(cgroup_cpu_limit(bad)) << bad;
}

TEST(CpuTopology, DefaultIsBetweenOneAndTheLogicalCpus) {
  const int n = default_compute_threads();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, int(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(default_compute_threads(), n);
}

#if defined(__linux__)
// taskset -c 0: one CPU in the mask means one thread, whatever the machine has.
TEST(CpuTopology, FollowsTheAffinityMask) {
  cpu_set_t saved, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  const int n = detect_compute_threads();
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(detect_compute_threads(), default_compute_threads());
}
#endif

}  // namespace
}  // namespace silica
