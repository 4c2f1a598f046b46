#include "workers/d3_executor.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "attacks/d3_params.h"
#include "common/error.h"
#include "common/log.h"
#include "data/sequences.h"
#include "defenses/input_detector.h"
#include "defenses/torch_transforms.h"
#include "evaluation/average_precision.h"
#include "evaluation/d3_summary.h"
#include "evaluation/defense_views.h"
#include "evaluation/mota.h"
#include "models/checkpoint.h"
#include "models/detect_and_track.h"
#include "models/detector_trainer.h"
#include "models/families.h"
#include "models/torchscript_detector.h"
#include "models/torchscript_victim.h"
#include "workers/d3_sequences.h"
#include "workers/defense_inputs.h"

namespace effrobust {
namespace {

// Ground-truth objects less visible than this are left out of MOTA and AP:
// most of them is hidden under another item.
constexpr double kTruthVisible = 0.5;

// The detector at `path`: a TorchScript detector (checked against
// `dataset`, "" = not checked) or a checkpoint of the built-in one.
std::shared_ptr<DetectionVictim> LoadDetectionVictim(const std::string& path,
                                                     const std::string& dataset) {
  if (IsTorchScriptVictimFile(path)) return LoadTorchScriptDetector(path, dataset);
  return LoadDetector(path).model.ptr();
}

// The sequences a unit (or its universal perturbation's fit) reads.
D3SequenceSet SequenceSetOf(const WorkUnit& unit, const std::string& split) {
  D3SequenceSet set;
  set.dataset = unit.dataset;
  set.root = unit.data_path;
  set.split = split;
  set.max_frames = unit.max_frames;
  return set;
}

Detection ToDetection(const Box& b, int64_t label) {
  Detection d;
  d.x0 = static_cast<float>(b.x0);
  d.y0 = static_cast<float>(b.y0);
  d.x1 = static_cast<float>(b.x1);
  d.y1 = static_cast<float>(b.y1);
  d.score = 1;
  d.label = label;
  return d;
}

std::vector<MotObject> TruthObjects(const Frame& frame) {
  std::vector<MotObject> out;
  for (const FrameObject& o : frame.objects) {
    if (o.visible >= kTruthVisible) out.push_back(MotObject{o.id, ToDetection(o.box, o.label)});
  }
  return out;
}

std::vector<MotObject> TrackObjects(const std::vector<TrackedObject>& tracks) {
  std::vector<MotObject> out;
  for (const TrackedObject& t : tracks) out.push_back(MotObject{t.id, t.box});
  return out;
}

std::vector<Detection> Boxes(const std::vector<MotObject>& objects) {
  std::vector<Detection> out;
  for (const MotObject& o : objects) out.push_back(o.box);
  return out;
}

// What a unit accumulates at one threshold over its sequences.
struct ThresholdScore {
  MotaAccumulator gt_clean, gt_adv, pseudo;
  ImageBoxes truth, clean, adv;
  double started_clean = 0, started_adv = 0;
};

// The row columns of a D3 unit (evaluation/d3_summary.h).
struct D3Columns {
  std::vector<int64_t> sample_index, frame, truth, candidates_clean, candidates_adv, boxes_clean,
      boxes_adv, tracks_clean, tracks_adv, confirmed_clean, confirmed_adv;
  std::vector<double> threshold, network_clean, network_adv, nms_clean, nms_adv, tracker_clean,
      tracker_adv, total_clean, total_adv, l2, linf;

  void Add(int64_t sample, int64_t t, double thr, int64_t truth_count, const TrackedFrame& c,
           const TrackedFrame& a, double frame_l2, double frame_linf) {
    sample_index.push_back(sample);
    frame.push_back(t);
    truth.push_back(truth_count);
    threshold.push_back(thr);
    candidates_clean.push_back(c.candidates);
    candidates_adv.push_back(a.candidates);
    boxes_clean.push_back(static_cast<int64_t>(c.boxes.size()));
    boxes_adv.push_back(static_cast<int64_t>(a.boxes.size()));
    tracks_clean.push_back(c.held.held());
    tracks_adv.push_back(a.held.held());
    confirmed_clean.push_back(static_cast<int64_t>(c.tracks.size()));
    confirmed_adv.push_back(static_cast<int64_t>(a.tracks.size()));
    network_clean.push_back(c.network_ms);
    network_adv.push_back(a.network_ms);
    nms_clean.push_back(c.nms_ms);
    nms_adv.push_back(a.nms_ms);
    tracker_clean.push_back(c.tracker_ms);
    tracker_adv.push_back(a.tracker_ms);
    total_clean.push_back(c.total_ms());
    total_adv.push_back(a.total_ms());
    l2.push_back(frame_l2);
    linf.push_back(frame_linf);
  }

  void AddTo(RowBatch* rows) {
    rows->AddInt("sample_index", sample_index);
    rows->AddInt("frame", frame);
    rows->AddReal("threshold", threshold);
    rows->AddInt("truth", truth);
    rows->AddInt("candidates_clean", candidates_clean);
    rows->AddInt("candidates_adv", candidates_adv);
    rows->AddInt("boxes_clean", boxes_clean);
    rows->AddInt("boxes_adv", boxes_adv);
    rows->AddInt("tracks_clean", tracks_clean);
    rows->AddInt("tracks_adv", tracks_adv);
    rows->AddInt("confirmed_clean", confirmed_clean);
    rows->AddInt("confirmed_adv", confirmed_adv);
    rows->AddReal("network_clean_ms", network_clean);
    rows->AddReal("network_adv_ms", network_adv);
    rows->AddReal("nms_clean_ms", nms_clean);
    rows->AddReal("nms_adv_ms", nms_adv);
    rows->AddReal("tracker_clean_ms", tracker_clean);
    rows->AddReal("tracker_adv_ms", tracker_adv);
    rows->AddReal("total_clean_ms", total_clean);
    rows->AddReal("total_adv_ms", total_adv);
    rows->AddReal("l2", l2);
    rows->AddReal("linf", linf);
  }
};

class D3Executor : public UnitExecutor {
 public:
  explicit D3Executor(const ExecutorPlacement& p) : placement_(p) {}

  std::string held_model() const override { return held_model_; }

  Output Execute(const WorkUnit& unit, const RunOptions& options, ShardWriter& shard,
                 UnitContext& context) override {
    Configure(options);
    LoadModelFor(unit);
    DetectionVictim& model = *detector_;
    if (!scripted_ && unit.dataset != kSequencesDataset) {
      throw WorkerError("model '" + unit.model + "' is a detector; its units read dataset '" +
                        std::string(kSequencesDataset) + "', not '" + unit.dataset + "'");
    }
    const int64_t size = model.image_size();
    if (unit.dataset == kSequencesDataset && size != SequenceOptions().canvas) {
      const int64_t canvas = SequenceOptions().canvas;
      throw WorkerError("model '" + unit.model + "' takes " + std::to_string(size) + " x " +
                        std::to_string(size) + " images but " + kSequencesDataset +
                        " frames are " + std::to_string(canvas) + " x " + std::to_string(canvas));
    }
    const D3SequenceSet set = SequenceSetOf(unit, unit.split);
    sequences_.CheckRange(set, unit.begin, unit.end);
    WarmUp(size);
    // Attack once: the clean and adversarial frames of every sequence.
    std::vector<Sequence> sequences;
    std::vector<torch::Tensor> clean, adv;
    {
      // An adaptive unit attacks the detector behind its defense (BPDA).
      std::optional<InputStageGuard<DetectionVictim>> stage;
      if (!unit.adaptive_defense.empty()) {
        std::shared_ptr<const Transform> t = UnitTransform(unit, unit.adaptive_defense);
        stage.emplace(model, [t](const torch::Tensor& x) { return BpdaTransform(*t, x); });
      }
      for (int64_t s = unit.begin; s < unit.end; ++s) {
        context.Checkpoint();
        sequences.push_back(sequences_.Get(set, s, size));
        clean.push_back(SequenceFrames(sequences.back()));
        adv.push_back(
            Attack(unit, clean.back().to(device_), context).detach().to(torch::kCPU).contiguous());
      }
    }
    View plain = MeasureView(unit, sequences, clean, adv, 0, context);
    RowBatch rows;
    AppendColumns(plain.rows, "", {}, &rows);
    if (options.measure.store_adversarial) {
      // One adversarial frame per row, rows in (sequence, threshold, frame) order.
      TensorBlock& t = rows.tensor();
      t.name = "adversarial";
      t.row_shape = {model.in_channels(), size, size};
      for (const torch::Tensor& a : adv) {
        for (size_t k = 0; k < D3Thresholds().size(); ++k) {
          t.data.insert(t.data.end(), a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
        }
      }
    }
    Output out;
    out.metrics = plain.metrics;
    // Per-frame values (sequences in order) to rows: every frame appears
    // once per threshold.
    auto to_rows = [&](const std::vector<double>& per_frame) {
      std::vector<double> out_rows;
      size_t first = 0;
      for (const Sequence& sq : sequences) {
        const size_t frames = sq.frames.size();
        for (size_t k = 0; k < D3Thresholds().size(); ++k) {
          out_rows.insert(out_rows.end(), per_frame.begin() + first,
                          per_frame.begin() + first + frames);
        }
        first += frames;
      }
      return out_rows;
    };
    for (const UnitDefense& d : unit.defenses) {
      if (d.name == "input_detector") {
        // Every frame an input, split by sequence; features: the detector's
        // per-candidate outputs, mean and max over candidates.
        const torch::Tensor all_clean = torch::cat(clean, 0), all_adv = torch::cat(adv, 0);
        std::vector<int64_t> source;
        for (size_t i = 0; i < sequences.size(); ++i) {
          source.insert(source.end(), sequences[i].frames.size(), unit.begin + static_cast<int64_t>(i));
        }
        auto features = [&](const torch::Tensor& b) {
          const torch::Tensor f = model.CandidateFeatures(b.to(device_));
          return ActivationMeanFeatures({f, std::get<0>(f.max(1))});
        };
        const InputDetectorResult r =
            UnitInputDetector(unit, d, all_clean, all_adv, source, features, 250);
        std::vector<double> test(r.is_test.begin(), r.is_test.end());
        RowBatch view;
        std::vector<double> test_rows = to_rows(test);
        view.AddInt("test", std::vector<int64_t>(test_rows.begin(), test_rows.end()));
        view.AddReal("p_adv_clean", to_rows(r.p_adv_clean));
        view.AddReal("p_adv_adv", to_rows(r.p_adv_adv));
        AddViewMetrics(r.metrics, d.name, &out.metrics);
        AppendColumns(view, DefenseViewPrefix(d.name), {}, &rows);
        continue;
      }
      std::vector<double> frame_clean_ms, frame_adv_ms;  // per frame, sequences in order
      View view;
      if (d.name == "nms_cap") {
        view = MeasureView(unit, sequences, clean, adv,
                           static_cast<int64_t>(NumberField(d.params, "candidates")), context);
        frame_clean_ms.assign(plain.rows.rows() / D3Thresholds().size(), std::nan(""));
        frame_adv_ms = frame_clean_ms;
      } else {
        std::shared_ptr<const Transform> t = UnitTransform(unit, d.name);
        std::vector<torch::Tensor> dc, da;
        for (size_t i = 0; i < sequences.size(); ++i) {
          context.Checkpoint();
          dc.push_back(TransformEach(*t, clean[i], &frame_clean_ms));
          da.push_back(TransformEach(*t, adv[i], &frame_adv_ms));
        }
        view = MeasureView(unit, sequences, dc, da, 0, context);
      }
      const std::vector<double> row_clean_ms = to_rows(frame_clean_ms);
      const std::vector<double> row_adv_ms = to_rows(frame_adv_ms);
      view.metrics["mean_defense_ms"] = AddDefenseTiming(row_clean_ms, row_adv_ms, &view.rows);
      AddViewMetrics(view.metrics, d.name, &out.metrics);
      AppendColumns(view.rows, DefenseViewPrefix(d.name), {"sample_index", "frame", "threshold", "truth"},
                    &rows);
    }
    out.rows = shard.Append(unit.id, rows);
    out.device = device_.str();
    out.device_name = device_name_;
    return out;
  }

 private:
  // The rows and metrics of one view: every sequence's clean and
  // adversarial frames (CPU) through the pipeline at each threshold.
  struct View {
    RowBatch rows;
    std::map<std::string, double> metrics;
  };

  View MeasureView(const WorkUnit& unit, const std::vector<Sequence>& sequences,
                   const std::vector<torch::Tensor>& clean, const std::vector<torch::Tensor>& adv,
                   int64_t max_candidates, UnitContext& context) {
    DetectionVictim& model = *detector_;
    const std::vector<double>& thresholds = D3Thresholds();
    std::vector<ThresholdScore> scores(thresholds.size());
    const ByteTrackerOptions tracker;
    D3Columns columns;
    for (size_t i = 0; i < sequences.size(); ++i) {
      const Sequence& sequence = sequences[i];
      const int64_t s = unit.begin + static_cast<int64_t>(i);
      const torch::Tensor x_dev = clean[i].to(device_);
      const torch::Tensor adv_dev = adv[i].to(device_);
      const torch::Tensor delta = (adv[i] - clean[i]).flatten(1).to(torch::kFloat64);
      const torch::Tensor l2 = delta.pow(2).sum(1).sqrt().contiguous();
      const torch::Tensor linf = delta.abs().amax(1).contiguous();
      for (size_t k = 0; k < thresholds.size(); ++k) {
        context.Checkpoint();
        DetectOptions detect;
        detect.conf_threshold = static_cast<float>(thresholds[k]);
        detect.max_candidates = max_candidates;
        const TrackedSequence c = DetectAndTrack(model, x_dev, detect, tracker);
        const TrackedSequence a = DetectAndTrack(model, adv_dev, detect, tracker);
        ThresholdScore& score = scores[k];
        score.started_clean += static_cast<double>(c.tracks_started);
        score.started_adv += static_cast<double>(a.tracks_started);
        for (size_t t = 0; t < c.frames.size(); ++t) {
          const std::vector<MotObject> truth = TruthObjects(sequence.frames[t]);
          const std::vector<MotObject> clean_tracks = TrackObjects(c.frames[t].tracks);
          const std::vector<MotObject> adv_tracks = TrackObjects(a.frames[t].tracks);
          score.gt_clean.AddFrame(truth, clean_tracks);
          score.gt_adv.AddFrame(truth, adv_tracks);
          score.pseudo.AddFrame(clean_tracks, adv_tracks);
          score.truth.push_back(Boxes(truth));
          score.clean.push_back(c.frames[t].boxes);
          score.adv.push_back(a.frames[t].boxes);
          const int64_t ti = static_cast<int64_t>(t);
          columns.Add(s, ti, thresholds[k], static_cast<int64_t>(truth.size()), c.frames[t],
                      a.frames[t], l2[ti].item<double>(), linf[ti].item<double>());
        }
      }
    }
    View view;
    columns.AddTo(&view.rows);
    view.metrics = SummarizeD3(view.rows);
    const double n = static_cast<double>(sequences.size());
    for (size_t k = 0; k < thresholds.size(); ++k) {
      const std::string tag = ThresholdTag(thresholds[k]);
      ThresholdScore& score = scores[k];
      std::map<std::string, double>& m = view.metrics;
      AddMotaMetrics(tag + "_gt_clean", score.gt_clean.Result(), &m);
      AddMotaMetrics(tag + "_gt_adv", score.gt_adv.Result(), &m);
      AddMotaMetrics(tag + "_pseudo_adv", score.pseudo.Result(), &m);
      m[tag + "_ap50_gt_clean"] = AveragePrecision(score.clean, score.truth, 0.5).map;
      m[tag + "_ap75_gt_clean"] = AveragePrecision(score.clean, score.truth, 0.75).map;
      m[tag + "_ap50_gt_adv"] = AveragePrecision(score.adv, score.truth, 0.5).map;
      m[tag + "_ap75_gt_adv"] = AveragePrecision(score.adv, score.truth, 0.75).map;
      m[tag + "_ap50_pseudo_adv"] = AveragePrecisionAgainst(score.adv, score.clean, 0.5).map;
      m[tag + "_ap75_pseudo_adv"] = AveragePrecisionAgainst(score.adv, score.clean, 0.75).map;
      m[tag + "_tracks_started_clean"] = n > 0 ? score.started_clean / n : 0;
      m[tag + "_tracks_started_adv"] = n > 0 ? score.started_adv / n : 0;
    }
    return view;
  }

  void Configure(const RunOptions& options) {
    if (configured_) return;
    configured_ = true;
    const WorkerDevice d = ConfigureWorkerDevice(options, placement_);
    device_ = torch::Device(d.device);
    device_name_ = d.name;
  }

  void LoadModelFor(const WorkUnit& unit) {
    // A scripted detector is checked against the unit's dataset at load.
    const std::string key = unit.model_path + "#" + unit.model_hash + "#" + unit.dataset;
    if (key == held_key_) return;
    held_key_.clear();
    held_model_.clear();
    detector_.reset();
    universal_.clear();
    warm_ = false;
    scripted_ = IsTorchScriptVictimFile(unit.model_path);
    detector_ = LoadDetectionVictim(unit.model_path, unit.dataset);
    detector_->module().to(device_);
    detector_->module().eval();
    held_key_ = key;
    held_model_ = unit.model;
    LogInfo("loaded model '" + unit.model + "' (" +
            (scripted_ ? "TorchScript detector" : "detector") + ", " + kFamilyDetection +
            ") from " + unit.model_path);
  }

  // A few untimed passes, so the first measured frame does not pay for
  // allocations and lazy initialisation.
  void WarmUp(int64_t size) {
    if (warm_) return;
    warm_ = true;
    const torch::Tensor frame =
        torch::zeros({1, detector_->in_channels(), size, size}, torch::TensorOptions(device_));
    for (int i = 0; i < 3; ++i) detector_->Detect(frame);
  }

  // The adversarial frames (on the device) of frames `x` (on the device).
  torch::Tensor Attack(const WorkUnit& unit, const torch::Tensor& x, UnitContext& context) {
    DetectionVictim& model = *detector_;
    if (unit.attack == "clean") return x.clone();
    if (unit.attack == "overload")
      return Overload(model, x, OverloadOptionsFromParams(unit.params));
    if (unit.attack == "slowtrack")
      return SlowTrack(model, x, SlowTrackOptionsFromParams(unit.params));
    if (unit.attack == "phantom_sponge") {
      const PhantomSpongeSetting s = PhantomSpongeSettingFromParams(unit.params);
      if (!s.universal) return PhantomSponge(model, x, s.options);
      return (x + UniversalSponge(unit, s, context)).clamp(0, 1);
    }
    throw WorkerError("attack '" + unit.attack + "' does not run on detection model '" +
                      unit.model + "' (allowed: clean, overload, phantom_sponge, slowtrack)");
  }

  // The universal Phantom Sponge perturbation of `unit`'s parameters, fitted
  // once per model on the frames of the first fit_sequences sequences of
  // the train split (mot17: of the unit's root).
  torch::Tensor UniversalSponge(const WorkUnit& unit, const PhantomSpongeSetting& s,
                                UnitContext& context) {
    std::string key = unit.ToPlan().params_json + "#" + unit.dataset + "#" + unit.data_path + "#" +
                      std::to_string(unit.max_frames);
    // Fitted through the adaptive defense (its input stage is on): its own key.
    for (const UnitDefense& d : unit.defenses) {
      if (d.name == unit.adaptive_defense) key += "#through#" + d.name + CanonicalJson(d.params);
    }
    auto it = universal_.find(key);
    if (it != universal_.end()) return it->second;
    context.Checkpoint();
    const D3SequenceSet train = SequenceSetOf(unit, "train");
    sequences_.CheckRange(train, 0, s.fit_sequences);
    std::vector<torch::Tensor> frames;
    for (int64_t i = 0; i < s.fit_sequences; ++i) {
      frames.push_back(SequenceFrames(sequences_.Get(train, i, detector_->image_size())));
    }
    LogInfo("fitting a universal Phantom Sponge on the frames of " +
            std::to_string(s.fit_sequences) + " train sequences");
    torch::Tensor p =
        PhantomSpongeFit(*detector_, torch::cat(frames, 0).to(device_), s.options).detach();
    return universal_.emplace(key, p).first->second;
  }

  ExecutorPlacement placement_;
  bool configured_ = false;
  bool warm_ = false;
  torch::Device device_ = torch::kCPU;
  std::string device_name_;
  std::shared_ptr<DetectionVictim> detector_;
  bool scripted_ = false;  // detector_ is a TorchScript detector
  D3SequenceSource sequences_;
  std::string held_key_;
  std::string held_model_;
  std::map<std::string, torch::Tensor> universal_;  // params json -> perturbation [1, 1, S, S]
};

}  // namespace

const std::vector<double>& D3Thresholds() {
  static const std::vector<double> thresholds = {0.25, 0.5, 0.75};
  return thresholds;
}

std::unique_ptr<UnitExecutor> MakeD3Executor(const ExecutorPlacement& placement) {
  return std::make_unique<D3Executor>(placement);
}

void CheckDetectorModelLoads(const std::string& path, const std::string& dataset) {
  if (IsTorchScriptVictimFile(path)) {
    LoadTorchScriptDetector(path, dataset);
    return;
  }
  const ModelFile file = ReadModelFile(path);
  if (!dataset.empty() && UnitDatasetOf(file.meta.arch, file.meta.dataset) != dataset) {
    throw ModelError("model file '" + path + "' (arch '" + file.meta.arch + "', trained on '" +
                     file.meta.dataset + "') runs on dataset '" +
                     UnitDatasetOf(file.meta.arch, file.meta.dataset) + "', not '" + dataset + "'");
  }
  LoadDetector(path);
}

}  // namespace effrobust
