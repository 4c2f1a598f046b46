// Journal mode choice for the SQLite index (see results/sqlite_journal.h).
#include "results/sqlite_journal.h"

#include <sys/statfs.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/error.h"

namespace effrobust {
namespace {

struct SharedFilesystem {
  uint32_t magic;
  const char* name;
};

// statfs f_type values of filesystems shared between nodes, from
// <linux/magic.h> and the filesystems' own sources (Lustre, GPFS, BeeGFS,
// PanFS, OrangeFS, GFS2 define theirs out of tree). FUSE is included because
// it mostly carries network filesystems (sshfs, GlusterFS, ceph-fuse, ...).
// clang-format off
constexpr SharedFilesystem kSharedFilesystems[] = {
    {0x00006969, "NFS"},
    {0x0BD00BD0, "Lustre"},
    {0x47504653, "GPFS"},
    {0x19830326, "BeeGFS"},
    {0x00C36400, "CephFS"},
    {0xFF534D42, "CIFS"},
    {0xFE534D42, "SMB2"},
    {0x0000517B, "SMB"},
    {0xAAD7AAEA, "PanFS"},
    {0x20030528, "OrangeFS"},
    {0x01161970, "GFS2"},
    {0x7461636F, "OCFS2"},
    {0x5346414F, "AFS"},
    {0x6B414653, "kAFS"},
    {0x73757245, "Coda"},
    {0x0000564C, "NCP"},
    {0x01021997, "9P"},
    {0x65735546, "FUSE"},
};
// clang-format on

std::string Hex(uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace

std::string JournalModeName(JournalMode mode) {
  return mode == JournalMode::kWal ? "wal" : "delete";
}

JournalSetting ParseJournalSetting(const std::string& value) {
  if (value.empty() || value == "auto") return JournalSetting::kAuto;
  if (value == "wal") return JournalSetting::kWal;
  if (value == "delete") return JournalSetting::kDelete;
  throw ResultsError(std::string(kJournalEnvironmentVariable) + " = '" + value +
                     "' is not allowed (allowed: auto, wal, delete)");
}

JournalSetting JournalSettingFromEnvironment() {
  const char* value = std::getenv(kJournalEnvironmentVariable);
  return ParseJournalSetting(value != nullptr ? value : "");
}

std::string SharedFilesystemName(uint64_t f_type) {
  const uint32_t magic = static_cast<uint32_t>(f_type);
  for (const SharedFilesystem& fs : kSharedFilesystems) {
    if (fs.magic == magic) return fs.name;
  }
  return "";
}

std::string HotJournalHint(const std::string& index_path) {
  return " ('" + index_path +
         "-journal' is left by a writer killed in the middle of a commit; keep it: the next "
         "`effrobust run` on this directory rolls the commit back, after which readers work)";
}

JournalChoice ChooseJournalMode(const std::string& directory, JournalSetting setting) {
  const std::string variable = kJournalEnvironmentVariable;
  if (setting == JournalSetting::kWal) return {JournalMode::kWal, variable + "=wal"};
  if (setting == JournalSetting::kDelete) return {JournalMode::kDelete, variable + "=delete"};
  struct statfs st;
  if (::statfs(directory.c_str(), &st) != 0) {
    return {JournalMode::kWal, "cannot statfs '" + directory + "' (" + std::strerror(errno) +
                                   "); assuming a local filesystem"};
  }
  const uint64_t f_type = static_cast<uint64_t>(st.f_type);
  const std::string name = SharedFilesystemName(f_type);
  if (!name.empty()) {
    return {JournalMode::kDelete,
            "'" + directory + "' is on " + name + " (statfs f_type " + Hex(f_type) +
                "), a shared filesystem where WAL's shared memory does not work"};
  }
  return {JournalMode::kWal,
          "'" + directory + "' is on a local filesystem (statfs f_type " + Hex(f_type) + ")"};
}

}  // namespace effrobust
