// The D3 pipeline (grid detector + ByteTrack-style tracker) on test
// sequences of fashion-mnist-sequences, clean and under SlowTrack: per
// sequence, mean tracks held per frame, tracks started, and tracker and
// total time per sequence; then the ratios attack / clean. The numbers
// behind SlowTrack's defaults (docs/results-d3.md).
// Usage: bench_d3 MODEL.pt [SEQUENCES=4] [ITERATIONS=220] [THRESHOLD=0.25] [THREADS=1]
// Environment: STEP (SlowTrack step, 0 = default), SLICES (15), WEIGHT (10);
// FRAMES (30), MIN_ITEMS (2), MAX_ITEMS (5) of the test sequences.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "attacks/slowtrack.h"
#include "data/fashion_mnist.h"
#include "models/detect_and_track.h"
#include "models/detector_trainer.h"

using namespace effrobust;

namespace {

double EnvOr(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v ? std::atof(v) : fallback;
}

struct Totals {
  double held = 0, started = 0, tracker_ms = 0, total_ms = 0, boxes = 0, candidates = 0, frames = 0;
  void Add(const TrackedSequence& s) {
    started += static_cast<double>(s.tracks_started);
    for (const TrackedFrame& f : s.frames) {
      held += static_cast<double>(f.held.held());
      boxes += static_cast<double>(f.boxes.size());
      candidates += static_cast<double>(f.candidates);
      tracker_ms += f.tracker_ms;
      total_ms += f.total_ms();
      frames += 1;
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::printf(
        "usage: bench_d3 MODEL.pt [SEQUENCES=4] [ITERATIONS=220] [THRESHOLD=0.25] "
        "[THREADS=1]\n");
    return argc < 2 ? 2 : 0;
  }
  const int64_t sequences = argc > 2 ? std::atoll(argv[2]) : 4;
  SlowTrackOptions st;
  st.iterations = argc > 3 ? std::atoll(argv[3]) : st.iterations;
  st.step = EnvOr("STEP", st.step);
  st.slices = static_cast<int64_t>(EnvOr("SLICES", static_cast<double>(st.slices)));
  st.selected_weight = EnvOr("WEIGHT", st.selected_weight);
  DetectOptions detect;
  detect.conf_threshold = argc > 4 ? static_cast<float>(std::atof(argv[4])) : 0.25f;
  torch::set_num_threads(argc > 5 ? std::atoi(argv[5]) : 1);

  LoadedDetector loaded = LoadDetector(argv[1]);
  Detector& model = loaded.model;
  model->eval();
  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  SequenceOptions so;
  so.min_items = static_cast<int64_t>(EnvOr("MIN_ITEMS", so.min_items));
  so.max_items = static_cast<int64_t>(EnvOr("MAX_ITEMS", so.max_items));
  so.frames = static_cast<int64_t>(EnvOr("FRAMES", so.frames));
  SequenceGenerator gen(test, kSequenceTestSeed, so);
  const ByteTrackerOptions tracker;
  Totals clean, adv;
  std::printf("seq  held/frame clean  adv   started clean  adv   total ms clean  adv\n");
  for (int64_t i = 0; i < sequences; ++i) {
    const torch::Tensor frames = SequenceFrames(gen.Make(i));
    const TrackedSequence c = DetectAndTrack(model, frames, detect, tracker);
    const torch::Tensor x = SlowTrack(model, frames, st);
    const TrackedSequence a = DetectAndTrack(model, x, detect, tracker);
    Totals tc, ta;
    tc.Add(c);
    ta.Add(a);
    clean.Add(c);
    adv.Add(a);
    std::printf("%3lld  %16.2f %5.2f  %13.0f %4.0f  %14.2f %6.2f\n", static_cast<long long>(i),
                tc.held / tc.frames, ta.held / ta.frames, tc.started, ta.started, tc.total_ms,
                ta.total_ms);
    std::fflush(stdout);
  }
  std::printf("mean candidates/frame clean %.2f adv %.2f\n", clean.candidates / clean.frames,
              adv.candidates / adv.frames);
  std::printf(
      "mean boxes/frame clean %.2f adv %.2f; held/frame clean %.2f adv %.2f (x%.2f); "
      "tracker ms/seq clean %.3f adv %.3f (x%.2f); total ms/seq clean %.2f adv %.2f "
      "(x%.2f)\n",
      clean.boxes / clean.frames, adv.boxes / adv.frames, clean.held / clean.frames,
      adv.held / adv.frames, adv.held / clean.held, clean.tracker_ms / sequences,
      adv.tracker_ms / sequences, adv.tracker_ms / clean.tracker_ms, clean.total_ms / sequences,
      adv.total_ms / sequences, adv.total_ms / clean.total_ms);
  return 0;
}
