#include "ingest/access_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

using namespace sentrail;
using namespace sentrail::ingest;

TEST(access_log, splits_a_combined_line) {
  access_log_line l;
  std::string_view why;
  ASSERT_TRUE(parse_access_log(
      R"(83.149.9.216 - bob [17/May/2015:10:05:03 +0000] "GET /a/b.png?x=1 HTTP/1.1" 200 203023 "http://ref/" "Mozilla/5.0 \"quoted\"")",
      l, why)) << why;
  EXPECT_EQ(l.client_ip, "83.149.9.216");
  EXPECT_EQ(l.user, "bob");
  EXPECT_EQ(l.method, "GET");
  EXPECT_EQ(l.path, "/a/b.png");
  EXPECT_EQ(l.query, "x=1");
  EXPECT_EQ(l.status, "200");
  EXPECT_EQ(l.user_agent, R"(Mozilla/5.0 \"quoted\")");
}

TEST(access_log, refuses_a_line_that_is_not_a_log_line) {
  access_log_line l;
  std::string_view why;
  EXPECT_FALSE(parse_access_log("hello world", l, why));
  EXPECT_FALSE(why.empty());
}

TEST(access_log, web_channel_decodes_log_lines_to_the_event_model) {
  ingest::testing::fixture f;
  auto r = f.decode("web", R"(10.0.0.1 - - [17/May/2015:10:05:03 +0000] "POST /login HTTP/1.1" 401 12 "-" "curl/8.0")");
  ASSERT_FALSE(r) << r->detail;
  EXPECT_EQ(format_rfc3339(f.e.time), "2015-05-17T10:05:03.000Z");
  EXPECT_EQ(f.text("source.ip"), "10.0.0.1");
  EXPECT_EQ(f.text("http.request.method"), "POST");
  EXPECT_EQ(f.text("url.path"), "/login");
  EXPECT_EQ(f.e.get("http.response.status_code")->number, 401);
  EXPECT_EQ(f.text("event.action"), "http_request");
  EXPECT_EQ(f.e.get("http.request.referrer"), nullptr);
}

TEST(access_log, the_real_public_apache_log_decodes_without_a_dead_letter) {
  std::filesystem::path file = SENTRAIL_SHARED_DIR "/data/apache-access/apache_logs";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is absent (no ../shared beside this clone)";
  ingest::testing::fixture f;
  std::ifstream in(file);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto r = f.decode("web", line);
    ASSERT_FALSE(r) << "line " << lines << ": " << reason_name(r->reason) << ": " << r->detail << "\n" << line;
    ASSERT_NE(f.e.get("source.ip"), nullptr) << line;
  }
  EXPECT_EQ(lines, 10000);
}

TEST(access_log, the_copied_apache_sample_decodes_without_a_dead_letter) {
  std::ifstream in(SENTRAIL_SOURCE_DIR "/tests/data/apache_access_sample.log");
  ASSERT_TRUE(in) << "tests/data/apache_access_sample.log is missing";
  ingest::testing::fixture f;
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto r = f.decode("web", line);
    ASSERT_FALSE(r) << "line " << lines << ": " << r->detail;
    EXPECT_GT(f.e.time, 0);
  }
  EXPECT_EQ(lines, 200);
}
