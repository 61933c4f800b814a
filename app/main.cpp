#include <cstdio>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Sentrail: multichannel security-event correlation for retailers.\n"
      "Reads web, mobile, POS, supplier and badge events from Kafka, minimises them,\n"
      "matches Sigma rules and emits alerts.",
      "sentrail"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sentrail 0.1.0");
  sentrail::app::command_result result;
  sentrail::app::add_broker_command(app, result);
  sentrail::app::add_run_command(app, result);
  sentrail::app::add_replay_command(app, result);
#ifndef SENTRAIL_NO_GEN_COMMAND
  sentrail::app::add_gen_command(app, result);
#endif
  sentrail::app::add_rules_command(app, result);
  sentrail::app::add_eval_command(app, result);
  sentrail::app::add_state_command(app, result);
  sentrail::app::add_sinks_command(app, result);
  sentrail::app::add_token_command(app, result);
  CLI11_PARSE(app, argc, argv);
  return result.exit_code;
}
