#include "orchestrator/spec.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/support/temp_dir.h"

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

TEST(SpecTest, ParsesATorchScriptModelBesideACheckpoint) {
  std::string text = kGood;
  const std::string from = "  - {name: m, path: m.pt}\n";
  text.replace(text.find(from), from.size(),
               from + "  - {name: s, torchscript: s.pt, family: skip_gate, dataset: fashion-mnist}\n");
  ExperimentSpec s = ParseSpec(text, "good.yaml");
  ASSERT_EQ(s.models.size(), 2u);
  EXPECT_FALSE(s.models[0].torchscript);
  EXPECT_EQ(s.models[0].path, "m.pt");
  EXPECT_TRUE(s.models[1].torchscript);
  EXPECT_EQ(s.models[1].path, "s.pt");
  EXPECT_EQ(s.models[1].family, "skip_gate");
  EXPECT_EQ(s.models[1].dataset, "fashion-mnist");
}

TEST(SpecTest, ParsesCifar10WithItsPath) {
  std::string text = kGood;
  const std::string from = "name: fashion-mnist, split: test, range: [0, 100]";
  text.replace(text.find(from), from.size(),
               "name: cifar10, path: data/c10, split: train, range: [0, 50000]");
  ExperimentSpec s = ParseSpec(text, "good.yaml");
  ASSERT_EQ(s.datasets.size(), 1u);
  EXPECT_EQ(s.datasets[0].name, "cifar10");
  EXPECT_EQ(s.datasets[0].path, "data/c10");
  EXPECT_EQ(s.datasets[0].split, "train");
  EXPECT_EQ(s.datasets[0].end, 50000);
  EXPECT_EQ(ParseSpec(kGood, "good.yaml").datasets[0].path, "");
}

TEST(SpecTest, ParsesCaptionsJsonAndMot17WithTheirFiles) {
  std::string text = kGood;
  const std::string from = "name: fashion-mnist, split: test, range: [0, 100]";
  text.replace(text.find(from), from.size(),
               "name: captions-json, path: f8k/images, json: f8k/dataset_flickr8k.json, "
               "split: val, range: [10, 20]}\n  - {name: mot17, path: /data/MOT17, range: [0, 2], "
               "max_frames: 30");
  ExperimentSpec s = ParseSpec(text, "good.yaml");
  ASSERT_EQ(s.datasets.size(), 2u);
  EXPECT_EQ(s.datasets[0].name, "captions-json");
  EXPECT_EQ(s.datasets[0].path, "f8k/images");
  EXPECT_EQ(s.datasets[0].json, "f8k/dataset_flickr8k.json");
  EXPECT_EQ(s.datasets[0].split, "val");
  EXPECT_EQ(s.datasets[0].begin, 10);
  EXPECT_EQ(s.datasets[0].end, 20);
  EXPECT_EQ(s.datasets[0].max_frames, 0);
  EXPECT_EQ(s.datasets[1].name, "mot17");
  EXPECT_EQ(s.datasets[1].path, "/data/MOT17");
  EXPECT_EQ(s.datasets[1].split, "train");  // MOT17's test split has no ground truth
  EXPECT_EQ(s.datasets[1].end, 2);
  EXPECT_EQ(s.datasets[1].max_frames, 30);
  EXPECT_EQ(s.datasets[1].json, "");
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
        BadSpec{"name: fashion-mnist", "name: cifar100", "bad.yaml:7: dataset 'cifar100' is not known (allowed: fashion-mnist, fashion-mnist-scenes"},
        // cifar10 needs `path`; the other datasets refuse it.
        BadSpec{"name: fashion-mnist", "name: cifar10", "bad.yaml:7: missing key 'path' in dataset 'cifar10' (allowed: path: DIR, the directory holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin)"},
        BadSpec{"name: fashion-mnist", "name: cifar10, path: [a, b]", "bad.yaml:7: key 'path' in dataset 'cifar10' must be a scalar"},
        BadSpec{"name: fashion-mnist", "name: cifar10, path: ''", "bad.yaml:7: key 'path' in dataset 'cifar10' must not be empty"},
        BadSpec{"name: fashion-mnist, split: test, range: [0, 100]", "name: cifar10, path: /data/c10, split: train, range: [0, 60000]",
                "bad.yaml:7: key 'end' in range of dataset 'cifar10' = 60000 is out of range (allowed: 1 to 50000)"},
        BadSpec{"name: fashion-mnist", "name: fashion-mnist, path: /data/fm",
                "bad.yaml:7: key 'path' in dataset 'fashion-mnist' = '/data/fm' is not taken by this dataset (allowed: path only for cifar10, captions-json and mot17;"},
        BadSpec{"split: test", "split: val", "split 'val' of dataset 'fashion-mnist' is not known (allowed: train, test)"},
        // captions-json needs path, json and range; mot17 path and range; json and max_frames are theirs only.
        BadSpec{"name: fashion-mnist", "name: captions-json, json: d.json", "bad.yaml:7: missing key 'path' in dataset 'captions-json' (allowed: path: DIR, the image root the JSON's filepath/filename are under)"},
        BadSpec{"name: fashion-mnist", "name: captions-json, path: img", "bad.yaml:7: missing key 'json' in dataset 'captions-json' (allowed: json: FILE, a Karpathy-style captions file"},
        BadSpec{"name: fashion-mnist, split: test, range: [0, 100]", "name: captions-json, path: img, json: d.json, split: test", "bad.yaml:7: missing key 'range' in dataset 'captions-json' (allowed: range: [begin, end) of the split's images in JSON order; the split's size comes from its files, which `plan` checks)"},
        BadSpec{"name: fashion-mnist, split: test", "name: captions-json, path: img, json: d.json, split: dev", "bad.yaml:7: key 'split' in dataset 'captions-json' = 'dev' is not a Karpathy split (allowed: train, val, test, restval)"},
        BadSpec{"name: fashion-mnist, split: test, range: [0, 100]", "name: mot17, path: /m", "bad.yaml:7: missing key 'range' in dataset 'mot17' (allowed: range: [begin, end) of the split's sequence folders in name order"},
        BadSpec{"name: fashion-mnist", "name: mot17", "bad.yaml:7: missing key 'path' in dataset 'mot17' (allowed: path: ROOT, the folder holding the split folders (train/, test/)"},
        BadSpec{"name: fashion-mnist, split: test", "name: mot17, path: /m, split: ../x", "key 'split' in dataset 'mot17' = '../x' is not a folder name"},
        BadSpec{"name: fashion-mnist", "name: mot17, path: /m, max_frames: -1", "key 'max_frames' in dataset 'mot17' = -1 is out of range (allowed: 0 to 100000000)"},
        BadSpec{"name: fashion-mnist", "name: fashion-mnist, json: d.json", "bad.yaml:7: key 'json' in dataset 'fashion-mnist' is not taken by this dataset (allowed: json only for captions-json)"},
        BadSpec{"name: fashion-mnist", "name: cifar10, path: c, max_frames: 3", "bad.yaml:7: key 'max_frames' in dataset 'cifar10' is not taken by this dataset (allowed: max_frames only for mot17)"},
        BadSpec{"range: [0, 100]", "range: [0, 20000]", "= 20000 is out of range (allowed: 1 to 10000)"},
        BadSpec{"eps: [0.01, 8/255]", "eps: [0.01, big]", "bad.yaml:11: key 'params.eps' = 'big'"},
        BadSpec{"norm: [linf]", "norm: [l7]", "'l7' is not allowed (allowed: linf, l2)"},
        BadSpec{"- name: clean", "- name: slow", "unknown attack 'slow' (allowed: clean, pgd, deepsloth,"},
        BadSpec{"latency_repeats: 0", "latency_repeats: -1", "key 'latency_repeats' in measure = -1 is out of range (allowed: 0 to 1000)"},
        BadSpec{"output: /tmp/x", "device: tpu", "key 'device' = 'tpu' is not allowed (allowed: auto, cpu, cuda)"},
        BadSpec{"models:\n  - {name: m, path: m.pt}", "models: []", "key 'models' must be a non-empty list"},
        BadSpec{"seed: 7", "seed: [7", "not valid YAML"},
        // Numbers: huge, negative, NaN/inf spellings, fractions where whole numbers go.
        BadSpec{"seed: 7", "seed: 99999999999999999999",
                "bad.yaml:2: key 'seed' in the top level = 99999999999999999999 is out of range (allowed: whole numbers 0 to 9007199254740991)"},
        BadSpec{"seed: 7", "seed: 9007199254740992", "= 9007199254740992 is out of range (allowed: 0 to 9007199254740991)"},
        BadSpec{"seed: 7", "seed: -1", "key 'seed' in the top level = -1 is out of range (allowed: 0 to 9007199254740991)"},
        BadSpec{"seed: 7", "seed: .nan", "key 'seed' in the top level = '.nan' is not an integer (allowed: whole numbers 0 to 9007199254740991)"},
        BadSpec{"seed: 7", "seed: -.inf", "= '-.inf' is not an integer (allowed: whole numbers 0 to"},
        BadSpec{"seed: 7", "seed: 1.5", "= '1.5' is not an integer"},
        BadSpec{"seed: 7", "seed: 0x10", "= '0x10' is not an integer"},
        BadSpec{"seed: 7", "seed: [1, 2]", "= '<list or mapping>' is not an integer"},
        BadSpec{"output: /tmp/x", "output: /tmp/x\nthreads: -1", "bad.yaml:4: key 'threads' in the top level = -1 is out of range (allowed: 0 to 1024)"},
        BadSpec{"output: /tmp/x", "output: /tmp/x\nthreads: 1e9", "key 'threads' in the top level = '1e9' is not an integer (allowed: whole numbers 0 to 1024)"},
        BadSpec{"range: [0, 100]", "range: [-5, 100]", "bad.yaml:7: key 'begin' in range of dataset 'fashion-mnist' = -5 is out of range (allowed: 0 to 9999)"},
        BadSpec{"range: [0, 100]", "range: [0, .inf]", "key 'end' in range of dataset 'fashion-mnist' = '.inf' is not an integer (allowed: whole numbers 1 to 10000)"},
        BadSpec{"range: [0, 100]", "range: [50, 50]", "key 'end' in range of dataset 'fashion-mnist' = 50 is out of range (allowed: 51 to 10000)"},
        BadSpec{"range: [0, 100]", "range: 100", "key 'range' of dataset 'fashion-mnist' must be [begin, end)"},
        BadSpec{"shard_size: 40", "shard_size: 0", "bad.yaml:7: key 'shard_size' in dataset 'fashion-mnist' = 0 is out of range (allowed: 1 to 10000)"},
        BadSpec{"shard_size: 40", "shard_size: -40", "key 'shard_size' in dataset 'fashion-mnist' = -40 is out of range"},
        BadSpec{"shard_size: 40", "shard_size: 1e40", "key 'shard_size' in dataset 'fashion-mnist' = '1e40' is not an integer"},
        BadSpec{"eps: [0.01, 8/255]", "eps: [-0.01]", "bad.yaml:11: key 'params.eps' = '-0.01': [attacks] attack 'deepsloth' parameter 'eps' = '-0.01' is out of range (allowed: 0 to 100)"},
        BadSpec{"eps: [0.01, 8/255]", "eps: .nan", "key 'params.eps' = '.nan': [attacks] attack 'deepsloth' parameter 'eps' = '.nan' is not a number (allowed: 0 to 100)"},
        BadSpec{"eps: [0.01, 8/255]", "eps: [1e400]", "parameter 'eps' = '1e400' is out of range (allowed: 0 to 100)"},
        BadSpec{"eps: [0.01, 8/255]", "eps: 0.01, iterations: 0", "key 'params.iterations' = '0': [attacks] attack 'deepsloth' parameter 'iterations' = '0' is out of range (allowed: 1 to 100000)"},
        BadSpec{"eps: [0.01, 8/255]", "eps: 0.01, iterations: 99999999999999999999", "parameter 'iterations' = '99999999999999999999' is out of range (allowed: 1 to 100000)"},
        BadSpec{"eps: [0.01, 8/255]", "eps: []", "parameter 'eps' has an empty list (allowed: one or more values)"},
        BadSpec{"eps: [0.01, 8/255]", "eps: [[0.01]]", "parameter 'eps' values must be scalars"},
        BadSpec{"batch_size: 50", "batch_size: 0", "bad.yaml:12: key 'batch_size' in measure = 0 is out of range (allowed: 1 to 100000)"},
        BadSpec{"batch_size: 50", "latency_warmup: 1e3", "key 'latency_warmup' in measure = '1e3' is not an integer (allowed: whole numbers 0 to 1000)"},
        BadSpec{"batch_size: 50", "store_adversarial: maybe", "key 'store_adversarial' in measure = 'maybe' is not a boolean (allowed: true, false)"},
        BadSpec{"measure:", "policy: {max_retries: -1}\nmeasure:", "bad.yaml:12: key 'max_retries' in policy = -1 is out of range (allowed: 0 to 100)"},
        BadSpec{"measure:", "policy: {lease_timeout_s: .inf}\nmeasure:", "key 'lease_timeout_s' in policy = '.inf' is not an integer (allowed: whole numbers 2 to 604800)"},
        BadSpec{"measure:", "policy: {heartbeat_s: 0}\nmeasure:", "key 'heartbeat_s' in policy = 0 is out of range (allowed: 1 to 86400)"},
        BadSpec{"measure:", "policy: {drain_grace_s: 100000000000000000000}\nmeasure:", "key 'drain_grace_s' in policy = 100000000000000000000 is out of range"},
        // Defenses.
        BadSpec{"measure:", "defenses: [shield]\nmeasure:", "bad.yaml:12: key 'defenses' entry 'shield': [defenses] unknown defense 'shield' (allowed: none, jpeg, block_jpeg, nl_means, median, bit_depth, exit_cap, decode_cap, nms_cap, input_detector)"},
        BadSpec{"measure:", "defenses:\n  - name: shield\nmeasure:", "bad.yaml:13: key 'defenses' entry 'shield': [defenses] unknown defense 'shield' (allowed: none, jpeg"},
        BadSpec{"measure:", "defenses: []\nmeasure:", "bad.yaml:12: key 'defenses' must be a non-empty list of {name, params} (allowed names: none, jpeg, block_jpeg, nl_means, median, bit_depth, exit_cap, decode_cap, nms_cap, input_detector)"},
        BadSpec{"measure:", "defenses: none\nmeasure:", "key 'defenses' must be a non-empty list"},
        BadSpec{"measure:", "defenses: [none, none]\nmeasure:", "defense 'none' appears twice (allowed: each defense once)"},
        BadSpec{"measure:", "defenses: [{name: none, params: {quality: 75}}]\nmeasure:", "bad.yaml:12: [defenses] defense 'none' has no parameter 'quality' (allowed: none)"},
        BadSpec{"measure:", "defenses: [{name: jpeg, params: {quality: 0}}]\nmeasure:", "bad.yaml:12: [defenses] defense 'jpeg' parameter 'quality' = '0' is out of range (allowed: whole numbers 1 to 100)"},
        BadSpec{"measure:", "defenses: [{name: median, params: {k: 4}}]\nmeasure:", "bad.yaml:12: [defenses] defense 'median' parameter 'k' = '4' must be odd (allowed: odd whole numbers 1 to 99)"},
        BadSpec{"measure:", "defenses: [{name: none, strength: 2}]\nmeasure:", "unknown key 'strength' in a defenses entry (allowed: name, params, adaptive)"},
        BadSpec{"measure:", "defenses: [{params: {}}]\nmeasure:", "missing key 'name' in a defenses entry"},
        BadSpec{"measure:", "defenses: [{name: jpeg, adaptive: maybe}]\nmeasure:", "bad.yaml:12: key 'adaptive' in defense 'jpeg' = 'maybe' is not a boolean (allowed: true, false)"},
        BadSpec{"measure:", "defenses: [{name: exit_cap, adaptive: true}]\nmeasure:", "bad.yaml:12: defense 'exit_cap' has adaptive: true, but only input transforms can be attacked through (allowed: adaptive on jpeg, block_jpeg, nl_means, median, bit_depth)"},
        BadSpec{"measure:", "defenses: [{name: decode_cap, params: {steps: 0}}]\nmeasure:", "defense 'decode_cap' parameter 'steps' = '0' is out of range (allowed: whole numbers 1 to 1000)"},
        // Keys: repeated, not plain names, unknown.
        BadSpec{"seed: 7", "seed: 7\nseed: 8", "bad.yaml:3: key 'seed' appears twice in the top level (first on line 2; allowed: each key once)"},
        BadSpec{"shard_size: 40", "shard_size: 40, shard_size: 20", "bad.yaml:7: key 'shard_size' appears twice in a datasets entry"},
        BadSpec{"eps: [0.01, 8/255]", "eps: [0.01], eps: 0.02", "key 'eps' appears twice in the params of attack 'deepsloth'"},
        BadSpec{"seed: 7", "[a, b]: 7", "bad.yaml:2: a key in the top level is a list, mapping or null (allowed: plain names)"},
        BadSpec{"seed: 7", "~: 7", "a key in the top level is a list, mapping or null"},
        BadSpec{"{name: m, path: m.pt}", "{name: m, file: m.pt}", "bad.yaml:5: unknown key 'file' in a models entry (allowed: name, path, torchscript, family, dataset)"},
        BadSpec{"{name: m, path: m.pt}", "{name: m, path: m.pt}\n  - {name: m, path: n.pt}", "bad.yaml:6: model name 'm' appears twice (allowed: unique names)"},
        // TorchScript models: torchscript + family + dataset instead of path.
        BadSpec{"{name: m, path: m.pt}", "{name: m, path: m.pt, torchscript: m.pt, family: early_exit, dataset: fashion-mnist}", "bad.yaml:5: model 'm' has both 'path' and 'torchscript' (allowed: one of them"},
        BadSpec{"{name: m, path: m.pt}", "{name: m, torchscript: m.pt, family: multi_exit, dataset: fashion-mnist}", "bad.yaml:5: key 'family' in model 'm' = 'multi_exit' is not a TorchScript victim family (allowed: early_exit, skip_gate, adaptive_token, captioning, detection)"},
        BadSpec{"{name: m, path: m.pt}", "{name: m, torchscript: m.pt, dataset: fashion-mnist}", "bad.yaml:5: missing key 'family' in model 'm'"},
        BadSpec{"{name: m, path: m.pt}", "{name: m, torchscript: m.pt, family: skip_gate}", "bad.yaml:5: missing key 'dataset' in model 'm'"},
        BadSpec{"{name: m, path: m.pt}", "{name: m, path: m.pt, family: early_exit}", "bad.yaml:5: key 'family' in model 'm' applies to TorchScript models only"},
        BadSpec{"{name: m, path: m.pt}", "{name: m}", "bad.yaml:5: missing key 'path' in model 'm' (allowed: path: CHECKPOINT, or torchscript: FILE with family and dataset)"},
        // Structure: nesting, values that would break the one-line message.
        BadSpec{"seed: 7", "seed: " + std::string(5000, '[') + std::string(5000, ']'), "bad.yaml:2: not valid YAML: lists or mappings nested too deeply"},
        BadSpec{"seed: 7", "seed: " + std::string(600, '[') + std::string(600, ']'), "not valid YAML: lists or mappings nested too deeply"},
        BadSpec{"seed: 7", "seed: " + std::string(5000, '['), "bad.yaml:5: not valid YAML: illegal block entry"},
        BadSpec{"output: /tmp/x", "device: \"tp\\nu\"", "key 'device' = 'tp\\nu' is not allowed (allowed: auto, cpu, cuda)"},
        BadSpec{"output: /tmp/x", "device: " + std::string(10000, 'x'), "...(10000 bytes)' is not allowed (allowed: auto, cpu, cuda)"},
        BadSpec{"- name: clean", "- name: \"cl\\x01ean\"", "unknown attack 'cl\\x01ean' (allowed: clean, pgd, deepsloth,"}));

// Whole files that are not experiments at all.
struct BadFile {
  std::string text;
  std::string fragment;
};

class SpecFileErrorTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(SpecFileErrorTest, SaysWhatTheTopLevelMustBe) {
  try {
    ParseSpec(GetParam().text, "bad.yaml");
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().fragment), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SpecFileErrorTest,
    ::testing::Values(
        BadFile{"", "bad.yaml: the top level must be a mapping of keys (allowed keys: name, seed, output"},
        BadFile{"# only a comment\n", "the top level must be a mapping of keys"},
        BadFile{"- a\n- b\n", "the top level must be a mapping of keys"},
        BadFile{"just text", "the top level must be a mapping of keys"},
        BadFile{std::string("\0\x01\x02garbage", 10), "bad.yaml"},
        BadFile{std::string(100000, '{'), "nested too deeply"},
        BadFile{[] {
                  std::string s;
                  for (int i = 0; i < 3000; ++i) s += std::string(i, ' ') + "-\n";
                  return s;
                }(),
                "nested too deeply"},
        BadFile{"a: &x [*x]\n", "unknown key 'a' in the top level"},
        BadFile{"name: x\nmodels: *nowhere\n", "not valid YAML"}));

// Variants that must be accepted, with what they parse to.
TEST(SpecTest, SamplesReduceEveryDatasetAndCountFramesOfSequences) {
  const std::string text =
      "name: t\noutput: /tmp/x\nmodels: [{name: m, path: m.pt}]\n"
      "datasets:\n  - {name: fashion-mnist, split: test, range: [0, 100], shard_size: 40}\n"
      "  - {name: fashion-mnist-sequences, split: test, range: [4, 24], shard_size: 10}\n"
      "  - {name: fashion-mnist-scenes, split: test, range: [0, 10]}\n"
      "attacks: [{name: clean}]\n";
  ExperimentSpec s = ParseSpec(text + "samples: 45\n", "t.yaml");
  EXPECT_EQ(s.datasets[0].end, 45);
  EXPECT_EQ(s.datasets[0].shard_size, 40);
  EXPECT_EQ(s.datasets[1].begin, 4);
  EXPECT_EQ(s.datasets[1].end, 6);  // 45 frames: 2 sequences of 30
  EXPECT_EQ(s.datasets[1].shard_size, 2);
  EXPECT_EQ(s.datasets[2].end, 10);  // already smaller
  EXPECT_EQ(s.output, "/tmp/x");     // the YAML key keeps the output
  ExperimentSpec cli = ParseSpec(text, "t.yaml");
  LimitSamples(&cli, 45, true);
  EXPECT_EQ(cli.datasets[0].end, 45);
  EXPECT_EQ(cli.output, "/tmp/x-samples45");  // the option moves it
  EXPECT_THROW(LimitSamples(&cli, 0, true), SpecError);
  try {
    ParseSpec(text + "samples: 0\n", "t.yaml");
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("t.yaml:9: key 'samples'"), std::string::npos) << e.what();
  }
}

TEST(SpecTest, DefensesDefaultToNoneAndTakeBothForms) {
  EXPECT_EQ(ParseSpec(kGood, "good.yaml").defenses.size(), 1u);
  EXPECT_EQ(ParseSpec(kGood, "good.yaml").defenses[0].name, "none");
  for (const char* form : {"defenses: [none]\n", "defenses:\n  - name: none\n",
                           "defenses: [{name: none, params: {}}]\n"}) {
    ExperimentSpec s = ParseSpec(std::string(kGood) + form, "good.yaml");
    ASSERT_EQ(s.defenses.size(), 1u) << form;
    EXPECT_EQ(s.defenses[0].name, "none") << form;
    EXPECT_EQ(s.defenses[0].line, std::string(form).find('-') == std::string::npos ? 13 : 14) << form;
  }
}

TEST(SpecTest, DefensesAcceptTheInputTransformsWithTheirParams) {
  ExperimentSpec s = ParseSpec(std::string(kGood) +
                                   "defenses: [none, jpeg, {name: block_jpeg, params: {quality: 90}}, "
                                   "{name: nl_means, params: {h: 10, template: 7, search: 21}}, "
                                   "{name: median, params: {k: 5}}, {name: bit_depth, params: {bits: 3}}]\n",
                               "good.yaml");
  ASSERT_EQ(s.defenses.size(), 6u);
  const std::vector<std::string> names = {"none", "jpeg", "block_jpeg", "nl_means", "median", "bit_depth"};
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(s.defenses[i].name, names[i]);
  EXPECT_TRUE(s.defenses[1].params.empty());
  ASSERT_EQ(s.defenses[3].params.size(), 3u);
  EXPECT_EQ(s.defenses[3].params[1], (std::pair<std::string, std::string>{"template", "7"}));
  EXPECT_EQ(s.defenses[4].params[0], (std::pair<std::string, std::string>{"k", "5"}));
}

TEST(SpecTest, LargestSeedAndAliasesAreAccepted) {
  std::string text = kGood;
  text.replace(text.find("seed: 7"), 7, "seed: 9007199254740991");
  text.replace(text.find("eps: [0.01, 8/255]"), 18, "eps: &e [0.01, 1e-3], step: *e");
  ExperimentSpec s = ParseSpec(text, "good.yaml");
  EXPECT_EQ(s.seed, 9007199254740991LL);
  EXPECT_EQ(s.attacks[1].params.back().second.size(), 2u);
}

struct SplitSize {
  std::string dataset, split;
  int64_t size;
};

class DatasetSplitSizeTest : public ::testing::TestWithParam<SplitSize> {};

TEST_P(DatasetSplitSizeTest, KnowsEveryDatasetSplit) {
  const SplitSize& c = GetParam();
  EXPECT_EQ(DatasetSplitSize(c.dataset, c.split), c.size);
}

INSTANTIATE_TEST_SUITE_P(Datasets, DatasetSplitSizeTest,
                         ::testing::Values(SplitSize{"fashion-mnist", "train", 60000},
                                           SplitSize{"fashion-mnist", "test", 10000},
                                           SplitSize{"fashion-mnist-scenes", "train", 100000},
                                           SplitSize{"fashion-mnist-scenes", "test", 10000},
                                           SplitSize{"freedict-eng-deu", "train", 60000},
                                           SplitSize{"freedict-eng-deu", "test", 2000},
                                           SplitSize{"cifar10", "train", 50000},
                                           SplitSize{"cifar10", "test", 10000}));

TEST(SpecTest, NormSpecificParametersAreCheckedAgainstTheGivenNorm) {
  std::string text = kGood;
  text.replace(text.find("norm: [linf], eps: [0.01, 8/255]"), 32, "eps: [0.5], lr: 0.5, norm: l2");
  EXPECT_EQ(ParseSpec(text, "good.yaml").attacks[1].params.size(), 3u);
  text = kGood;
  text.replace(text.find("norm: [linf], eps: [0.01, 8/255]"), 32, "norm: [linf, l2], gamma: 0.2");
  try {
    ParseSpec(text, "bad.yaml");
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml:11: key 'params.gamma' = '0.2': [attacks] attack "
                                         "'deepsloth' parameter 'gamma' does not apply to norm 'linf'"),
              std::string::npos)
        << e.what();
  }
}

TEST(SpecTest, LoadSpecRefusesMissingFilesDirectoriesAndEndlessFiles) {
  TempDir tmp("spec");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {tmp.File("missing.yaml"), "cannot read experiment file '" + tmp.File("missing.yaml") +
                                     "': No such file or directory"},
      {tmp.path(), "experiment file '" + tmp.path() + "' is a directory (allowed: a YAML file)"},
      {"/dev/zero", "experiment file '/dev/zero' is larger than 16 MiB (allowed: a YAML file up to 16 MiB)"}};
  for (const auto& [path, fragment] : cases) {
    try {
      LoadSpec(path);
      FAIL() << "expected SpecError for " << path;
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}

TEST(SpecTest, RecordsTheLinesOfNameAndOutput) {
  ExperimentSpec s = ParseSpec(kGood, "good.yaml");
  EXPECT_EQ(s.name_line, 1);
  EXPECT_EQ(s.output_line, 3);
}

}  // namespace
}  // namespace effrobust
