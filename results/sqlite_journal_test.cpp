#include "results/sqlite_journal.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/statfs.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "results/index.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

struct MagicCase {
  uint64_t f_type;
  std::string name;  // "" = local
};

TEST(SqliteJournalTest, SharedFilesystemNameKnowsNetworkAndClusterMagics) {
  const std::vector<MagicCase> cases = {
      {0x6969, "NFS"},
      {0x0BD00BD0, "Lustre"},
      {0x47504653, "GPFS"},
      {0x19830326, "BeeGFS"},
      {0x00C36400, "CephFS"},
      {0xFF534D42, "CIFS"},
      {0xFE534D42, "SMB2"},
      {0x517B, "SMB"},
      {0xAAD7AAEA, "PanFS"},
      {0x20030528, "OrangeFS"},
      {0x01161970, "GFS2"},
      {0x7461636F, "OCFS2"},
      {0x5346414F, "AFS"},
      {0x6B414653, "kAFS"},
      {0x73757245, "Coda"},
      {0x564C, "NCP"},
      {0x01021997, "9P"},
      {0x65735546, "FUSE"},
      // 32-bit f_type sign-extended into 64 bits.
      {0xFFFFFFFFFF534D42ull, "CIFS"},
      // Local filesystems.
      {0xEF53, ""},      // ext2/3/4
      {0x58465342, ""},  // XFS
      {0x9123683E, ""},  // Btrfs
      {0x01021994, ""},  // tmpfs
      {0x794C7630, ""},  // overlayfs
      {0x2FC12FC1, ""},  // ZFS
      {0x9FA0, ""},      // procfs
      {0, ""},
  };
  for (const MagicCase& c : cases) {
    EXPECT_EQ(SharedFilesystemName(c.f_type), c.name) << std::hex << c.f_type;
  }
}

TEST(SqliteJournalTest, ParseJournalSettingAcceptsAutoWalDeleteOnly) {
  EXPECT_EQ(ParseJournalSetting(""), JournalSetting::kAuto);
  EXPECT_EQ(ParseJournalSetting("auto"), JournalSetting::kAuto);
  EXPECT_EQ(ParseJournalSetting("wal"), JournalSetting::kWal);
  EXPECT_EQ(ParseJournalSetting("delete"), JournalSetting::kDelete);
  for (const std::string bad : {"WAL", "truncate", "off", " wal"}) {
    try {
      ParseJournalSetting(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ResultsError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("EFFROBUST_SQLITE_JOURNAL"), std::string::npos) << what;
      EXPECT_NE(what.find("auto, wal, delete"), std::string::npos) << what;
    }
  }
}

TEST(SqliteJournalTest, ExplicitSettingWinsAndSaysSo) {
  TempDir dir("journal");
  const JournalChoice wal = ChooseJournalMode(dir.path(), JournalSetting::kWal);
  EXPECT_EQ(wal.mode, JournalMode::kWal);
  EXPECT_EQ(wal.reason, "EFFROBUST_SQLITE_JOURNAL=wal");
  const JournalChoice del = ChooseJournalMode(dir.path(), JournalSetting::kDelete);
  EXPECT_EQ(del.mode, JournalMode::kDelete);
  EXPECT_EQ(del.reason, "EFFROBUST_SQLITE_JOURNAL=delete");
  EXPECT_EQ(JournalModeName(JournalMode::kWal), "wal");
  EXPECT_EQ(JournalModeName(JournalMode::kDelete), "delete");
}

TEST(SqliteJournalTest, AutoOnTheRealLocalFilesystemIsWal) {
  TempDir dir("journal");
  for (const std::string& path : {dir.path(), std::string("/dev/shm"), std::string("/proc")}) {
    struct statfs st;
    if (::statfs(path.c_str(), &st) != 0) continue;
    if (!SharedFilesystemName(static_cast<uint64_t>(st.f_type)).empty()) {
      GTEST_SKIP() << path << " is on a shared filesystem on this machine";
    }
    const JournalChoice c = ChooseJournalMode(path, JournalSetting::kAuto);
    EXPECT_EQ(c.mode, JournalMode::kWal) << path;
    EXPECT_NE(c.reason.find("local filesystem"), std::string::npos) << c.reason;
    EXPECT_NE(c.reason.find("f_type 0x"), std::string::npos) << c.reason;
  }
}

TEST(SqliteJournalTest, AutoWhenStatfsFailsFallsBackToWalAndSaysWhy) {
  const JournalChoice c = ChooseJournalMode("/no/such/dir", JournalSetting::kAuto);
  EXPECT_EQ(c.mode, JournalMode::kWal);
  EXPECT_NE(c.reason.find("cannot statfs '/no/such/dir'"), std::string::npos) << c.reason;
}

// The index follows the setting: rollback journal when forced, WAL otherwise,
// and the environment variable reaches OpenSqliteIndex(path).
TEST(SqliteJournalTest, IndexUsesTheChosenJournalMode) {
  TempDir dir("journal");
  const std::string path = dir.File("index.sqlite");
  OpenSqliteIndex(path, JournalSetting::kDelete);
  EXPECT_EQ(RunQuery(path, "PRAGMA journal_mode").rows[0][0], "delete");
  OpenSqliteIndex(path, JournalSetting::kWal);
  EXPECT_EQ(RunQuery(path, "PRAGMA journal_mode").rows[0][0], "wal");

  const char* saved = std::getenv(kJournalEnvironmentVariable);
  const std::string old = saved != nullptr ? saved : "";
  ::setenv(kJournalEnvironmentVariable, "delete", 1);
  OpenSqliteIndex(path);
  EXPECT_EQ(RunQuery(path, "PRAGMA journal_mode").rows[0][0], "delete");
  ::setenv(kJournalEnvironmentVariable, "bogus", 1);
  EXPECT_THROW(OpenSqliteIndex(path), ResultsError);
  if (saved != nullptr) {
    ::setenv(kJournalEnvironmentVariable, old.c_str(), 1);
  } else {
    ::unsetenv(kJournalEnvironmentVariable);
  }
}

}  // namespace
}  // namespace effrobust
