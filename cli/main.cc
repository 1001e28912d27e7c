// The `pare` command: a thin front over pare's libraries. Each subcommand
// lives in its own *_command.cc; errors become one line on stderr and an exit
// code from exit_codes.h.
#include <csignal>
#include <exception>
#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"

#ifndef PARE_VERSION
#define PARE_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace pare::cli;
  // A write past a file-size limit (ulimit -f) then fails with EFBIG, which
  // is reported and cleaned up like a full disk, instead of killing pare
  // with a half-written temporary file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{
      "pare: compress ONNX models (prune, quantize), measure what it costs, and make "
      "them fit a device's memory."};
  app.set_version_flag("--version", std::string("pare ") + PARE_VERSION);
  app.require_subcommand(1);
  std::function<int()> run;
  RegisterInspect(app, run);
  RegisterRun(app, run);
  RegisterEvaluate(app, run);
  RegisterQuantize(app, run);
  RegisterPrune(app, run);
  RegisterConvert(app, run);
  RegisterFit(app, run);
  RegisterSweep(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "pare: error: " << e.what() << " (see pare --help)\n";
    return kExitUsage;
  }
  try {
    return run ? run() : kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "pare: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
