// Zeroed arrays for the masquerade table's big structures. At a million mappings lookups are bound by TLB
// misses with 4 KB pages (worse in a VM, where a page walk is two-dimensional), so arrays of 1 MB or more are
// 2 MB aligned and marked for transparent huge pages (MADV_HUGEPAGE: this matters when THP is in "madvise").
#pragma once
#include <cstddef>
#include <new>
#include <type_traits>

namespace npt66 {

// Throws std::bad_alloc.
void* nat66_alloc_zeroed(size_t bytes);
void nat66_free(void* p) noexcept;

// An owned array of `size` value-initialised T (T trivially destructible).
template <class T>
class Nat66Buffer {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  Nat66Buffer() = default;
  explicit Nat66Buffer(size_t size) : data_(static_cast<T*>(nat66_alloc_zeroed(size * sizeof(T)))), size_(size) {
    for (size_t i = 0; i < size; ++i) new (data_ + i) T();
  }
  Nat66Buffer(Nat66Buffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
  Nat66Buffer& operator=(Nat66Buffer&& o) noexcept {
    if (this != &o) {
      nat66_free(data_);
      data_ = o.data_, size_ = o.size_;
      o.data_ = nullptr, o.size_ = 0;
    }
    return *this;
  }
  Nat66Buffer(const Nat66Buffer&) = delete;
  Nat66Buffer& operator=(const Nat66Buffer&) = delete;
  ~Nat66Buffer() { nat66_free(data_); }

  T& operator[](size_t i) const noexcept { return data_[i]; }
  size_t size() const noexcept { return size_; }
  explicit operator bool() const noexcept { return data_ != nullptr; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace npt66
