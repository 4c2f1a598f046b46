// `effrobust train --adversarial` end to end with the real binary: bad
// adversarial-training options exit 2 with one line naming the option, its
// value and what is allowed, before any data is read. (A tiny run through
// the binary spends about 45 s on one core evaluating on the 10 000 test
// images, so the metadata is tested in models/adversarial_training_test.)
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

std::string Bin() { return EFFROBUST_BINARY; }

// Runs `effrobust train ARGS`; returns the exit status and the combined output.
int Train(const TempDir& dir, const std::string& args, std::string* output) {
  const std::string log = dir.File("log");
  const int rc = test::Shell(Bin() + " train " + args, log);
  *output = test::Slurp(log);
  return rc;
}

TEST(TrainAdversarialCliTest, BadOptionsExitTwoWithOneLineNamingThem) {
  TempDir dir("train_at_cli");
  const std::string out = " --out " + dir.File("never.pt");
  struct Case {
    std::string args;
    std::vector<std::string> named;
  };
  for (const Case& c : std::vector<Case>{
           {"--arch skip_net --adversarial pgd",
            {"--adversarial", "'skip_net'", "allowed: multi_exit_cnn, captioner, detector"}},
           {"--arch translator --adversarial efficiency", {"'translator'", "allowed"}},
           {"--adversarial fgsm", {"'fgsm'", "allowed: pgd, efficiency"}},
           {"--adversarial pgd --epsilon 2", {"--epsilon", "'2'", "0 < epsilon <= 1"}},
           {"--adversarial pgd --epsilon 0", {"--epsilon", "'0'", "0 < epsilon <= 1"}},
           {"--adversarial pgd --epsilon abc", {"--epsilon", "'abc'"}},
           {"--adversarial pgd --at-steps 0", {"--at-steps", ">= 1"}},
           {"--adversarial pgd --at-mix 0", {"--at-mix", "0 < mix <= 1"}},
           {"--epsilon 0.03", {"--epsilon", "with --adversarial only"}}}) {
    std::string output;
    EXPECT_EQ(Train(dir, c.args + out, &output), 2) << c.args << "\n" << output;
    EXPECT_EQ(output.rfind("effrobust: ", 0), 0u) << output;
    EXPECT_EQ(output.find('\n'), output.size() - 1) << "not one line: " << output;
    for (const std::string& f : c.named) {
      EXPECT_NE(output.find(f), std::string::npos) << c.args << ": no '" << f << "' in " << output;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir.File("never.pt")));
}

}  // namespace
}  // namespace effrobust
