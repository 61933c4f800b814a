#pragma once
// A bump allocator for the bytes one event owns. reset() keeps the first block,
// so an event that fits in it costs no heap allocation after warm-up.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace sentrail {

class arena {
 public:
  explicit arena(std::size_t block_size = 16 * 1024) : block_size_(block_size) {}
  arena(const arena&) = delete;
  arena& operator=(const arena&) = delete;
  arena(arena&&) = default;
  arena& operator=(arena&&) = default;

  /// Copies `text` into the arena; the view stays valid until reset().
  std::string_view store(std::string_view text) {
    if (text.empty()) return {};
    char* dst = allocate(text.size());
    std::memcpy(dst, text.data(), text.size());
    return {dst, text.size()};
  }

  /// Uninitialised bytes valid until reset().
  char* allocate(std::size_t size) {
    if (blocks_.empty() || used_ + size > capacity_) grow(size);
    char* p = blocks_.back().get() + used_;
    used_ += size;
    return p;
  }

  /// Forgets everything stored; keeps the first block for reuse.
  void reset() {
    if (blocks_.size() > 1) blocks_.resize(1);
    capacity_ = first_capacity_;
    used_ = 0;
  }

 private:
  void grow(std::size_t at_least) {
    std::size_t size = at_least > block_size_ ? at_least : block_size_;
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
    capacity_ = size;
    if (blocks_.size() == 1) first_capacity_ = size;
    used_ = 0;
  }

  std::size_t block_size_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t capacity_ = 0;
  std::size_t first_capacity_ = 0;
  std::size_t used_ = 0;
};

}  // namespace sentrail
