#include "orchestrator/spec.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace effrobust {
namespace {

const char* kGood = R"(name: t
seed: 7
output: /tmp/x
models:
  - {name: m, path: m.pt}
datasets:
  - {name: fashion-mnist, split: test, range: [0, 100], shard_size: 40}
attacks:
  - name: clean
  - name: deepsloth
    params: {norm: [linf], eps: [0.01, 8/255]}
measure: {latency_repeats: 0, batch_size: 50}
)";

TEST(SpecTest, ParsesEveryDocumentedSection) {
  ExperimentSpec s = ParseSpec(kGood, "good.yaml");
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.seed, 7);
  ASSERT_EQ(s.datasets.size(), 1u);
  EXPECT_EQ(s.datasets[0].begin, 0);
  EXPECT_EQ(s.datasets[0].end, 100);
  EXPECT_EQ(s.datasets[0].shard_size, 40);
  ASSERT_EQ(s.attacks.size(), 2u);
  EXPECT_EQ(s.attacks[1].params[1].second.size(), 2u);
  EXPECT_EQ(s.measure.latency_repeats, 0);
  EXPECT_EQ(s.measure.batch_size, 50);
  EXPECT_EQ(s.device, "auto");
}

struct BadSpec {
  std::string from, to;     // replace `from` in kGood by `to`
  std::string fragment;     // expected in the message
};

class SpecErrorTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(SpecErrorTest, NamesFileLineKeyValueAndAllowed) {
  std::string text = kGood;
  const auto& c = GetParam();
  auto pos = text.find(c.from);
  ASSERT_NE(pos, std::string::npos) << c.from;
  text.replace(pos, c.from.size(), c.to);
  try {
    ParseSpec(text, "bad.yaml");
    FAIL() << "expected SpecError for " << c.to;
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SpecErrorTest,
    ::testing::Values(
        BadSpec{"seed: 7", "seed: seven", "bad.yaml:2: key 'seed' in the top level = 'seven' is not an integer"},
        BadSpec{"seed: 7", "sede: 7", "bad.yaml:2: unknown key 'sede' in the top level (allowed: name, seed"},
        BadSpec{"name: fashion-mnist", "name: cifar10", "bad.yaml:7: dataset 'cifar10' is not known (allowed: fashion-mnist)"},
        BadSpec{"split: test", "split: val", "split 'val' of dataset 'fashion-mnist' is not known (allowed: train, test)"},
        BadSpec{"range: [0, 100]", "range: [0, 20000]", "= 20000 is out of range (allowed: 1 to 10000)"},
        BadSpec{"eps: [0.01, 8/255]", "eps: [0.01, big]", "bad.yaml:11: key 'params.eps' = 'big'"},
        BadSpec{"norm: [linf]", "norm: [l7]", "'l7' is not allowed (allowed: linf, l2)"},
        BadSpec{"- name: clean", "- name: slow", "unknown attack 'slow' (allowed: clean, pgd, deepsloth)"},
        BadSpec{"latency_repeats: 0", "latency_repeats: -1", "key 'latency_repeats' in measure = -1 is out of range (allowed: 0 to 1000)"},
        BadSpec{"output: /tmp/x", "device: tpu", "key 'device' = 'tpu' is not allowed (allowed: auto, cpu, cuda)"},
        BadSpec{"models:\n  - {name: m, path: m.pt}", "models: []", "key 'models' must be a non-empty list"},
        BadSpec{"seed: 7", "seed: [7", "not valid YAML"}));

}  // namespace
}  // namespace effrobust
