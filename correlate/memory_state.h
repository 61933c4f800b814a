#pragma once
// State held in memory only: for `sentrail replay` and tests, where nothing
// needs to survive the process.

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "common/xxhash.h"

#include "correlate/op.h"

namespace sentrail::correlate {

/// The keys' 64-bit hash (XXH3). Tests swap in one that collides.
struct state_key_hash {
  std::uint64_t operator()(std::string_view key) const { return XXH3_64bits(key.data(), key.size()); }
};

template <class Hash = state_key_hash>
class basic_memory_state : public state_view {
 public:
  basic_memory_state() = default;
  basic_memory_state(const basic_memory_state&) = delete;
  basic_memory_state& operator=(const basic_memory_state&) = delete;
  basic_memory_state(basic_memory_state&& other) noexcept
      : chains_(std::move(other.chains_)), size_(other.size_), now_(other.now_), sets_(other.sets_) {
    other.chains_.clear();
    other.size_ = 0;
    other.last_ = nullptr;
  }
  ~basic_memory_state() override {
    for (auto& [hash, head] : chains_) destroy_chain(head);
  }

  std::optional<std::string_view> get(std::string_view key) override {
    last_ = find(hash_of(key), key);
    if (!last_ || last_->expires < now_) return std::nullopt;
    return last_->value();
  }
  void put(std::string_view key, std::string_view value, timestamp_ns expires) override {
    // Operators get a group's value, then put it back: the entry get() found is
    // reused rather than looked up again (only finds ran in between, so it is
    // still there; any put or erase forgets it).
    node* n = last_ && last_->key() == key ? last_ : nullptr;
    last_ = nullptr;
    std::uint64_t hash = n ? n->hash : hash_of(key);
    if (!n) n = find(hash, key);
    if (n && n->capacity >= value.size()) {
      n->set_value(value);
      n->expires = expires;
      return;
    }
    // New, or outgrown: a larger block, with room to grow (a window gains an
    // entry at a time). The old block goes last: `value` may be a view into it.
    node* grown = node::make(hash, key, value.size() + value.size() / 2 + 16);
    grown->set_value(value);
    grown->expires = expires;
    node*& head = chains_[hash];
    if (n) {
      node** link = link_to(head, n);
      grown->next = n->next;
      *link = grown;
      node::destroy(n);
    } else {
      grown->next = head;
      head = grown;
      ++size_;
    }
  }
  void erase(std::string_view key) override {
    last_ = nullptr;
    std::uint64_t hash = hash_of(key);
    auto it = chains_.find(hash);
    if (it == chains_.end()) return;
    for (node** link = &it->second; *link; link = &(*link)->next) {
      if ((*link)->key() != key) continue;
      node* gone = *link;
      *link = gone->next;
      node::destroy(gone);
      --size_;
      if (!it->second) chains_.erase(it);
      return;
    }
  }
  void for_each_from(std::string_view prefix, std::string_view from, const visitor& fn) override {
    // Rare (restores, inspection): collect and sort rather than keep the table ordered.
    std::vector<const node*> hits;
    for (const auto& [hash, head] : chains_)
      for (const node* n = head; n; n = n->next)
        if (n->key().starts_with(prefix) && n->key() >= from && n->expires >= now_) hits.push_back(n);
    std::sort(hits.begin(), hits.end(), [](const node* a, const node* b) { return a->key() < b->key(); });
    for (const node* n : hits) fn(n->key(), n->value());
  }
  void set_now(timestamp_ns watermark) override {
    last_ = nullptr;
    now_ = watermark;
    // Drop expired values now and then, as compaction does on disk; a sweep only
    // after as many calls as there are values keeps the cost per call constant.
    if (++sets_ >= std::max<std::size_t>(4096, size_)) {
      sets_ = 0;
      absl::erase_if(chains_, [&](auto& entry) {
        for (node** link = &entry.second; *link;) {
          node* n = *link;
          if (n->expires >= now_) {
            link = &n->next;
            continue;
          }
          *link = n->next;
          node::destroy(n);
          --size_;
        }
        return entry.second == nullptr;
      });
    }
  }
  // The table is keyed by the key's hash alone, so finding a key's block reads
  // no key bytes: where it is can be loaded while other work runs (lookup),
  // then the block itself (value), and the get() that follows finds both in
  // the cache. Waiting for them was most of a get() and a tenth of a pack replay.
  void prefetch(std::string_view key, prefetch_stage stage) override {
    std::uint64_t hash = hash_of(key);
    if (stage == prefetch_stage::lookup) {
      chains_.prefetch(hash);
      return;
    }
    auto it = chains_.find(hash);
    if (it == chains_.end()) return;
    const char* block = reinterpret_cast<const char*>(it->second);
    for (int line = 0; line < 4; ++line) __builtin_prefetch(block + 64 * line);  // header, key, a window's value
  }
  std::size_t size() const { return size_; }

 private:
  // One block per entry: this header, the key's bytes, then room for the value.
  // Entries whose keys share a 64-bit hash (never seen, but possible) are chained.
  struct node {
    std::uint64_t hash;
    node* next;
    timestamp_ns expires;
    std::uint32_t key_size, value_size, capacity;

    std::string_view key() const { return {bytes(), key_size}; }
    std::string_view value() const { return {bytes() + key_size, value_size}; }
    void set_value(std::string_view v) {
      std::memmove(bytes() + key_size, v.data(), v.size());  // v may be this value
      value_size = static_cast<std::uint32_t>(v.size());
    }
    static node* make(std::uint64_t hash, std::string_view key, std::size_t capacity) {
      void* raw = ::operator new(sizeof(node) + key.size() + capacity);
      node* n = new (raw) node{hash, nullptr, 0, static_cast<std::uint32_t>(key.size()), 0,
                               static_cast<std::uint32_t>(capacity)};
      std::memcpy(n->bytes(), key.data(), key.size());
      return n;
    }
    static void destroy(node* n) { ::operator delete(n); }

   private:
    char* bytes() const { return reinterpret_cast<char*>(const_cast<node*>(this) + 1); }
  };
  static std::uint64_t hash_of(std::string_view key) { return Hash{}(key); }
  node* find(std::uint64_t hash, std::string_view key) const {
    auto it = chains_.find(hash);
    if (it == chains_.end()) return nullptr;
    for (node* n = it->second; n; n = n->next)
      if (n->key() == key) return n;
    return nullptr;
  }
  static node** link_to(node*& head, const node* n) {
    node** link = &head;
    while (*link != n) link = &(*link)->next;
    return link;
  }
  static void destroy_chain(node* n) {
    while (n) {
      node* next = n->next;
      node::destroy(n);
      n = next;
    }
  }

  absl::flat_hash_map<std::uint64_t, node*> chains_;  // key hash -> its entries
  std::size_t size_ = 0;
  node* last_ = nullptr;  // what the last get() found
  timestamp_ns now_ = INT64_MIN;
  std::size_t sets_ = 0;
};

using memory_state = basic_memory_state<>;

}  // namespace sentrail::correlate
