// `effrobust index rebuild`: writes a fresh index from the run's shards
// (orchestrator/rebuild.h) and says what it found and how to swap it in.
#include <cstdio>
#include <string>
#include <vector>

#include "common/error.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/experiment.h"
#include "orchestrator/rebuild.h"

namespace effrobust {

const char kIndexHelp[] =
    "usage: effrobust index rebuild RUN_DIR [--out PATH]\n"
    "  Rebuilds the SQLite index from the run's HDF5 shards alone: the unit records in\n"
    "  RUN_DIR/shards/*.h5 (files still named *.h5.tmp were never closed by their writer; they\n"
    "  are reported and ignored). Writes RUN_DIR/index.sqlite when it does not exist, else the\n"
    "  new file PATH: nothing is ever overwritten or deleted (exit 2 if the target exists).\n"
    "  Swapping a rebuilt index in: see docs/operations.md.\n"
    "  --out PATH        the index to write (must not exist)\n";

namespace {

std::string Usage() { return std::string("\n") + kIndexHelp; }

int Rebuild(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--out") {
      if (i + 1 >= args.size()) throw SpecError("option --out of 'index rebuild' needs a value");
      out = args[++i];
    } else if (args[i].rfind("--", 0) == 0) {
      throw SpecError("unknown option '" + args[i] + "' for 'index rebuild'" + Usage());
    } else {
      positional.push_back(args[i]);
    }
  }
  if (positional.size() != 1) {
    throw SpecError("'index rebuild' takes 1 argument (RUN_DIR), got " +
                    std::to_string(positional.size()) + Usage());
  }
  const std::string run_dir = positional[0];
  const RebuildReport r = RebuildIndex(run_dir, out);
  for (const std::string& tmp : r.incomplete) {
    std::printf("incomplete shard ignored: %s (its writer never closed it; its units run again)\n",
                tmp.c_str());
  }
  for (const std::string& w : r.warnings) std::printf("warning: %s\n", w.c_str());
  std::printf(
      "rebuilt index %s from %zu shard(s): %zu unit(s) from %zu record(s) (%zu duplicate "
      "record(s) of units run again), %zu run(s), %zu model(s)\n",
      r.index_path.c_str(), r.shards, r.units, r.records, r.duplicates, r.runs.size(),
      r.models.size());
  const std::string live = IndexPath(run_dir);
  if (r.index_path != live) {
    std::printf(
        "to use it: stop every `effrobust run` on %s, then\n"
        "  mv %s %s.old && mv %s %s\n"
        "(see docs/operations.md, \"Rebuilding the index\")\n",
        run_dir.c_str(), live.c_str(), live.c_str(), r.index_path.c_str(), live.c_str());
  }
  return 0;
}

}  // namespace

int IndexCommand(int argc, char** argv) {
  std::vector<std::string> args(argv + 2, argv + argc);
  if (args.empty()) throw SpecError("'index' needs a subcommand (rebuild)" + Usage());
  const std::string sub = args.front();
  args.erase(args.begin());
  if (sub == "rebuild") return Rebuild(args);
  throw SpecError("unknown 'index' subcommand '" + sub + "' (allowed: rebuild)" + Usage());
}

}  // namespace effrobust
