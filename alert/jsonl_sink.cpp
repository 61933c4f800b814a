// The JSON-lines file sink, and the factory over every sink type.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "alert/sink.h"

namespace sentrail::alert {
namespace {

class jsonl_sink : public sink {
 public:
  explicit jsonl_sink(std::string path) : path_(std::move(path)) {}

  std::string payload(const correlate::alert&, std::string_view json) const override {
    return std::string(json) + "\n";
  }

  // Opened per delivery so that a rotated file (moved away) is recreated. The
  // lines are durable before the queue forgets them; a crash between the fsync
  // and that write repeats them, and readers dedupe by alert id.
  delivery_result deliver(const std::vector<std::string_view>& payloads) override {
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return delivery_result::retry(fmt::format("open {}: {}", path_, std::strerror(errno)));
    // A failed write is cut back off, so a retry never leaves half a line.
    off_t start = ::lseek(fd, 0, SEEK_END);
    std::string all;
    for (auto p : payloads) all += p;
    std::string_view rest = all;
    while (!rest.empty()) {
      ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        auto why = fmt::format("write {}: {}", path_, std::strerror(errno));
        if (start >= 0 && ::ftruncate(fd, start) != 0) why += " (and the partial line could not be cut off)";
        ::close(fd);
        return delivery_result::retry(why);
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd) != 0) {
      auto why = fmt::format("fsync {}: {}", path_, std::strerror(errno));
      ::close(fd);
      return delivery_result::retry(why);
    }
    ::close(fd);
    return delivery_result::ok();
  }
  std::size_t max_batch() const override { return 256; }

 private:
  std::string path_;
};

}  // namespace

result<std::unique_ptr<sink>> make_jsonl_sink(const sink_config& c) {
  if (c.path.empty()) return error{fmt::format("sink {}: a jsonl sink needs a path", c.name)};
  return std::unique_ptr<sink>(new jsonl_sink(c.path));
}

result<std::unique_ptr<sink>> make_sink(const sink_config& c) {
  switch (c.type) {
    case sink_type::webhook: return make_webhook_sink(c);
    case sink_type::alertmanager: return make_alertmanager_sink(c);
    case sink_type::jsonl: return make_jsonl_sink(c);
  }
  return error{fmt::format("sink {}: unknown type", c.name)};
}

}  // namespace sentrail::alert
