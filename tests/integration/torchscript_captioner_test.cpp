// Scripted captioners end to end (issue 9, D2): one experiment YAML with a
// built-in captioner (trained in the fixture in seconds) beside the
// TorchScript captioners of tests/support/make_torchscript_captioner.py
// (Debian's python3-torch), run by the real binary under mpirun: clean and
// NICGSlowDown units of both on fashion-mnist-scenes, and of a scripted
// 3x32x32 captioner on a tiny captions-json dataset written here (PNG
// images and a Karpathy-style JSON); every unit done, the D2 columns and
// BLEU filled, the decode_cap and adaptive block_jpeg defenses applied to
// the scripted model as to the built-in one, and the input detector on its
// region features. A scripted captioner whose input does not fit its
// dataset is refused before anything runs.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "data/caption_json.h"
#include "evaluation/defense_views.h"
#include "models/captioner_trainer.h"
#include "models/checkpoint.h"
#include "results/index.h"
#include "results/shard.h"
#include "tests/support/builtin_fixtures.h"
#include "tests/support/process.h"
#include "tests/support/scratch_suite.h"
#include "tests/support/scripted_captioner.h"
#include "tests/support/tiny_caption_json.h"

namespace effrobust {
namespace {

using test::Mpirun;
using test::Shell;
using test::Slurp;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

// Decoding limit of the fixture's built-in captioner and of the attacks.
constexpr int64_t kMaxLen = 20;

class TorchScriptCaptionerRunTest : public test::ScratchSuite<TorchScriptCaptionerRunTest> {
 protected:
  static void SetUpTestSuite() {
    if (!test::HavePythonTorch() ||
        !fs::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) {
      return;
    }
    MakeScratch("ts-captioner");
    test::SaveTinyCaptioner(*dir_ + "/captioner-builtin.pt", kMaxLen);
    made_ = test::MakeScriptedCaptioners(*dir_, 400);
    made_ = made_ && test::WriteTinyCaptionJson(*dir_ + "/tiny-captions");
  }
};

TEST_F(TorchScriptCaptionerRunTest, OneYamlRunsTheBuiltInAndScriptedCaptionersSideBySide) {
  const std::string out = *dir_ + "/run";
  const std::string spec = *dir_ + "/captioners.yaml";
  const std::string data = *dir_ + "/tiny-captions";
  std::ofstream(spec)
      << "name: captioners\nseed: 3\noutput: " << out << "\n"
      << "models:\n"
      << "  - {name: builtin-cap, path: " << *dir_ << "/captioner-builtin.pt}\n"
      << "  - {name: ts-cap, torchscript: " << *dir_
      << "/captioner.pt, family: captioning, dataset: fashion-mnist-scenes}\n"
      << "  - {name: ts-rgb, torchscript: " << *dir_
      << "/captioner_rgb32.pt, family: captioning, dataset: captions-json}\n"
      << "datasets:\n"
      << "  - {name: fashion-mnist-scenes, split: test, range: [0, 4], shard_size: 4}\n"
      << "  - {name: captions-json, path: " << data << "/images, json: " << data
      << "/captions.json, split: test, range: [0, 3], shard_size: 2}\n"
      << "attacks:\n"
      << "  - name: clean\n"
      << "  - {name: nicgslowdown, params: {budget: 20, iterations: 3, max_len: " << kMaxLen
      << "}}\n"
      << "defenses:\n  - none\n  - {name: decode_cap, params: {steps: 5}}\n"
      << "  - {name: block_jpeg, params: {quality: 50}, adaptive: true}\n"
      << "  - {name: input_detector, params: {test_share: 0.5}}\n"
      << "measure: {latency_repeats: 1, latency_warmup: 0, batch_size: 4, "
         "store_adversarial: true}\n";
  const std::string log = *dir_ + "/run.log";
  ASSERT_EQ(Shell(Mpirun(2) + Bin() + " run " + spec, log), 0) << Slurp(log);
  // The test split's images in JSON order, as the 3x32x32 model takes them.
  const CaptionSet expected = LoadCaptionedImages(ReadCaptionJson(data + "/captions.json"),
                                                  data + "/images", {"test"}, {32, true, -1});
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  const auto units = index->Units();
  // Per model and shard: clean, nicgslowdown, nicgslowdown through block_jpeg
  // (BPDA); scenes: 1 shard per captioner; captions-json: 2 shards of ts-rgb.
  ASSERT_EQ(units.size(), 3u * (1 + 1 + 2)) << Slurp(log);
  std::map<std::string, int> per_model;
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    ++per_model[u.plan.model + "/" + u.plan.dataset];
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end}, true);
    const size_t n = static_cast<size_t>(u.plan.sample_end - u.plan.sample_begin);
    ASSERT_EQ(rows.rows(), n) << u.plan.unit_id;
    const bool adaptive =
        u.plan.spec_json.find("\"adaptive_defense\":\"block_jpeg\"") != std::string::npos;
    const int64_t max_len = u.plan.model == "builtin-cap" ? kMaxLen : 30;  // the model's own
    for (size_t i = 0; i < n; ++i) {
      for (std::string which : {"clean", "adv"}) {
        const int64_t steps = rows.Get("steps_" + which).ints[i];
        EXPECT_GE(steps, 1);
        EXPECT_LE(steps, max_len);
        EXPECT_EQ(steps, rows.Get("length_" + which).ints[i] + rows.Get("ended_" + which).ints[i]);
        if (!adaptive) {  // an adaptive unit has only its defense's view
          EXPECT_LE(rows.Get(DefenseViewPrefix("decode_cap") + "steps_" + which).ints[i], 5);
        }
      }
      EXPECT_LE(rows.Get("l2").reals[i], 20 + 1e-6);
      EXPECT_EQ(rows.Get("sample_index").ints[i], u.plan.sample_begin + static_cast<int64_t>(i));
    }
    EXPECT_EQ(rows.Has(DefenseViewPrefix("block_jpeg") + "steps_adv"), true) << u.plan.unit_id;
    for (std::string m : {"bleu4_clean", "bleu4_adv", "mean_steps_clean", "mean_steps_adv"}) {
      EXPECT_TRUE(u.metrics.count(m)) << u.plan.unit_id << " " << m;
    }
    if (!adaptive) {  // the input detector saw the model's region features
      EXPECT_EQ(rows.Get(DefenseViewPrefix("input_detector") + "p_adv_adv").size(), n);
    }
    if (u.plan.attack == "clean") {
      EXPECT_EQ(rows.Get("steps_adv").ints, rows.Get("steps_clean").ints);
      if (u.plan.dataset == "captions-json") {
        // Sample i is the split's i-th entry, resized to 32 x 32 in colour
        // (the stored "adversarial" images of a clean unit are its inputs).
        const TensorBlock& t = rows.tensor();
        ASSERT_EQ(t.row_shape, (std::vector<int64_t>{3, 32, 32}));
        const size_t per = 3 * 32 * 32;
        ASSERT_EQ(t.data.size(), n * per);
        for (size_t k = 0; k < n * per; ++k) {
          const uint8_t want = expected.images.pixels[u.plan.sample_begin * per + k];
          ASSERT_NEAR(t.data[k], want / 255.0, 1e-6) << u.plan.unit_id << " value " << k;
        }
      }
    } else if (!adaptive && u.plan.dataset == "fashion-mnist-scenes") {
      // 4 inputs: the detector trained on 2 sources and tested on 2.
      EXPECT_TRUE(u.metrics.count("input_detector.auc_plain")) << u.plan.unit_id;
    }
    std::printf(
        "%s %s %s%s [%lld, %lld): mean steps %.2f clean, %.2f adversarial\n", u.plan.model.c_str(),
        u.plan.dataset.c_str(), u.plan.attack.c_str(), adaptive ? " (adaptive block_jpeg)" : "",
        static_cast<long long>(u.plan.sample_begin), static_cast<long long>(u.plan.sample_end),
        u.metrics.at("mean_steps_clean"), u.metrics.at("mean_steps_adv"));
  }
  EXPECT_EQ(per_model["builtin-cap/fashion-mnist-scenes"], 3);
  EXPECT_EQ(per_model["ts-cap/fashion-mnist-scenes"], 3);
  EXPECT_EQ(per_model["ts-rgb/captions-json"], 6);
}

TEST_F(TorchScriptCaptionerRunTest, AScriptedCaptionerThatDoesNotFitItsDatasetIsRefused) {
  const std::string spec = *dir_ + "/misfit.yaml";
  std::ofstream(spec) << "name: misfit\nseed: 3\noutput: " << *dir_ << "/misfit\n"
                      << "models:\n  - {name: ts, torchscript: " << *dir_
                      << "/captioner_rgb32.pt, family: captioning, dataset: fashion-mnist-scenes}\n"
                      << "datasets: [{name: fashion-mnist-scenes, split: test, range: [0, 4]}]\n"
                      << "attacks:\n  - name: clean\n";
  const std::string log = *dir_ + "/misfit.log";
  EXPECT_EQ(Shell(Bin() + " plan " + spec, log), 2) << Slurp(log);
  const std::string text = Slurp(log);
  EXPECT_NE(text.find("misfit.yaml:5: model 'ts' torchscript '"), std::string::npos) << text;
  EXPECT_NE(text.find("declares 3x32x32 inputs, but dataset 'fashion-mnist-scenes' has 1x64x64 "
                      "scenes"),
            std::string::npos)
      << text;
  EXPECT_FALSE(fs::exists(*dir_ + "/misfit"));
}

}  // namespace
}  // namespace effrobust
