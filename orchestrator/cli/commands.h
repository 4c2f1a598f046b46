// Subcommands of the `effrobust` binary that live outside main.cpp. Each
// returns the exit code; bad input throws SpecError (main() prints it and
// exits 2), other failures throw effrobust errors (exit 1). main() prints
// the help texts for `effrobust COMMAND --help`.
#ifndef EFFROBUST_ORCHESTRATOR_CLI_COMMANDS_H_
#define EFFROBUST_ORCHESTRATOR_CLI_COMMANDS_H_

#include <string>
#include <vector>

namespace effrobust {

// `effrobust index rebuild RUN_DIR [--out PATH]` (orchestrator/cli/index_command.cpp);
// takes main's argc/argv (argv[1] is "index").
extern const char kIndexHelp[];
int IndexCommand(int argc, char** argv);

// `effrobust submit FILE --nodes N --gpus-per-node G --time T [...]`: loads
// the experiment, writes RUN_DIR/slurm/job-YYYYmmdd-HHMMSS.sbatch (never
// overwriting a file), prints it and, unless --dry-run, submits it with
// `sbatch --parsable` and prints the job id as the last line. Options:
// orchestrator/submit.h. Throws OrchestratorError when sbatch fails. Takes
// the arguments after the command word.
int SubmitCommand(const std::vector<std::string>& args);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_CLI_COMMANDS_H_
