// MpiTransport under the real mpirun: a send must not wait for the
// receiving rank (a frozen worker must not freeze rank 0).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "tests/support/process.h"

namespace effrobust {
namespace {

namespace fs = std::filesystem;
using test::Mpirun;
using test::Shell;
using test::Slurp;

TEST(MpiTransportTest, SendReturnsWhileTheReceivingRankMakesNoProgress) {
  char tmpl[] = "/tmp/effrobust-mpi-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string log = dir + "/probe.log";
  const int rc = Shell(Mpirun(2) + MPI_SEND_PROBE + " " + dir, log);
  EXPECT_EQ(rc, 0) << Slurp(log);
  EXPECT_FALSE(fs::exists(dir + "/gave_up")) << Slurp(log);
  EXPECT_NE(Slurp(log).find("echo: 2:2000:same 3:1048576:same"), std::string::npos) << Slurp(log);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace effrobust
