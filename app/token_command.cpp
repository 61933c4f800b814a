// `sentrail token new`: a fresh bearer token for the triage API, shown once,
// and the tokens-file line holding only its hash.

#include <cctype>
#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "triage/auth.h"

namespace sentrail::app {

void add_token_command(CLI::App& app, command_result& out) {
  CLI::App* token = app.add_subcommand("token", "Bearer tokens for the triage API");
  token->require_subcommand(1);
  struct flags {
    std::string name, role;
  };
  auto f = std::make_shared<flags>();
  CLI::App* make = token->add_subcommand(
      "new",
      "Print a fresh random token (shown once: keep it) and the line to add to the API's\n"
      "tokens file, which holds only the token's SHA-256 (docs/triage-api.md).");
  make->add_option("--name", f->name, "Who the token is for (shown in the audit log)")->required();
  make->add_option("--role", f->role, "viewer, analyst, engineer or admin")
      ->required()
      ->check(CLI::IsMember({"viewer", "analyst", "engineer", "admin"}));
  make->callback([f, &out] {
    for (char c : f->name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '@' && c != '-') {
        std::fprintf(stderr, "sentrail token new: --name may hold only A-Z a-z 0-9 . _ @ -\n");
        out.exit_code = 2;
        return;
      }
    }
    auto t = triage::new_token();
    if (!t) {
      std::fprintf(stderr, "sentrail token new: %s\n", t.message().c_str());
      out.exit_code = 1;
      return;
    }
    std::fprintf(stdout, "token: %s\n", t->c_str());
    std::fprintf(stdout, "  - {name: %s, role: %s, sha256: %s}\n", f->name.c_str(), f->role.c_str(),
                 triage::sha256_hex(*t).c_str());
    std::fprintf(stderr,
                 "sentrail token new: add the second line under `tokens:` in the tokens file; the token is not "
                 "stored anywhere, so keep it now\n");
  });
}

}  // namespace sentrail::app
