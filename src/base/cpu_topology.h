// How many compute threads to run by default: one per physical core this process may use.
// A second hardware thread on a core (SMT) shares that core's vector units, caches and memory
// path, so it adds nothing to a matmul and only makes the other threads wait for it; CPUs outside
// the process's affinity mask (taskset, a container's cpuset) or beyond its cgroup CPU quota are
// not ours to use; on Apple Silicon the efficiency cores would hold up the performance cores at
// every barrier. llama.cpp and Ollama default to physical cores for the same reasons.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace silica {

// Threads worth using by default (at least 1). Detected once; cheap to call again.
int default_compute_threads();

// The same, detected afresh for the calling thread (its affinity mask, the cgroup's quota now).
int detect_compute_threads();

// The pieces, exposed so that tests can feed them a machine they describe.

// CPU numbers in a Linux cpulist ("0-3,8,10-11"); nullopt when malformed.
std::optional<std::vector<int>> parse_cpu_list(std::string_view text);

// Distinct physical cores among `cpus`, from a sysfs CPU folder laid out as
// /sys/devices/system/cpu (cpuN/topology/physical_package_id and core_id); 0 when a CPU's
// topology cannot be read (the caller then counts logical CPUs).
int count_physical_cores(const std::string& sysfs_cpu_dir, const std::vector<int>& cpus);

// CPUs a cgroup quota allows, rounded up, from v2's cpu.max line ("200000 100000", "max 100000")
// or v1's quota and period joined by a space ("-1 100000"); nullopt for no limit or bad text.
std::optional<int> cgroup_cpu_limit(std::string_view cpu_max);

}  // namespace silica
