#include "ingest/mapping.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

using namespace sentrail::ingest;

TEST(mapping, ships_the_five_reference_channels) {
  auto catalog = default_catalog();
  ASSERT_TRUE(catalog) << catalog.message();
  for (const char* name : {"web", "mobile", "pos", "supplier", "badge"}) {
    const channel_mapping* c = catalog->by_name(name);
    ASSERT_NE(c, nullptr) << name;
    EXPECT_EQ(c->topic, std::string("retail.") + name);
    EXPECT_EQ(catalog->by_topic(c->topic), c);
  }
}

TEST(mapping, names_file_line_and_cause_of_a_bad_mapping) {
  auto m = parse_mapping("channel: kiosk\nfields:\n  ts: \"@timestamp\"\n  amount: {to: retail.amount, type: money}\n",
                         "kiosk.yaml");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.message().rfind("kiosk.yaml:4:", 0), 0u) << m.message();
  EXPECT_NE(m.message().find("unknown type 'money'"), std::string::npos) << m.message();

  auto unknown = parse_mapping("channel: kiosk\ntopics: x\n", "k.yaml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.message().find("k.yaml:2:1: unknown key 'topics'"), std::string::npos) << unknown.message();

  auto broken = parse_mapping("channel: [kiosk\n", "b.yaml");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.message().rfind("b.yaml:", 0), 0u) << broken.message();
}

TEST(mapping, a_sixth_channel_needs_only_a_mapping_file) {
  auto dir = std::filesystem::temp_directory_path() / ("sentrail-mapping-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "kiosk.yaml") << "channel: kiosk\ntopic: retail.kiosk\nfields:\n  ts: \"@timestamp\"\n"
                                       "  action: event.action\n  kiosk: retail.kiosk.id\n";
  auto catalog = load_catalog(dir);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(catalog) << catalog.message();
  const channel_mapping* kiosk = catalog->by_topic("retail.kiosk");
  ASSERT_NE(kiosk, nullptr);
  EXPECT_EQ(catalog->all().size(), 6u);

  minimiser privacy(sentrail::ingest::testing::test_key);
  decoder dec(privacy);
  event e;
  ASSERT_FALSE(dec.decode(R"({"ts":"2026-11-23T10:00:00Z","action":"open","kiosk":"K1"})", *kiosk, {}, e));
  EXPECT_EQ(e.get("retail.kiosk.id")->text, "K1");
  EXPECT_EQ(e.get("event.channel")->text, "kiosk");
}
