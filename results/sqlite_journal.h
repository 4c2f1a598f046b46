// Which SQLite journal mode the index uses, chosen from the filesystem that
// holds it. WAL needs the shared-memory wal-index (the "-shm" file mapped by
// every connection), which network and cluster filesystems (NFS, Lustre,
// GPFS, CIFS/SMB, BeeGFS, CephFS, ...) do not provide coherently across
// nodes; there the index uses a rollback journal (journal_mode=DELETE) with
// the single writer (rank 0) and busy timeouts on every connection.
//
// The environment variable EFFROBUST_SQLITE_JOURNAL overrides the choice:
// "auto" (Default, also when unset or empty), "wal" or "delete".
//
// Pure functions plus one statfs(2) call; thread-safe. No third-party headers.
#ifndef EFFROBUST_RESULTS_SQLITE_JOURNAL_H_
#define EFFROBUST_RESULTS_SQLITE_JOURNAL_H_

#include <cstdint>
#include <string>

namespace effrobust {

// Name of the override variable.
constexpr char kJournalEnvironmentVariable[] = "EFFROBUST_SQLITE_JOURNAL";

enum class JournalSetting { kAuto, kWal, kDelete };

enum class JournalMode { kWal, kDelete };

struct JournalChoice {
  JournalMode mode = JournalMode::kWal;
  std::string reason;  // one line for the log: why this mode
};

// "wal" or "delete": the value given to PRAGMA journal_mode.
std::string JournalModeName(JournalMode mode);

// Parses an EFFROBUST_SQLITE_JOURNAL value ("" means auto; case-sensitive).
// Throws ResultsError naming the variable and the allowed values otherwise.
JournalSetting ParseJournalSetting(const std::string& value);

// The setting from the environment (kAuto when the variable is unset).
// Throws ResultsError on an invalid value.
JournalSetting JournalSettingFromEnvironment();

// The network or cluster filesystem whose statfs(2) f_type magic number is
// `f_type` ("NFS", "Lustre", "GPFS", ...), or "" for any other (local)
// filesystem. Only the low 32 bits are compared, so sign-extended values
// from a 32-bit f_type match too.
std::string SharedFilesystemName(uint64_t f_type);

// What to tell a reader that cannot read the index at `index_path` because a
// hot rollback journal ("<index_path>-journal", left by a writer killed in
// the middle of a commit) must be rolled back first, which only a writer can
// do (SQLITE_READONLY_ROLLBACK).
std::string HotJournalHint(const std::string& index_path);

// Chooses the journal mode for an index in `directory`: the setting if it
// is kWal or kDelete; for kAuto, statfs(directory) and kDelete on a shared
// filesystem, kWal otherwise (also when statfs fails: the reason says so).
JournalChoice ChooseJournalMode(const std::string& directory, JournalSetting setting);

}  // namespace effrobust

#endif  // EFFROBUST_RESULTS_SQLITE_JOURNAL_H_
