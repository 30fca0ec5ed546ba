#pragma once

// A latency histogram with bounded memory and 1/64 relative precision (log-linear buckets, as
// HdrHistogram does): tens of millions of samples per run cost 30 KB, not a sorted vector.

#include <array>
#include <bit>
#include <cstdint>

namespace signe::loadtest {

class histogram {
public:
    void record(std::uint64_t value) {
        ++counts_[index_of(value)];
        ++total_;
        if (value > max_) {
            max_ = value;
        }
    }

    void merge(const histogram& other) {
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            counts_[i] += other.counts_[i];
        }
        total_ += other.total_;
        if (other.max_ > max_) {
            max_ = other.max_;
        }
    }

    std::uint64_t count() const { return total_; }
    std::uint64_t max() const { return max_; }

    // The smallest recorded bucket value at or above fraction `p` (0..1) of the samples, given
    // as the bucket's upper edge (never below the true percentile), capped at max().
    std::uint64_t percentile(double p) const {
        if (total_ == 0) {
            return 0;
        }
        auto rank = static_cast<std::uint64_t>(p * static_cast<double>(total_));
        if (rank >= total_) {
            rank = total_ - 1;
        }
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen > rank) {
                std::uint64_t edge = upper_edge(i);
                return edge < max_ ? edge : max_;
            }
        }
        return max_;
    }

private:
    static constexpr unsigned linear = 128;  // values below are exact
    static constexpr unsigned half = linear / 2;
    static constexpr unsigned groups = 64 - 7;

    static std::size_t index_of(std::uint64_t v) {
        if (v < linear) {
            return static_cast<std::size_t>(v);
        }
        unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
        unsigned group = msb - 6;                      // >= 1
        auto sub = static_cast<unsigned>(v >> group);  // in [64, 127]
        return linear + (group - 1) * half + (sub - half);
    }

    static std::uint64_t upper_edge(std::size_t i) {
        if (i < linear) {
            return i;
        }
        std::size_t k = i - linear;
        unsigned group = static_cast<unsigned>(k / half) + 1;
        std::uint64_t sub = half + k % half;
        return ((sub + 1) << group) - 1;
    }

    std::array<std::uint64_t, linear + groups * half> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace signe::loadtest
