// The `pare` subcommands. Each registers its flags on the CLI11 app, turns
// them into an options struct, and calls library code; none holds logic a
// library should own.
#ifndef PARE_CLI_COMMANDS_H_
#define PARE_CLI_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace pare::cli {

// Registers a subcommand; `run` is set to the function main calls when that
// subcommand was chosen. It returns the process exit code.
void RegisterInspect(CLI::App& app, std::function<int()>& run);
void RegisterRun(CLI::App& app, std::function<int()>& run);
void RegisterEvaluate(CLI::App& app, std::function<int()>& run);
void RegisterQuantize(CLI::App& app, std::function<int()>& run);
void RegisterPrune(CLI::App& app, std::function<int()>& run);
void RegisterConvert(CLI::App& app, std::function<int()>& run);
void RegisterFit(CLI::App& app, std::function<int()>& run);
void RegisterSweep(CLI::App& app, std::function<int()>& run);

}  // namespace pare::cli

#endif  // PARE_CLI_COMMANDS_H_
