// splitmix64: a small generator whose sequence is fixed by its seed on
// every platform (std::mt19937's distributions and std::shuffle are left to
// the library). For results that must not change between runs or
// machines: the change-point permutation test, compare's bootstrap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace kh {

struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), by rejection (no modulo bias).
  std::size_t below(std::size_t bound) {
    std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                          std::numeric_limits<std::uint64_t>::max() % bound;
    std::uint64_t r;
    do r = next();
    while (r >= limit);
    return static_cast<std::size_t>(r % bound);
  }
};

}  // namespace kh
