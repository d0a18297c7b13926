#include "nat66_memory.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

namespace npt66 {
namespace {
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeThreshold = size_t{1} << 20;
}  // namespace

void* nat66_alloc_zeroed(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes < kHugeThreshold) {
    void* p = std::calloc(1, bytes);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p == nullptr) throw std::bad_alloc();
  madvise(p, rounded, MADV_HUGEPAGE);  // advice only: without THP the pages are simply small
  std::memset(p, 0, rounded);
  return p;
}

void nat66_free(void* p) noexcept { std::free(p); }

}  // namespace npt66
