// TorchScript detectors end to end (issue 9, D3): one experiment YAML with
// the built-in grid detector (trained in the fixture in seconds) beside a
// scripted detector on fashion-mnist-sequences and a scripted 1-class
// pedestrian detector on a tiny MOT17-layout folder written here (frames by
// OpenCV, seqinfo.ini, gt.txt), all made by
// tests/support/make_torchscript_detector.py with Debian's python3-torch;
// run by the real binary under mpirun: every unit done, the D3 rows and
// metrics for each, the defenses (median with BPDA, nms_cap) and the
// universal Phantom Sponge (fitted on the MOT root's train split) on the
// scripted detectors as on the built-in one. A scripted detector whose
// declared input does not fit its dataset is refused before anything runs.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/fashion_mnist.h"
#include "evaluation/d3_summary.h"
#include "evaluation/defense_views.h"
#include "models/detector_trainer.h"
#include "results/index.h"
#include "results/shard.h"
#include "tests/support/builtin_fixtures.h"
#include "tests/support/process.h"
#include "tests/support/scratch_suite.h"
#include "tests/support/scripted_models.h"

namespace effrobust {
namespace {

using test::Mpirun;
using test::Shell;
using test::Slurp;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

constexpr int kMotFrames = 8;     // frames in each fixture sequence
constexpr int kMotMaxFrames = 6;  // the experiment's max_frames
constexpr int kMotWidth = 96, kMotHeight = 64;

// ROOT/SPLIT/NAME: two pedestrians (class 1) crossing a grey street, a
// static person (class 7) and an ignored row (conf 0) that the reader drops.
void WriteMotSequence(const std::string& root, const std::string& split, const std::string& name,
                      int shift) {
  const fs::path dir = fs::path(root) / split / name;
  fs::create_directories(dir / "img1");
  fs::create_directories(dir / "gt");
  std::ofstream(dir / "seqinfo.ini")
      << "[Sequence]\nname=" << name << "\nimDir=img1\nframeRate=30\nseqLength=" << kMotFrames
      << "\nimWidth=" << kMotWidth << "\nimHeight=" << kMotHeight << "\nimExt=.jpg\n";
  std::ofstream gt(dir / "gt" / "gt.txt");
  for (int f = 1; f <= kMotFrames; ++f) {
    cv::Mat frame(kMotHeight, kMotWidth, CV_8UC1, cv::Scalar(50));
    const int ax = 8 + shift + 4 * f, bx = 70 - shift - 3 * f;
    cv::rectangle(frame, cv::Rect(ax, 12, 12, 30), cv::Scalar(220), cv::FILLED);
    cv::rectangle(frame, cv::Rect(bx, 24, 10, 26), cv::Scalar(200), cv::FILLED);
    ASSERT_TRUE(cv::imwrite((dir / "img1" / cv::format("%06d.jpg", f)).string(), frame));
    gt << f << ",1," << ax << ",12,12,30,1,1,1\n";
    gt << f << ",2," << bx << ",24,10,26,1,1,1\n";
    gt << f << ",3,2,2,6,14,1,7,1\n";
    gt << f << ",4,40,40,8,8,0,1,1\n";
  }
}

class TorchScriptD3Test : public test::ScratchSuite<TorchScriptD3Test> {
 protected:
  static void SetUpTestSuite() {
    if (!test::HavePythonTorch()) return;
    if (!fs::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) return;
    MakeScratch("torchscript-d3");
    made_ = test::RunModelScript("make_torchscript_detector.py", *dir_ + "/ts",
                                 DefaultFashionMnistDir(), *dir_ + "/make.log");
    // The built-in detector, small and briefly trained (as integration_d3_test).
    test::SaveTinyDetector(*dir_ + "/detector.pt");
    const std::string mot = *dir_ + "/MOT17";
    WriteMotSequence(mot, "train", "MOT17-02-TINY", 0);
    WriteMotSequence(mot, "train", "MOT17-04-TINY", 6);
    WriteMotSequence(mot, "test", "MOT17-01-TINY", 3);
  }
};

double Sum(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

TEST_F(TorchScriptD3Test, OneYamlRunsTheBuiltInAndScriptedDetectorsOnSequencesAndMot17) {
  const std::string out = *dir_ + "/run";
  const std::string spec = *dir_ + "/side-by-side.yaml";
  std::ofstream(spec) << "name: d3-side-by-side\nseed: 3\noutput: " << out << "\n"
                      << "models:\n"
                      << "  - {name: builtin, path: " << *dir_ << "/detector.pt}\n"
                      << "  - {name: ts-det, torchscript: " << *dir_
                      << "/ts/detector.pt, family: detection, dataset: fashion-mnist-sequences}\n"
                      << "  - {name: ts-ped, torchscript: " << *dir_
                      << "/ts/pedestrian.pt, family: detection, dataset: mot17}\n"
                      << "datasets:\n"
                      << "  - {name: fashion-mnist-sequences, split: test, range: [0, 2]}\n"
                      << "  - {name: mot17, path: " << *dir_
                      << "/MOT17, split: test, range: [0, 1], max_frames: " << kMotMaxFrames
                      << "}\n"
                      << "attacks:\n"
                      << "  - name: clean\n"
                      << "  - {name: overload, params: {iterations: 8}}\n"
                      << "  - {name: phantom_sponge, params: {mode: universal, fit_sequences: 2, "
                         "epochs: 1}}\n"
                      << "defenses:\n  - none\n  - {name: median, params: {k: 3}, adaptive: true}\n"
                      << "  - {name: nms_cap, params: {candidates: 2}}\n";
  const std::string log = *dir_ + "/run.log";
  ASSERT_EQ(Shell(Mpirun(2) + Bin() + " run " + spec, log), 0) << Slurp(log);
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  const auto units = index->Units();
  // Per model: clean, overload, phantom_sponge, and both attacks through the median.
  ASSERT_EQ(units.size(), 15u);
  std::map<std::string, int> per_model;
  std::map<std::string, double> overload_gain;  // model -> candidates adv / clean at 0.25
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    ++per_model[u.plan.model];
    const bool mot = u.plan.model == "ts-ped";
    EXPECT_EQ(u.plan.dataset, mot ? "mot17" : "fashion-mnist-sequences") << u.plan.model;
    const size_t frames = mot ? kMotMaxFrames : 30, sequences = mot ? 1 : 2;
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end});
    ASSERT_EQ(rows.rows(), sequences * 3 * frames) << u.plan.model << " " << u.plan.attack;
    if (mot) {
      // The two considered pedestrians; the static person and the ignored row dropped.
      for (int64_t t : rows.Get("truth").ints) EXPECT_EQ(t, 2);
    }
    for (const auto& [name, value] : SummarizeD3(rows)) {
      if (std::isnan(value)) continue;
      ASSERT_TRUE(u.metrics.count(name)) << name;
      EXPECT_DOUBLE_EQ(u.metrics.at(name), value) << u.plan.unit_id << " " << name;
    }
    EXPECT_TRUE(u.metrics.count("t25_ap50_gt_clean")) << u.plan.model;
    const bool adaptive = u.plan.spec_json.find("\"adaptive_defense\"") != std::string::npos;
    EXPECT_EQ(rows.Has("nms_cap.boxes_adv"), !adaptive);
    EXPECT_TRUE(rows.Has("median.candidates_adv"));
    if (u.plan.attack == "clean") {
      EXPECT_EQ(rows.Get("candidates_adv").ints, rows.Get("candidates_clean").ints);
      if (mot) {
        // Detector class 0 is MOT class 1 (pedestrian): a wrong mapping scores 0.
        const double ap = u.metrics.at("t25_ap50_gt_clean");
        std::printf("ts-ped on mot17: AP50 %.3f at threshold 0.25, %.2f candidates per frame\n", ap,
                    Sum(rows.Get("candidates_clean").ints) / static_cast<double>(rows.rows()));
        EXPECT_GT(ap, 0.1);  // measured 0.69
      }
    }
    if (u.plan.attack == "overload" && !adaptive) {
      double clean = 0, adv = 0;
      const Column& thr = rows.Get("threshold");
      for (size_t r = 0; r < rows.rows(); ++r) {
        if (thr.reals[r] != 0.25) continue;
        clean += static_cast<double>(rows.Get("candidates_clean").ints[r]);
        adv += static_cast<double>(rows.Get("candidates_adv").ints[r]);
      }
      overload_gain[u.plan.model] = adv / std::max(clean, 1.0);
      std::printf("%s: overload candidates at 0.25: %.0f -> %.0f\n", u.plan.model.c_str(), clean,
                  adv);
    }
  }
  for (const char* m : {"builtin", "ts-det", "ts-ped"}) EXPECT_EQ(per_model[m], 5) << m;
  // Measured: ts-det 99 -> 140, ts-ped 28 -> 30 (the briefly trained
  // built-in detector has no candidate at 0.25, clean or attacked).
  EXPECT_GT(overload_gain["ts-det"], 1.2);
  EXPECT_GE(overload_gain["ts-ped"], 1.0);
}

TEST_F(TorchScriptD3Test, AScriptedDetectorThatDoesNotFitItsDatasetIsRefusedBeforeAnythingRuns) {
  const std::string out = *dir_ + "/refused";
  const std::string spec = *dir_ + "/refused.yaml";
  std::ofstream(spec) << "name: d3-refused\noutput: " << out << "\n"
                      << "models:\n"
                      << "  - {name: ts-ped, torchscript: " << *dir_
                      << "/ts/pedestrian.pt, family: detection, dataset: fashion-mnist-sequences}\n"
                      << "datasets: [{name: fashion-mnist-sequences, split: test, range: [0, 1]}]\n"
                      << "attacks: [{name: clean}]\n";
  const std::string log = *dir_ + "/refused.log";
  EXPECT_EQ(Shell(Bin() + " plan " + spec, log), 2);
  const std::string text = Slurp(log);
  EXPECT_NE(text.find("declares 1x48x48 inputs and 1 classes, but dataset "
                      "'fashion-mnist-sequences' has 1x64x64 frames and 10 classes"),
            std::string::npos)
      << text;
  EXPECT_FALSE(fs::exists(out + "/index.sqlite"));
}

}  // namespace
}  // namespace effrobust
