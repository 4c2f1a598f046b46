// D2 end to end: two small captioners (LSTM and GRU cell) and the small
// character translator trained in the fixture in seconds, and an untrained
// early-exit classifier beside them; experiments/d2.yaml planned as written,
// and a reduced experiment run by the real binary under `mpirun -np 2`: each
// model only on its own dataset and with its family's attacks, every unit
// done, the D2 columns (numbers and output texts) in the shards, summaries
// reproduced from the shard rows, and the D2 table (with the D1 tables)
// rendered.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "evaluation/d2_summary.h"
#include "evaluation/defense_views.h"
#include "models/captioner_trainer.h"
#include "results/index.h"
#include "results/shard.h"
#include "tests/support/fixture_translator.h"
#include "tests/support/builtin_fixtures.h"
#include "tests/support/process.h"
#include "tests/support/tiny_model.h"

namespace effrobust {
namespace {

using test::Mpirun;
using test::Shell;
using test::Slurp;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

// Decoding limits of the fixture captioners and translator (the models'
// own max_len).
constexpr int64_t kMaxLen = 20;
constexpr int64_t kTranslatorMaxLen = 24;

class D2Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz") ||
        !FreeDictInstalled()) {
      return;
    }
    char tmpl[] = "/tmp/effrobust-d2-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    torch::set_num_threads(2);
    for (const std::string cell : {"lstm", "gru"}) {
      test::SaveTinyCaptioner(*dir_ + "/captioner-" + cell + ".pt", kMaxLen, cell);
    }
    {
      // Smaller than the unit tests' fixture translator: the run, not the
      // model's quality, is under test.
      std::vector<DictPair> pairs = LoadTranslationPairs(DefaultFreeDictDir(), "train");
      pairs.resize(64);
      TrainOptions o;
      o.name = "translator";
      o.epochs = 3;
      o.batch_size = 16;
      o.lr = 5e-3;
      o.seed = 5;
      TranslatorTrainOptions t;
      t.config.embed = 8;
      t.config.hidden = 16;
      t.config.attention = 8;
      t.max_len = kTranslatorMaxLen;
      const TrainedModel translator = TrainTranslator(pairs, pairs, o, t);
      SaveModel(*dir_ + "/translator.pt", *translator.module, translator.meta, true);
    }
    WriteTinyModel(*dir_ + "/sdn-tiny.pt");
  }
  static void TearDownTestSuite() {
    if (dir_ == nullptr) return;
    fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "Fashion-MNIST or FreeDict English-German not installed";
  }

  static std::string* dir_;
};

std::string* D2Test::dir_ = nullptr;

TEST_F(D2Test, D2YamlPlansEachModelOnItsDatasetWithItsFamilysAttacks) {
  std::string text = Slurp(std::string(getenv("EFFROBUST_SOURCE_DIR")) + "/experiments/d2.yaml");
  text = std::regex_replace(text, std::regex("runs/models/"), *dir_ + "/");
  text = std::regex_replace(text, std::regex("output: runs/d2"), "output: " + *dir_ + "/d2-plan");
  const std::string spec = *dir_ + "/d2.yaml";
  std::ofstream(spec) << text;
  const std::string log = *dir_ + "/plan.log";
  ASSERT_EQ(Shell(Bin() + " plan " + spec, log), 0) << Slurp(log);
  // (model, attack) -> units, from the plan's summary lines.
  std::map<std::string, int> units;
  std::istringstream lines(Slurp(log));
  const std::regex row(R"(^(captioner-\w+|translator)\s+(\S+)\s+(\d+)$)");
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, m, row))
      units[m[1].str() + "/" + m[2].str()] = std::stoi(m[3].str());
  }
  // 2 shards of 100 each; NICGSlowDown in L2 at budgets 1 and 20, and in L-inf.
  const std::map<std::string, int> expected = {
      {"captioner-lstm/clean", 2}, {"captioner-lstm/nicgslowdown", 6},
      {"captioner-gru/clean", 2},  {"captioner-gru/nicgslowdown", 6},
      {"translator/clean", 2},     {"translator/nmtsloth", 2}};
  EXPECT_EQ(units, expected) << Slurp(log);
}

TEST_F(D2Test, MpiRunMeasuresDecodersAndTablesShowThePapersColumns) {
  const std::string out = *dir_ + "/d2-run";
  const std::string spec = *dir_ + "/d2-small.yaml";
  std::ofstream(spec)
      << "name: d2-small\nseed: 5\noutput: " << out << "\n"
      << "models:\n"
      << "  - {name: captioner-lstm, path: " << *dir_ << "/captioner-lstm.pt}\n"
      << "  - {name: captioner-gru, path: " << *dir_ << "/captioner-gru.pt}\n"
      << "  - {name: translator, path: " << *dir_ << "/translator.pt}\n"
      << "  - {name: sdn-tiny, path: " << *dir_ << "/sdn-tiny.pt}\n"
      << "datasets:\n"
      << "  - {name: fashion-mnist-scenes, split: test, range: [0, 8], shard_size: 4}\n"
      << "  - {name: freedict-eng-deu, split: test, range: [0, 4], shard_size: 4}\n"
      << "  - {name: fashion-mnist, split: test, range: [0, 4], shard_size: 4}\n"
      << "attacks:\n"
      << "  - name: clean\n"
      << "  - {name: nicgslowdown, params: {norm: [l2, linf], iterations: 3, max_len: " << kMaxLen
      << "}}\n"
      << "  - {name: nmtsloth, params: {edits: 1, candidates: 4, max_len: " << kTranslatorMaxLen
      << "}}\n"
      << "  - {name: pgd, params: {iterations: 1}}\n"
      << "measure: {latency_repeats: 1, latency_warmup: 1, batch_size: 4}\n";
  const std::string log = *dir_ + "/run.log";
  ASSERT_EQ(Shell(Mpirun(2) + Bin() + " run " + spec, log), 0) << Slurp(log);
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  const auto units = index->Units();
  // Captioners: 2 shards x (clean, nicgslowdown l2, linf); the translator:
  // 1 shard x (clean, nmtsloth); the classifier: 1 shard x (clean, pgd).
  ASSERT_EQ(units.size(), 2u * 2 * 3 + 2 + 2);
  std::multiset<std::string> pairs;
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    pairs.insert(u.plan.model + "/" + u.plan.dataset + "/" + u.plan.attack);
    if (u.plan.model == "sdn-tiny") continue;
    const bool captioner = u.plan.model != "translator";
    const int64_t max_len = captioner ? kMaxLen : kTranslatorMaxLen;
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end});
    ASSERT_EQ(rows.rows(), 4u);
    for (std::string c :
         {"steps_clean", "steps_adv", "length_clean", "length_adv", "ended_clean", "ended_adv"}) {
      ASSERT_TRUE(rows.Get(c).is_int) << c;
    }
    for (size_t i = 0; i < 4; ++i) {
      for (std::string which : {"clean", "adv"}) {
        const int64_t steps = rows.Get("steps_" + which).ints[i];
        EXPECT_GE(steps, 1);
        EXPECT_LE(steps, max_len);
        // steps = tokens + 1 when <end> came, max_len when it did not.
        EXPECT_EQ(steps, rows.Get("length_" + which).ints[i] + rows.Get("ended_" + which).ints[i]);
        EXPECT_GT(rows.Get("latency_" + which + "_ms").reals[i], 0);
        const double pend = rows.Get("pend_mean_" + which).reals[i];
        EXPECT_TRUE(pend >= 0 && pend <= 1) << pend;
      }
    }
    // Output texts: words of the captions, characters of the translations.
    const Column& text = rows.Get("text_clean");
    ASSERT_TRUE(text.is_text);
    ASSERT_EQ(text.texts.size(), 4u);
    ASSERT_TRUE(rows.Get("text_adv").is_text);
    EXPECT_EQ(rows.Get("sample_index").ints,
              (std::vector<int64_t>{u.plan.sample_begin, u.plan.sample_begin + 1,
                                    u.plan.sample_begin + 2, u.plan.sample_begin + 3}));
    if (u.plan.attack == "clean") {
      EXPECT_EQ(rows.Get("steps_adv").ints, rows.Get("steps_clean").ints);
      EXPECT_EQ(rows.Get("text_adv").texts, text.texts);
      EXPECT_DOUBLE_EQ(u.metrics.at("mean_iloops"), 0.0);
      EXPECT_DOUBLE_EQ(u.metrics.at("bleu4_adv"), u.metrics.at("bleu4_clean"));
      EXPECT_DOUBLE_EQ(u.metrics.at(captioner ? "max_l2" : "max_edits"), 0.0);
    } else if (captioner) {
      // Within the budget: l2 is the sum of squared differences <= 1.0;
      // linf the largest change <= 0.03.
      const bool l2 = u.plan.params_json.find("\"l2\"") != std::string::npos;
      EXPECT_LE(u.metrics.at(l2 ? "max_l2" : "max_linf"), (l2 ? 1.0 : 0.03) + 1e-6)
          << u.plan.params_json;
    } else {
      // NMTSloth keeps an edit only if it lengthens the output.
      for (size_t i = 0; i < 4; ++i) {
        const int64_t edits = rows.Get("edits").ints[i];
        EXPECT_LE(edits, 1);
        if (edits == 0) continue;
        EXPECT_GT(rows.Get("steps_adv").ints[i], rows.Get("steps_clean").ints[i]) << i;
        EXPECT_FALSE(rows.Get("source_adv").texts[i].empty());
      }
    }
    EXPECT_EQ(rows.Has("edits"), !captioner);
    EXPECT_EQ(rows.Has("l2"), captioner);
    // The stored summary is the rows' summary (BLEU comes from the references).
    for (const auto& [name, value] : SummarizeD2(rows)) {
      if (std::isnan(value)) continue;
      ASSERT_TRUE(u.metrics.count(name)) << name;
      EXPECT_DOUBLE_EQ(u.metrics.at(name), value) << u.plan.unit_id << " " << name;
    }
    for (std::string m : {"bleu4_clean", "bleu4_adv", "bleu_adv_match1", "bleu_clean_ref_len"}) {
      EXPECT_TRUE(u.metrics.count(m)) << m;
    }
  }
  EXPECT_EQ(pairs.count("captioner-lstm/fashion-mnist-scenes/nicgslowdown"), 4u);
  EXPECT_EQ(pairs.count("captioner-gru/fashion-mnist-scenes/clean"), 2u);
  EXPECT_EQ(pairs.count("translator/freedict-eng-deu/nmtsloth"), 1u);
  EXPECT_EQ(pairs.count("sdn-tiny/fashion-mnist/pgd"), 1u);
  EXPECT_EQ(pairs.count("captioner-lstm/fashion-mnist-scenes/pgd"), 0u);

  ASSERT_EQ(Shell(Bin() + " tables " + out, log), 0) << Slurp(log);
  const std::string tables = Slurp(log);
  for (std::string want : {"### D2 decoders", "iloops_mean", "ilatency_max", "bleu4_adv",
                           "| captioner-lstm", "| captioner-gru", "| translator", "| nmtsloth",
                           "norm=l2", "norm=linf", "### D1 early exit", "| sdn-tiny"}) {
    EXPECT_NE(tables.find(want), std::string::npos) << want << "\n" << tables;
  }
}

// Defenses on decoders: the captioner's images through JPEG (and an
// adaptive NICGSlowDown through it), both decoders under a decode cap.
TEST_F(D2Test, MpiRunMeasuresDefenseViewsOfCaptionersAndTranslators) {
  const std::string out = *dir_ + "/d2-defenses";
  const std::string spec = *dir_ + "/d2-defenses.yaml";
  std::ofstream(spec)
      << "name: d2-defenses\nseed: 5\noutput: " << out << "\n"
      << "models:\n"
      << "  - {name: captioner-lstm, path: " << *dir_ << "/captioner-lstm.pt}\n"
      << "  - {name: translator, path: " << *dir_ << "/translator.pt}\n"
      << "datasets:\n"
      << "  - {name: fashion-mnist-scenes, split: test, range: [0, 4]}\n"
      << "  - {name: freedict-eng-deu, split: test, range: [0, 4]}\n"
      << "attacks:\n"
      << "  - name: clean\n"
      << "  - {name: nicgslowdown, params: {norm: l2, iterations: 3, max_len: " << kMaxLen << "}}\n"
      << "defenses:\n  - {name: jpeg, params: {quality: 60}, adaptive: true}\n"
      << "  - {name: decode_cap, params: {steps: 3}}\n"
      << "measure: {latency_repeats: 1, latency_warmup: 0, batch_size: 4}\n";
  const std::string log = *dir_ + "/defenses.log";
  ASSERT_EQ(Shell(Mpirun(2) + Bin() + " run " + spec, log), 0) << Slurp(log);
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  const auto units = index->Units();
  // The captioner: clean, nicgslowdown, nicgslowdown through JPEG; the
  // translator: clean (JPEG does not apply to text).
  ASSERT_EQ(units.size(), 4u);
  int adaptive_units = 0;
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    const bool adaptive = u.plan.spec_json.find("\"adaptive_defense\":\"jpeg\"") != std::string::npos;
    adaptive_units += adaptive;
    const bool captioner = u.plan.model == "captioner-lstm";
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end});
    ASSERT_EQ(rows.rows(), 4u);
    std::vector<std::string> views = {"none"};
    if (captioner) views.push_back("jpeg");
    if (!adaptive) views.push_back("decode_cap");
    EXPECT_EQ(rows.Has("jpeg.steps_adv"), captioner) << u.plan.spec_json;
    EXPECT_EQ(rows.Has("decode_cap.steps_adv"), !adaptive) << u.plan.spec_json;
    for (const std::string& d : views) {
      RowBatch view = ExtractView(rows, d, {"sample_index", "edits"});
      ASSERT_FALSE(view.columns().empty()) << d;
      for (const auto& [name, value] : SummarizeD2(view)) {
        if (std::isnan(value)) continue;
        const std::string key = DefenseViewPrefix(d) + name;
        ASSERT_TRUE(u.metrics.count(key)) << key;
        EXPECT_DOUBLE_EQ(u.metrics.at(key), value) << u.plan.unit_id << " " << key;
      }
      EXPECT_TRUE(u.metrics.count(DefenseViewPrefix(d) + "bleu4_clean")) << d;
    }
    if (!adaptive) {
      for (const char* c : {"decode_cap.steps_clean", "decode_cap.steps_adv"}) {
        for (int64_t steps : rows.Get(c).ints) EXPECT_LE(steps, 3) << c;
      }
    }
    if (captioner) {
      for (double ms : rows.Get("jpeg.defense_clean_ms").reals) EXPECT_GT(ms, 0);
    }
  }
  EXPECT_EQ(adaptive_units, 1);
}

}  // namespace
}  // namespace effrobust
