#include "proc_stats.hpp"

#include <sched.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace signe::loadtest {
namespace {

std::uint64_t status_kb(const std::string& status, const std::string& field) {
    auto pos = status.find(field + ":");
    if (pos == std::string::npos) {
        return 0;
    }
    return std::stoull(status.substr(pos + field.size() + 1));
}

// On-CPU nanoseconds summed over the process's threads (schedstat), finer than the 10 ms ticks
// of /proc/<pid>/stat; nullopt when the kernel does not provide it.
std::optional<double> schedstat_seconds(const std::string& base) {
    std::error_code ec;
    std::filesystem::directory_iterator tasks(base + "/task", ec);
    if (ec) {
        return std::nullopt;
    }
    double total = 0;
    for (const auto& task : tasks) {
        std::ifstream in(task.path() / "schedstat");
        unsigned long long ns = 0;
        if (!(in >> ns)) {
            return std::nullopt;
        }
        total += static_cast<double>(ns) * 1e-9;
    }
    return total;
}

}  // namespace

std::optional<process_sample> sample_process(int pid) {
    std::string base = "/proc/" + std::to_string(pid);
    std::ifstream stat_file(base + "/stat");
    std::string stat;
    if (!std::getline(stat_file, stat)) {
        return std::nullopt;
    }
    // Fields after the command name (which may hold spaces, hence the last ')').
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) {
            utime = std::stoull(field);
        } else if (i == 15) {
            stime = std::stoull(field);
        }
    }
    std::ifstream status_file(base + "/status");
    std::stringstream status;
    status << status_file.rdbuf();
    process_sample s;
    s.tick_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    s.cpu_seconds = schedstat_seconds(base).value_or(s.tick_seconds);
    s.rss_kb = status_kb(status.str(), "VmRSS");
    s.peak_kb = status_kb(status.str(), "VmHWM");
    return s;
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace signe::loadtest

namespace signe::loadtest {

int pinned_cpu() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1) {
        return -1;
    }
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) {
            return cpu;
        }
    }
    return -1;
}

std::optional<cpu_times> sample_cpu(int cpu) {
    std::ifstream stat("/proc/stat");
    std::string name = "cpu" + std::to_string(cpu);
    std::string line;
    while (std::getline(stat, line)) {
        std::istringstream fields(line);
        std::string label;
        fields >> label;
        if (label != name) {
            continue;
        }
        cpu_times t;
        std::uint64_t value = 0;
        for (int i = 0; fields >> value; ++i) {
            t.total += value;
            if (i != 3 && i != 4) {  // idle, iowait
                t.busy += value;
            }
        }
        return t;
    }
    return std::nullopt;
}

}  // namespace signe::loadtest

namespace signe::loadtest {

std::optional<double> machine_process_seconds() {
    std::ifstream stat("/proc/stat");
    std::string label;
    std::uint64_t user = 0;
    std::uint64_t nice = 0;
    std::uint64_t system = 0;
    if (!(stat >> label >> user >> nice >> system) || label != "cpu") {
        return std::nullopt;
    }
    return static_cast<double>(user + nice + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace signe::loadtest
