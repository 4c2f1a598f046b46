#include "workers/d2_executor.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>

#include "attacks/d2_params.h"
#include "attacks/nicg_slowdown.h"
#include "common/error.h"
#include "common/log.h"
#include "data/scenes.h"
#include "evaluation/bleu.h"
#include "evaluation/d2_summary.h"
#include "evaluation/latency.h"
#include "models/captioner_trainer.h"
#include "models/checkpoint.h"
#include "models/families.h"

namespace effrobust {
namespace {

// Samples between heartbeats while measuring.
constexpr int64_t kCheckpointEvery = 16;

// One input decoded greedily at batch 1.
struct Decoded {
  int64_t steps = 0;   // decoder steps run
  int64_t length = 0;  // tokens emitted, <end> excluded
  bool ended = false;  // <end> came within max_len
  double pend_mean = 0;
  double pend_max = 0;
  std::string text;                 // valid UTF-8
  std::vector<std::string> tokens;  // the output's tokens (for BLEU)
  double latency_ms = 0;
};

// The per-sample columns every D2 unit writes, clean and adversarial.
struct DecodedColumns {
  std::vector<int64_t> steps, length, ended;
  std::vector<double> pend_mean, pend_max, latency;
  std::vector<std::string> text;
  std::vector<Tokens> tokens;

  void Add(const Decoded& d) {
    steps.push_back(d.steps);
    length.push_back(d.length);
    ended.push_back(d.ended ? 1 : 0);
    pend_mean.push_back(d.pend_mean);
    pend_max.push_back(d.pend_max);
    latency.push_back(d.latency_ms);
    text.push_back(d.text);
    tokens.push_back(d.tokens);
  }
  void AddTo(RowBatch* rows, const std::string& which) {
    rows->AddInt("steps_" + which, steps);
    rows->AddInt("length_" + which, length);
    rows->AddInt("ended_" + which, ended);
    rows->AddReal("pend_mean_" + which, pend_mean);
    rows->AddReal("pend_max_" + which, pend_max);
    rows->AddReal("latency_" + which + "_ms", latency);
    rows->AddText("text_" + which, text);
  }
};

// p(<end>) over the first `steps` steps of logits [T, V]: mean and max.
std::pair<double, double> EndProbability(const torch::Tensor& logits, int64_t steps) {
  if (steps <= 0) return {std::nan(""), std::nan("")};
  torch::Tensor p =
      torch::softmax(logits.slice(0, 0, steps).to(torch::kFloat64), 1).select(1, Vocabulary::kEnd);
  return {p.mean().item<double>(), p.max().item<double>()};
}

class D2Executor : public UnitExecutor {
 public:
  explicit D2Executor(const ExecutorPlacement& p) : placement_(p) {}

  std::string held_model() const override { return held_model_; }

  Output Execute(const WorkUnit& unit, const RunOptions& options, ShardWriter& shard,
                 UnitContext& context) override {
    Configure(options);
    LoadModelFor(unit);
    Output out;
    if (family_ == kFamilyCaptioning) {
      out = RunCaptioning(unit, options, shard, context);
    } else {
      throw WorkerError("unit " + unit.id +
                        ": translation units need the translator "
                        "(models/translator.h) and NMTSloth (attacks/nmtsloth.h), which this "
                        "build does not have yet; model '" +
                        unit.model + "' is a " + family_ + " model");
    }
    out.device = device_.str();
    out.device_name = device_name_;
    return out;
  }

 private:
  void Configure(const RunOptions& options) {
    if (configured_) return;
    configured_ = true;
    const WorkerDevice d = ConfigureWorkerDevice(options, placement_);
    device_ = torch::Device(d.device);
    device_name_ = d.name;
  }

  void LoadModelFor(const WorkUnit& unit) {
    const std::string key = unit.model_path + "#" + unit.model_hash;
    if (key == held_key_) return;
    held_key_.clear();
    held_model_.clear();
    captioner_.reset();
    const ModelFile file = ReadModelFile(unit.model_path, unit.dataset);
    const std::string family = FamilyOfArchName(file.meta.arch);
    if (family == kFamilyCaptioning) {
      captioner_ = LoadCaptioner(unit.model_path);
      captioner_->model->to(device_);
    } else if (family != kFamilyTranslation) {
      throw WorkerError("model '" + unit.model + "' (" + unit.model_path + ") has arch '" +
                        file.meta.arch + "', not a D2 decoder (allowed: captioner, translator)");
    }
    family_ = family;
    held_key_ = key;
    held_model_ = unit.model;
    LogInfo("loaded model '" + unit.model + "' (" + file.meta.arch + ", " + family + ") from " +
            unit.model_path);
  }

  // The Fashion-MNIST split the scenes of `split` are composed from (cached).
  const ImageSet& Fmnist(const std::string& split) {
    auto it = fmnist_.find(split);
    if (it != fmnist_.end()) return it->second;
    return fmnist_.emplace(split, LoadFashionMnist(DefaultFashionMnistDir(), split)).first->second;
  }

  // Greedy decoding of one image [1, 1, S, S] on the device, timed.
  Decoded DecodeImage(const torch::Tensor& image, const RunOptions& options) {
    torch::NoGradGuard no_grad;
    Captioner& model = captioner_->model;
    const int64_t max_len = captioner_->max_len;
    GreedyResult g = model->Greedy(image, max_len);
    Decoded d;
    d.steps = g.steps[0];
    d.length = static_cast<int64_t>(g.tokens[0].size());
    d.ended = g.ended[0];
    std::tie(d.pend_mean, d.pend_max) = EndProbability(g.logits[0], d.steps);
    d.text = ToValidUtf8(captioner_->vocab.Decode(g.tokens[0]));
    d.tokens = Vocabulary::Split(d.text, false);
    d.latency_ms = std::nan("");
    if (options.measure.latency_repeats > 0) {
      const bool cuda = device_.is_cuda();
      d.latency_ms = MedianLatencyMs(
          [&] {
            model->Greedy(image, max_len);
            if (cuda) torch::cuda::synchronize();
          },
          options.measure.latency_warmup, options.measure.latency_repeats);
    }
    return d;
  }

  Output RunCaptioning(const WorkUnit& unit, const RunOptions& options, ShardWriter& shard,
                       UnitContext& context) {
    Captioner& model = captioner_->model;
    // The unit's scenes, exactly as the captioner trainer draws them.
    SceneGenerator generator(Fmnist(unit.split), SceneSplitSeed(unit.split), SceneOptions());
    if (generator.options().canvas != model->config().image_size) {
      throw WorkerError(
          "model '" + unit.model + "' takes " + std::to_string(model->config().image_size) + " x " +
          std::to_string(model->config().image_size) + " images but " + kScenesDataset +
          " scenes are " + std::to_string(generator.options().canvas) + " x " +
          std::to_string(generator.options().canvas));
    }
    const std::vector<Scene> scenes = MakeScenes(generator, unit.begin, unit.end);
    const torch::Tensor x = SceneImages(scenes);
    const int64_t n = x.size(0);

    torch::Tensor x_adv;
    if (unit.attack == "clean") {
      x_adv = x.clone();
    } else if (unit.attack == "nicgslowdown") {
      const NicgSlowDownOptions o = NicgSlowDownOptionsFromParams(unit.params);
      const int64_t bs = std::max<int64_t>(1, options.measure.batch_size);
      std::vector<torch::Tensor> parts;
      for (int64_t b = 0; b < n; b += bs) {
        context.Checkpoint();
        NicgSlowDownResult r =
            NicgSlowDown(model, x.slice(0, b, std::min(n, b + bs)).to(device_), o);
        parts.push_back(r.images.detach().to(torch::kCPU));
      }
      x_adv = n > 0 ? torch::cat(parts, 0).contiguous() : x.clone();
    } else {
      throw WorkerError("attack '" + unit.attack + "' does not run on captioning model '" +
                        unit.model + "' (allowed: clean, nicgslowdown)");
    }

    DecodedColumns clean, adv;
    std::vector<int64_t> sample_index(n);
    std::vector<std::vector<Tokens>> references(n);
    for (int64_t i = 0; i < n; ++i) {
      if (i % kCheckpointEvery == 0) context.Checkpoint();
      sample_index[i] = unit.begin + i;
      clean.Add(DecodeImage(x.slice(0, i, i + 1).to(device_), options));
      adv.Add(DecodeImage(x_adv.slice(0, i, i + 1).to(device_), options));
      for (const auto& c : scenes[static_cast<size_t>(i)].captions) {
        references[i].push_back(Vocabulary::Split(c, false));
      }
    }
    RowBatch rows;
    rows.AddInt("sample_index", sample_index);
    clean.AddTo(&rows, "clean");
    adv.AddTo(&rows, "adv");
    torch::Tensor delta = (x_adv - x).flatten(1).to(torch::kFloat64);
    torch::Tensor l2 = delta.pow(2).sum(1).contiguous();  // the attack's l2 budget measure
    torch::Tensor linf = delta.abs().amax(1).contiguous();
    rows.AddReal("l2", std::vector<double>(l2.data_ptr<double>(), l2.data_ptr<double>() + n));
    rows.AddReal("linf", std::vector<double>(linf.data_ptr<double>(), linf.data_ptr<double>() + n));
    if (options.measure.store_adversarial) {
      TensorBlock& t = rows.tensor();
      t.name = "adversarial";
      t.row_shape.assign(x_adv.sizes().begin() + 1, x_adv.sizes().end());
      torch::Tensor f = x_adv.to(torch::kFloat32).contiguous();
      t.data.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    }
    Output out;
    out.rows = shard.Append(unit.id, rows);
    out.metrics = SummarizeD2(rows);
    AddBleuMetrics("clean", CorpusBleuStats(clean.tokens, references), &out.metrics);
    AddBleuMetrics("adv", CorpusBleuStats(adv.tokens, references), &out.metrics);
    return out;
  }

  ExecutorPlacement placement_;
  bool configured_ = false;
  torch::Device device_ = torch::kCPU;
  std::string device_name_;
  std::string family_;
  std::optional<LoadedCaptioner> captioner_;
  std::string held_key_;
  std::string held_model_;
  std::map<std::string, ImageSet> fmnist_;
};

}  // namespace

std::unique_ptr<UnitExecutor> MakeD2Executor(const ExecutorPlacement& placement) {
  return std::make_unique<D2Executor>(placement);
}

void CheckDecoderModelLoads(const std::string& path, const std::string& dataset) {
  const ModelFile file = ReadModelFile(path, dataset);
  const std::string family = FamilyOfArchName(file.meta.arch);
  if (family == kFamilyCaptioning) {
    LoadCaptioner(path);
    return;
  }
  if (family == kFamilyTranslation) {
    throw ModelError("model file '" + path +
                     "' is a translator, which this build cannot load "
                     "yet (models/translator.h is missing)");
  }
  throw ModelError("model file '" + path + "' has arch '" + file.meta.arch +
                   "', not a D2 decoder (allowed: captioner, translator)");
}

}  // namespace effrobust
