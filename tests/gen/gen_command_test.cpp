// Drives the real `sentrail gen` binary: files, formats and exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

int run(const std::string& args) {
  const std::string bin = SENTRAIL_BIN;
  const int rc = std::system((bin + " gen " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::size_t lines(const fs::path& p) {
  std::ifstream in(p);
  std::size_t n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

class gen_command : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(SENTRAIL_BIN).empty()) GTEST_SKIP() << "no sentrail binary in this build";
    dir_ = fs::temp_directory_path() / ("sentrail-gen-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(gen_command, writes_one_file_per_channel_and_the_truth) {
  ASSERT_EQ(run("--count 5000 --attack-rate 20 --out " + dir_.string()), 0);
  std::size_t total = 0;
  for (const char* c : {"web", "mobile", "pos", "supplier", "badge"}) {
    ASSERT_TRUE(fs::exists(dir_ / (std::string(c) + ".jsonl"))) << c;
    total += lines(dir_ / (std::string(c) + ".jsonl"));
  }
  EXPECT_EQ(total, 5000u);
  EXPECT_GT(lines(dir_ / "truth.jsonl"), 0u);
}

TEST_F(gen_command, single_format_adds_the_channel_to_every_line) {
  ASSERT_EQ(run("--count 2000 --format single --out " + dir_.string() + " --truth " +
                (dir_ / "t.jsonl").string()),
            0);
  std::ifstream in(dir_ / "events.jsonl");
  std::size_t n = 0;
  for (std::string l; std::getline(in, l); ++n) ASSERT_EQ(l.rfind("{\"channel\":\"", 0), 0u) << l;
  EXPECT_EQ(n, 2000u);
  EXPECT_TRUE(fs::exists(dir_ / "t.jsonl"));
}

TEST_F(gen_command, the_same_seed_writes_the_same_files) {
  ASSERT_EQ(run("--count 3000 --seed 9 --out " + (dir_ / "a").string()), 0);
  ASSERT_EQ(run("--count 3000 --seed 9 --out " + (dir_ / "b").string()), 0);
  std::ifstream a(dir_ / "a" / "web.jsonl"), b(dir_ / "b" / "web.jsonl");
  std::string sa((std::istreambuf_iterator<char>(a)), {}),
      sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_FALSE(sa.empty());
  EXPECT_EQ(sa, sb);
}

TEST_F(gen_command, bad_flags_and_unwritable_output_exit_with_code_two) {
  const auto out = " --out " + dir_.string();
  EXPECT_EQ(run("--count abc" + out), 2);
  EXPECT_EQ(run("--attack-rate -1" + out), 2);
  EXPECT_EQ(run("--bad-rate 2" + out), 2);
  EXPECT_EQ(run("--format xml" + out), 2);
  EXPECT_EQ(run("--start yesterday" + out), 2);
  EXPECT_EQ(run("--scenarios nope" + out), 2);
  EXPECT_EQ(run("--no-such-flag" + out), 2);
  EXPECT_EQ(run("--count 10"), 2);  // no destination
  EXPECT_EQ(run("--count 10 --brokers 127.0.0.1:1" + out), 2);
  EXPECT_EQ(run("--count 10 --out /proc/sentrail-cannot-write"), 2);
}

}  // namespace
