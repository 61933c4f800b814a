#include "triage/auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace sentrail::triage;

namespace {
std::string write_file(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}
}  // namespace

TEST(auth, sha256_hex_matches_the_standard_test_vector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(auth, roles_are_ordered_so_a_higher_role_may_do_what_a_lower_one_may) {
  EXPECT_TRUE(at_least(role::admin, role::viewer));
  EXPECT_TRUE(at_least(role::engineer, role::analyst));
  EXPECT_TRUE(at_least(role::analyst, role::analyst));
  EXPECT_FALSE(at_least(role::analyst, role::engineer));
  EXPECT_FALSE(at_least(role::viewer, role::analyst));
  EXPECT_FALSE(at_least(role::engineer, role::admin));
  for (auto r : {role::viewer, role::analyst, role::engineer, role::admin}) EXPECT_EQ(parse_role(role_name(r)), r);
  EXPECT_FALSE(parse_role("root"));
  EXPECT_FALSE(parse_role("Admin"));
}

TEST(auth, a_token_is_recognised_by_its_hash_and_nothing_else_is) {
  auto book = token_book::of({{"alice", role::analyst, sha256_hex("token-a")},
                              {"root", role::admin, sha256_hex("token-r")}});
  ASSERT_TRUE(book) << book.message();
  auto alice = book->authenticate("token-a");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->level, role::analyst);
  EXPECT_EQ(book->authenticate("token-r")->level, role::admin);
  EXPECT_FALSE(book->authenticate("token-b"));
  EXPECT_FALSE(book->authenticate(""));
  // The hash itself is not a token.
  EXPECT_FALSE(book->authenticate(sha256_hex("token-a")));
}

TEST(auth, bearer_header_parsing_takes_only_the_bearer_scheme) {
  EXPECT_EQ(token_book::bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(token_book::bearer_token("bearer  abc "), "abc");
  EXPECT_FALSE(token_book::bearer_token("Basic YWxpY2U6eA=="));
  EXPECT_FALSE(token_book::bearer_token("Bearer "));
  EXPECT_FALSE(token_book::bearer_token(""));
  EXPECT_FALSE(token_book::bearer_token("abc"));
}

TEST(auth, new_tokens_are_random_and_long) {
  auto a = new_token(), b = new_token();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->size(), 3u + 43u);
  EXPECT_EQ(a->rfind("st_", 0), 0u);
}

TEST(auth, tokens_file_loads_and_its_mistakes_are_named_with_their_line) {
  auto good = write_file("tokens-good", "tokens:\n  - {name: alice, role: analyst, sha256: " + sha256_hex("t1") +
                                            "}\n  - name: bob\n    role: viewer\n    sha256: " + sha256_hex("t2") + "\n");
  auto book = token_book::load(good);
  ASSERT_TRUE(book) << book.message();
  EXPECT_EQ(book->size(), 2u);
  EXPECT_EQ(book->authenticate("t2")->name, "bob");

  auto bad_role = write_file("tokens-role", "tokens:\n  - {name: a, role: root, sha256: " + sha256_hex("x") + "}\n");
  auto r = token_book::load(bad_role);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find(":2:"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("role must be"), std::string::npos);

  auto plain = write_file("tokens-plain", "tokens:\n  - {name: a, role: admin, sha256: my-secret-token}\n");
  auto p = token_book::load(plain);
  ASSERT_FALSE(p);
  EXPECT_NE(p.message().find("64 hex digits"), std::string::npos) << p.message();

  auto twice = write_file("tokens-twice", "tokens:\n  - {name: a, role: admin, sha256: " + sha256_hex("x") +
                                              "}\n  - {name: a, role: viewer, sha256: " + sha256_hex("y") + "}\n");
  EXPECT_FALSE(token_book::load(twice));
  auto same = write_file("tokens-same", "tokens:\n  - {name: a, role: viewer, sha256: " + sha256_hex("x") +
                                            "}\n  - {name: b, role: admin, sha256: " + sha256_hex("x") + "}\n");
  auto shared = token_book::load(same);
  ASSERT_FALSE(shared);
  EXPECT_NE(shared.message().find("same hash"), std::string::npos) << shared.message();
  auto unknown = write_file("tokens-key", "tokens:\n  - {name: a, role: admin, token: abc}\n");
  EXPECT_FALSE(token_book::load(unknown));
  EXPECT_FALSE(token_book::load("/nonexistent/tokens.yaml"));
  for (const auto& f : {good, bad_role, plain, twice, same, unknown}) std::filesystem::remove(f);
}
