#pragma once

// CPU time and memory of a process, from /proc (Linux): the server under test, or ourselves.

#include <cstdint>
#include <optional>

namespace signe::loadtest {

struct process_sample {
    double cpu_seconds = 0;     // user + system, all threads (nanosecond schedstat when known)
    double tick_seconds = 0;    // the same from /proc/<pid>/stat ticks, comparable to /proc/stat
    std::uint64_t rss_kb = 0;   // VmRSS
    std::uint64_t peak_kb = 0;  // VmHWM
};

// nullopt when the process is gone or /proc is unreadable.
std::optional<process_sample> sample_process(int pid);

// CPU seconds of the calling thread.
double thread_cpu_seconds();

// The one CPU this process is pinned to (taskset -c N), or -1 when it may run on several.
int pinned_cpu();

// Jiffies a CPU spent busy (anything but idle and iowait: user, system, interrupts, softirq,
// other processes) and in total, from /proc/stat.
struct cpu_times {
    std::uint64_t busy = 0;
    std::uint64_t total = 0;
};
std::optional<cpu_times> sample_cpu(int cpu);

// Seconds every CPU together spent running processes (user, nice, system: not interrupts),
// from the "cpu" line of /proc/stat. With the CPU time of the processes under test, it tells
// how much else ran during a measurement.
std::optional<double> machine_process_seconds();

}  // namespace signe::loadtest
