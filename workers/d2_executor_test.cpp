// The D2 executor on a scripted captioner and captions-json units, run in
// process with an in-memory shard: sample i of a unit is the i-th entry of
// its split in JSON order (resized to the model's input, in colour for a
// 3-channel model), and a range past the split's entries is a WorkerError
// naming the file and the range. The captioners are made at test time by
// tests/support/make_torchscript_captioner.py (Debian's python3-torch).
#include "workers/d2_executor.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "data/caption_json.h"
#include "tests/support/scripted_captioner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_caption_json.h"

namespace effrobust {
namespace {

// Keeps the rows appended to it.
class MemoryShard : public ShardWriter {
 public:
  RowRange Append(const std::string&, const RowBatch& rows) override {
    const int64_t begin = row_count();
    batches.push_back(rows);
    rows_ += static_cast<int64_t>(rows.rows());
    return {begin, rows_};
  }
  void AppendUnitRecord(const std::string&, const std::string&) override {}
  int64_t row_count() const override { return rows_; }
  void Close() override {}
  const std::string& final_path() const override { return path_; }
  const std::string& temp_path() const override { return path_; }

  std::vector<RowBatch> batches;

 private:
  int64_t rows_ = 0;
  std::string path_ = "memory.h5";
};

class NoCheckpoints : public UnitContext {
 public:
  void Checkpoint() override {}
};

class D2ExecutorCaptionJsonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::HavePythonTorch()) return;
    dir_ = new TempDir("d2_executor");
    made_ = test::MakeScriptedCaptioners(dir_->path(), 0) &&
            test::WriteTinyCaptionJson(dir_->File("tiny"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "/usr/bin/python3 has no torch (python3-torch)";
    ASSERT_TRUE(made_) << "fixture failed; see " << dir_->File("make.log");
  }

  // A clean captions-json unit of the scripted 3x32x32 captioner.
  static WorkUnit Unit(int64_t begin, int64_t end) {
    WorkUnit u;
    u.id = "0123456789abcdef";
    u.model = "ts-rgb";
    u.model_path = dir_->File("captioner_rgb32.pt");
    u.model_hash = "h";
    u.dataset = kCaptionJsonDataset;
    u.data_path = dir_->File("tiny/images");
    u.data_json = dir_->File("tiny/captions.json");
    u.split = "test";
    u.begin = begin;
    u.end = end;
    u.attack = "clean";
    return u;
  }

  static RunOptions Options() {
    RunOptions o;
    o.device = "cpu";
    o.threads = 1;
    o.measure.latency_repeats = 0;
    o.measure.store_adversarial = true;
    return o;
  }

  static TempDir* dir_;
  static bool made_;
};
TempDir* D2ExecutorCaptionJsonTest::dir_ = nullptr;
bool D2ExecutorCaptionJsonTest::made_ = false;

TEST_F(D2ExecutorCaptionJsonTest, UnitSamplesAreTheSplitsEntriesInJsonOrderAtTheModelsInput) {
  auto executor = MakeD2Executor(ExecutorPlacement());
  MemoryShard shard;
  NoCheckpoints context;
  const UnitExecutor::Output out = executor->Execute(Unit(1, 3), Options(), shard, context);
  EXPECT_EQ(executor->held_model(), "ts-rgb");
  ASSERT_EQ(shard.batches.size(), 1u);
  const RowBatch& rows = shard.batches[0];
  EXPECT_EQ(rows.Get("sample_index").ints, (std::vector<int64_t>{1, 2}));
  // The clean unit's stored inputs: test entries 1 and 2 (img3, img5).
  const CaptionSet expected =
      LoadCaptionedImages(ReadCaptionJson(dir_->File("tiny/captions.json")),
                          dir_->File("tiny/images"), {"test"}, {32, true, -1});
  const TensorBlock& t = rows.tensor();
  ASSERT_EQ(t.row_shape, (std::vector<int64_t>{3, 32, 32}));
  const size_t per = 3 * 32 * 32;
  ASSERT_EQ(t.data.size(), 2 * per);
  for (size_t k = 0; k < 2 * per; ++k) {
    ASSERT_NEAR(t.data[k], expected.images.pixels[per + k] / 255.0, 1e-6) << k;
  }
  EXPECT_TRUE(out.metrics.count("bleu4_clean"));
  EXPECT_EQ(out.device, "cpu");
}

TEST_F(D2ExecutorCaptionJsonTest, ARangePastTheSplitIsAWorkerErrorNamingTheFileAndRange) {
  auto executor = MakeD2Executor(ExecutorPlacement());
  MemoryShard shard;
  NoCheckpoints context;
  try {
    executor->Execute(Unit(2, 5), Options(), shard, context);
    FAIL() << "a unit past the split ran";
  } catch (const WorkerError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("reads images [2, 5) of split 'test' but '" +
                        dir_->File("tiny/captions.json") + "' has 3 images in that split"),
              std::string::npos)
        << what;
  }
  EXPECT_TRUE(shard.batches.empty());
}

TEST_F(D2ExecutorCaptionJsonTest, ModelChecksNameTheDatasetAScriptedCaptionerDoesNotFit) {
  EXPECT_NO_THROW(CheckDecoderModelLoads(dir_->File("captioner_rgb32.pt"), "captions-json"));
  try {
    CheckDecoderModelLoads(dir_->File("captioner_rgb32.pt"), "fashion-mnist-scenes");
    FAIL() << "a 3x32x32 captioner was accepted for the 64x64 scenes";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("declares 3x32x32 inputs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace effrobust
