// Subcommands of the effrobust CLI implemented outside main.cpp. Each takes
// main's argc/argv (argv[1] is the command's name), returns the exit code
// (0 ok, 1 failure) and throws SpecError on bad input (main exits with 2).
// Each has a help text that main prints for `effrobust COMMAND --help`.
#ifndef EFFROBUST_ORCHESTRATOR_CLI_COMMANDS_H_
#define EFFROBUST_ORCHESTRATOR_CLI_COMMANDS_H_

namespace effrobust {

// `effrobust index rebuild RUN_DIR [--out PATH]` (orchestrator/cli/index_command.cpp).
extern const char kIndexHelp[];
int IndexCommand(int argc, char** argv);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_CLI_COMMANDS_H_
