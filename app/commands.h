#pragma once
// Each subcommand of the `sentrail` binary registers itself on the CLI11 app and
// returns the exit code through `exit_code` once parsing has succeeded.

#include <CLI/CLI.hpp>

namespace sentrail::app {

/// Shared between main() and the subcommands: the code the chosen command returned.
struct command_result {
  int exit_code = 0;
};

void add_broker_command(CLI::App& app, command_result& out);
void add_run_command(CLI::App& app, command_result& out);
void add_replay_command(CLI::App& app, command_result& out);
void add_gen_command(CLI::App& app, command_result& out);
void add_rules_command(CLI::App& app, command_result& out);
void add_eval_command(CLI::App& app, command_result& out);
void add_state_command(CLI::App& app, command_result& out);
void add_sinks_command(CLI::App& app, command_result& out);
void add_token_command(CLI::App& app, command_result& out);

}  // namespace sentrail::app
