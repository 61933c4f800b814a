#pragma once
// State held in memory only: for `sentrail replay` and tests, where nothing
// needs to survive the process.

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <absl/container/flat_hash_set.h>

#include "common/xxhash.h"

#include "correlate/op.h"

namespace sentrail::correlate {

class memory_state : public state_view {
 public:
  memory_state() = default;
  memory_state(const memory_state&) = delete;
  memory_state& operator=(const memory_state&) = delete;
  memory_state(memory_state&& other) noexcept : nodes_(std::move(other.nodes_)), now_(other.now_), sets_(other.sets_) {
    other.nodes_.clear();
    other.last_ = nullptr;
  }
  ~memory_state() override {
    for (node* n : nodes_) node::destroy(n);
  }

  std::optional<std::string_view> get(std::string_view key) override {
    auto it = nodes_.find(key);
    last_ = it == nodes_.end() ? nullptr : *it;
    if (!last_ || last_->expires < now_) return std::nullopt;
    return last_->value();
  }
  void put(std::string_view key, std::string_view value, timestamp_ns expires) override {
    // Operators get a group's value, then put it back: the entry get() found is
    // reused rather than looked up again (only finds ran in between, so it is
    // still there; any put or erase forgets it).
    node* n = last_ && last_->key() == key ? last_ : nullptr;
    last_ = nullptr;
    if (!n) {
      auto it = nodes_.find(key);
      if (it != nodes_.end()) n = *it;
    }
    if (n && n->capacity >= value.size()) {
      n->set_value(value);
      n->expires = expires;
      return;
    }
    // New, or outgrown: a larger block, with room to grow (a window gains an
    // entry at a time). The old block goes last: `value` may be a view into it.
    node* grown = node::make(key, value.size() + value.size() / 2 + 16);
    grown->set_value(value);
    grown->expires = expires;
    if (n) {
      nodes_.erase(n);
      node::destroy(n);
    }
    nodes_.insert(grown);
  }
  void erase(std::string_view key) override {
    last_ = nullptr;
    auto it = nodes_.find(key);
    if (it == nodes_.end()) return;
    node* n = *it;
    nodes_.erase(it);
    node::destroy(n);
  }
  void for_each_from(std::string_view prefix, std::string_view from, const visitor& fn) override {
    // Rare (restores, inspection): collect and sort rather than keep the set ordered.
    std::vector<const node*> hits;
    for (const node* n : nodes_)
      if (n->key().starts_with(prefix) && n->key() >= from && n->expires >= now_) hits.push_back(n);
    std::sort(hits.begin(), hits.end(), [](const node* a, const node* b) { return a->key() < b->key(); });
    for (const node* n : hits) fn(n->key(), n->value());
  }
  void set_now(timestamp_ns watermark) override {
    last_ = nullptr;
    now_ = watermark;
    // Drop expired values now and then, as compaction does on disk; a sweep only
    // after as many calls as there are values keeps the cost per call constant.
    if (++sets_ >= std::max<std::size_t>(4096, nodes_.size())) {
      sets_ = 0;
      absl::erase_if(nodes_, [&](node* n) {
        if (n->expires >= now_) return false;
        node::destroy(n);
        return true;
      });
    }
  }
  std::size_t size() const { return nodes_.size(); }

 private:
  // One block per entry: this header, the key's bytes, then room for the value.
  // A lookup that finds its key has the value in the next cache lines; with the
  // key and the value in strings of their own it missed the cache three times
  // (slot, key, value), and state access was a fifth of a pack replay.
  struct node {
    std::uint64_t hash;  // of the key, kept so the table can grow without rereading keys
    timestamp_ns expires;
    std::uint32_t key_size, value_size, capacity;

    std::string_view key() const { return {bytes(), key_size}; }
    std::string_view value() const { return {bytes() + key_size, value_size}; }
    void set_value(std::string_view v) {
      std::memmove(bytes() + key_size, v.data(), v.size());  // v may be this value
      value_size = static_cast<std::uint32_t>(v.size());
    }
    static node* make(std::string_view key, std::size_t capacity) {
      void* raw = ::operator new(sizeof(node) + key.size() + capacity);
      node* n = new (raw) node{hash_of(key), 0, static_cast<std::uint32_t>(key.size()), 0,
                               static_cast<std::uint32_t>(capacity)};
      std::memcpy(n->bytes(), key.data(), key.size());
      return n;
    }
    static void destroy(node* n) { ::operator delete(n); }

   private:
    char* bytes() const { return reinterpret_cast<char*>(const_cast<node*>(this) + 1); }
  };
  static std::uint64_t hash_of(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }
  struct node_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const { return hash_of(key); }
    std::size_t operator()(const node* n) const { return n->hash; }
  };
  struct node_eq {
    using is_transparent = void;
    static std::string_view key(std::string_view k) { return k; }
    static std::string_view key(const node* n) { return n->key(); }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return key(a) == key(b);
    }
  };

  absl::flat_hash_set<node*, node_hash, node_eq> nodes_;
  node* last_ = nullptr;  // what the last get() found
  timestamp_ns now_ = INT64_MIN;
  std::size_t sets_ = 0;
};

}  // namespace sentrail::correlate
