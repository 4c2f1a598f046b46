#include "workers/d1_executor.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "attacks/attack.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "data/cifar10.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "defenses/defended_victim.h"
#include "defenses/input_detector.h"
#include "defenses/torch_transforms.h"
#include "workers/defense_inputs.h"
#include "evaluation/d1_summary.h"
#include "evaluation/defense_views.h"
#include "evaluation/latency.h"
#include "models/adaptive_vit_trainer.h"
#include "models/adversarial_training.h"
#include "models/captioner_trainer.h"
#include "models/detector_trainer.h"
#include "models/families.h"
#include "models/translator_trainer.h"
#include "data/translation_pairs.h"
#include "models/checkpoint.h"
#include "models/victim_loader.h"
#include "models/skip_net_trainer.h"
#include "models/trainer.h"
#include "workers/device.h"

namespace effrobust {
namespace {

class D1Executor : public UnitExecutor {
 public:
  explicit D1Executor(const ExecutorPlacement& p) : placement_(p) {}

  std::string held_model() const override { return held_model_; }

  Output Execute(const WorkUnit& unit, const RunOptions& options, ShardWriter& shard,
                 UnitContext& context) override {
    Configure(options);
    LoadModelFor(unit);
    VictimModel& victim = *loaded_.victim;
    const ImageSet& set = Dataset(unit.dataset, unit.data_path, unit.split);
    torch::Tensor x = ImagesTensor(set, unit.begin, unit.end);
    torch::Tensor y = LabelsTensor(set, unit.begin, unit.end);
    const int64_t n = x.size(0);

    // Per-sample random streams from (experiment seed, unit id, sample id).
    const uint64_t unit_hash = Fnv1a64(unit.id);
    std::vector<uint64_t> seeds(n);
    for (int64_t i = 0; i < n; ++i) {
      seeds[i] = MixSeed(static_cast<uint64_t>(unit.seed), unit_hash,
                         static_cast<uint64_t>(unit.begin + i));
    }

    // An adaptive unit attacks the model behind its defense (BPDA).
    std::unique_ptr<DefendedVictim> defended;
    if (!unit.adaptive_defense.empty()) {
      defended = std::make_unique<DefendedVictim>(victim, UnitTransform(unit, unit.adaptive_defense));
    }
    VictimModel& target = defended ? static_cast<VictimModel&>(*defended) : victim;
    std::shared_ptr<Attack> attack = AttackFor(unit, target, context);
    std::vector<torch::Tensor> adv_parts;
    const int64_t bs = std::max<int64_t>(1, options.measure.batch_size);
    for (int64_t b = 0; b < n; b += bs) {
      const int64_t e = std::min(n, b + bs);
      std::vector<uint64_t> batch_seeds(seeds.begin() + b, seeds.begin() + e);
      context.Checkpoint();
      torch::Tensor xb = x.slice(0, b, e).to(device_);
      torch::Tensor yb = y.slice(0, b, e).to(device_);
      adv_parts.push_back(attack->Run(target, xb, yb, batch_seeds).detach().to(torch::kCPU));
    }
    torch::Tensor x_adv = torch::cat(adv_parts, 0).contiguous();

    torch::NoGradGuard no_grad;
    std::vector<int64_t> sample_index(n), labels(n);
    auto lab = y.accessor<int64_t, 1>();
    for (int64_t i = 0; i < n; ++i) {
      sample_index[i] = unit.begin + i;
      labels[i] = lab[i];
    }
    RowBatch rows;
    rows.AddInt("sample_index", sample_index);
    RowBatch plain = MeasureView(x, x_adv, labels, bs, options, context);
    AppendColumns(plain, "", {}, &rows);
    Output out;
    out.metrics = SummarizeD1(plain, layout_);
    // Every defense on the same clean and adversarial inputs (attack once).
    for (const UnitDefense& d : unit.defenses) {
      if (d.name == "input_detector") {
        // Features: the channel means of the victim's activations.
        auto features = [&](const torch::Tensor& b) {
          return ActivationMeanFeatures(victim.Forward(b.to(device_), true).activations);
        };
        AddInputDetectorView(UnitInputDetector(unit, d, x, x_adv, sample_index, features, bs),
                             d.name, &rows, &out.metrics);
        continue;
      }
      std::vector<double> clean_ms, adv_ms;
      RowBatch view;
      if (d.name == "exit_cap") {
        ExitCapGuard cap(victim, static_cast<int64_t>(NumberField(d.params, "k")));
        view = MeasureView(x, x_adv, labels, bs, options, context);
        clean_ms.assign(n, std::nan(""));
        adv_ms = clean_ms;
      } else {
        std::shared_ptr<const Transform> t = UnitTransform(unit, d.name);
        context.Checkpoint();
        torch::Tensor xd = TransformEach(*t, x, &clean_ms);
        torch::Tensor xad = TransformEach(*t, x_adv, &adv_ms);
        view = MeasureView(xd, xad, labels, bs, options, context);
      }
      const double mean_ms = AddDefenseTiming(clean_ms, adv_ms, &view);
      std::map<std::string, double> m = SummarizeD1(view, layout_);
      m["mean_defense_ms"] = mean_ms;
      AddViewMetrics(m, d.name, &out.metrics);
      AppendColumns(view, DefenseViewPrefix(d.name), {"label"}, &rows);
    }
    if (options.measure.store_adversarial) StoreAdversarial(x_adv, &rows);
    out.rows = shard.Append(unit.id, rows);
    out.device = device_.str();
    out.device_name = device_name_;
    return out;
  }

 private:
  // Sets the victim's exit cap for a scope (the exit_cap defense).
  class ExitCapGuard {
   public:
    ExitCapGuard(VictimModel& victim, int64_t k) : victim_(victim) { victim_.SetExitCap(k); }
    ~ExitCapGuard() { victim_.SetExitCap(0); }

   private:
    VictimModel& victim_;
  };

  // Every D1 column (see evaluation/d1_summary.h) but sample_index for the
  // clean inputs `x` and the adversarial `x_adv`, as the held model runs
  // them now (a defense view passes transformed inputs or sets a cap).
  RowBatch MeasureView(const torch::Tensor& x, const torch::Tensor& x_adv,
                       const std::vector<int64_t>& labels, int64_t bs, const RunOptions& options,
                       UnitContext& context) {
    const int64_t n = x.size(0);
    RowBatch rows;
    rows.AddInt("label", labels);
    rows.AddInt("pred_clean", FinalPredictions(x, bs, context));
    rows.AddInt("pred_adv", FinalPredictions(x_adv, bs, context));
    VictimModel& victim = *loaded_.victim;
    const std::string metric = victim.metric_name();
    for (const std::string& point : victim.OperatingPoints()) {
      const std::string s = PointSuffix(point);
      for (const auto& [which, inputs] : {std::pair<std::string, const torch::Tensor*>{"clean", &x},
                                          {"adv", &x_adv}}) {
        DynamicResult r = MeasureAll(*inputs, point, bs, context);
        rows.AddInt("dynpred_" + which + s, r.pred);
        if (metric == "exit") {
          rows.AddInt(metric + "_" + which + s, std::vector<int64_t>(r.metric.begin(), r.metric.end()));
        } else {
          rows.AddReal(metric + "_" + which + s, r.metric);
        }
        rows.AddReal("flops_" + which + s, r.cost.flops);
        rows.AddReal("energy_" + which + "_pj" + s, r.cost.energy_pj);
        rows.AddReal("energy_worst_" + which + "_pj" + s, r.cost.energy_worst_pj);
        std::vector<double> density(n);
        for (int64_t i = 0; i < n; ++i) {
          density[i] = r.cost.act_total[i] > 0 ? r.cost.act_nonzero[i] / r.cost.act_total[i] : 0.0;
        }
        rows.AddReal("density_" + which + s, density);
        std::vector<double> latency(n);
        for (int64_t i = 0; i < n; ++i) {
          if (i % 16 == 0) context.Checkpoint();
          latency[i] = Latency((*inputs)[i].unsqueeze(0), point, options);
        }
        rows.AddReal("latency_" + which + "_ms" + s, latency);
      }
    }
    torch::Tensor delta = (x_adv - x).flatten(1).to(torch::kFloat64);
    torch::Tensor linf = delta.abs().amax(1).contiguous();
    torch::Tensor l2 = delta.norm(2, 1).contiguous();
    rows.AddReal("linf", std::vector<double>(linf.data_ptr<double>(), linf.data_ptr<double>() + n));
    rows.AddReal("l2", std::vector<double>(l2.data_ptr<double>(), l2.data_ptr<double>() + n));
    return rows;
  }

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
    loaded_ = LoadVictim(unit.model_path, unit.dataset);
    loaded_.victim->module().to(device_);
    VictimModel& victim = *loaded_.victim;
    layout_ = D1Layout();
    layout_.metric = victim.metric_name();
    layout_.points = victim.OperatingPoints();
    layout_.full_flops = victim.full_flops();
    if (victim.family() == kFamilyEarlyExit) layout_.exit_flops = loaded_.meta.exit_flops;
    held_key_ = key;
    held_model_ = unit.model;
    universal_.clear();
    LogInfo("loaded model '" + unit.model + "' (" + loaded_.meta.arch + ", " + victim.family() +
            ") from " + unit.model_path);
  }

  // The unit's attack. A universal one is fitted on the first
  // fit_samples() training images, seeded by (experiment seed, model,
  // attack, parameters), so every unit of the attack applies the same
  // perturbation whichever rank runs it; the fitted attack is kept for the
  // held model's later units.
  std::shared_ptr<Attack> AttackFor(const WorkUnit& unit, VictimModel& target,
                                    UnitContext& context) {
    std::shared_ptr<Attack> attack = MakeAttack(unit.attack, unit.params);
    if (attack->fit_samples() <= 0) return attack;
    std::string key = unit.attack + "#" + CanonicalJson(unit.params);
    // Fitted through the adaptive defense: its own key (and seed).
    for (const UnitDefense& d : unit.defenses) {
      if (d.name == unit.adaptive_defense) key += "#through#" + d.name + CanonicalJson(d.params);
    }
    auto it = universal_.find(key);
    if (it != universal_.end()) return it->second;
    context.Checkpoint();
    const ImageSet& train = Dataset(unit.dataset, unit.data_path, "train");
    const int64_t m = std::min<int64_t>(attack->fit_samples(), train.count);
    torch::Tensor fx = ImagesTensor(train, 0, m).to(device_);
    torch::Tensor fy = LabelsTensor(train, 0, m).to(device_);
    const uint64_t seed = MixSeed(static_cast<uint64_t>(unit.seed),
                                  Fnv1a64(unit.model_hash + "#" + key), 0);
    const double t0 = MonotonicSeconds();
    attack->Fit(target, fx, fy, seed);
    LogInfo("fitted universal '" + unit.attack + "' on " + std::to_string(m) +
            " training images in " + FormatNumber(std::round((MonotonicSeconds() - t0) * 10) / 10) +
            " s");
    universal_[key] = attack;
    return attack;
  }

  // Final-classifier predictions (every dynamic part on) in batches.
  std::vector<int64_t> FinalPredictions(const torch::Tensor& inputs, int64_t bs,
                                        UnitContext& context) {
    std::vector<int64_t> out;
    const int64_t n = inputs.size(0);
    for (int64_t b = 0; b < n; b += bs) {
      context.Checkpoint();
      torch::Tensor p = loaded_.victim->Forward(inputs.slice(0, b, std::min(n, b + bs)).to(device_))
                            .logits.argmax(1)
                            .cpu()
                            .contiguous();
      out.insert(out.end(), p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + p.numel());
    }
    return out;
  }

  // Measured dynamic inference of all inputs at `point`, in batches.
  DynamicResult MeasureAll(const torch::Tensor& inputs, const std::string& point, int64_t bs,
                           UnitContext& context) {
    DynamicResult all;
    const int64_t n = inputs.size(0);
    for (int64_t b = 0; b < n; b += bs) {
      context.Checkpoint();
      DynamicResult r =
          loaded_.victim->Measure(inputs.slice(0, b, std::min(n, b + bs)).to(device_), point);
      auto append = [](std::vector<double>& to, const std::vector<double>& from) {
        to.insert(to.end(), from.begin(), from.end());
      };
      all.pred.insert(all.pred.end(), r.pred.begin(), r.pred.end());
      append(all.metric, r.metric);
      append(all.cost.flops, r.cost.flops);
      append(all.cost.macs, r.cost.macs);
      append(all.cost.energy_pj, r.cost.energy_pj);
      append(all.cost.energy_worst_pj, r.cost.energy_worst_pj);
      append(all.cost.act_nonzero, r.cost.act_nonzero);
      append(all.cost.act_total, r.cost.act_total);
    }
    return all;
  }

  double Latency(const torch::Tensor& sample, const std::string& point, const RunOptions& options) {
    if (options.measure.latency_repeats <= 0) return std::nan("");
    torch::Tensor s = sample.to(device_);
    VictimModel& victim = *loaded_.victim;
    const bool cuda = device_.is_cuda();
    return MedianLatencyMs(
        [&] {
          victim.InferOne(s, point);
          if (cuda) torch::cuda::synchronize();
        },
        options.measure.latency_warmup, options.measure.latency_repeats);
  }

  // fashion-mnist from DefaultFashionMnistDir(), cifar10 from the unit's
  // `path` (`dir`); kept per (dataset, directory, split).
  const ImageSet& Dataset(const std::string& name, const std::string& dir,
                          const std::string& split) {
    const std::string key = name + "/" + dir + "/" + split;
    auto it = data_.find(key);
    if (it != data_.end()) return it->second;
    if (name == kCifar10Dataset) {
      if (dir.empty()) throw WorkerError("dataset '" + name + "' needs a path (none in the unit)");
      return data_.emplace(key, LoadCifar10(dir, split)).first->second;
    }
    if (name != "fashion-mnist") throw WorkerError("unknown dataset '" + name + "'");
    return data_.emplace(key, LoadFashionMnist(DefaultFashionMnistDir(), split)).first->second;
  }

  ExecutorPlacement placement_;
  bool configured_ = false;
  torch::Device device_ = torch::kCPU;
  std::string device_name_;
  LoadedVictim loaded_;
  D1Layout layout_;
  // Universal attacks fitted for the held model, by attack and parameters.
  std::map<std::string, std::shared_ptr<Attack>> universal_;
  std::string held_key_;
  std::string held_model_;
  std::map<std::string, ImageSet> data_;
};

}  // namespace

std::unique_ptr<UnitExecutor> MakeD1Executor(const ExecutorPlacement& placement) {
  return std::make_unique<D1Executor>(placement);
}

std::string TorchVersion() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

namespace {

std::string DefaultModelName(const std::string& arch, const std::string& cell) {
  if (arch == "multi_exit_cnn") return "sdn-fmnist";
  if (arch == "skip_net") return "skipnet-fmnist";
  if (arch == "adaptive_vit") return "avit-fmnist";
  if (arch == "captioner") return "captioner-" + (cell.empty() ? std::string("lstm") : cell);
  if (arch == "translator") return "translator";
  if (arch == "detector") return "detector-fmnist";
  return arch + "-fmnist";
}

}  // namespace

void TrainAndSaveModel(const TrainRequest& r) {
  if (!r.force && std::filesystem::exists(r.out_path)) {
    throw ModelError("'" + r.out_path + "' already exists; pass --force to replace it");
  }
  const int threads = r.threads > 0 ? r.threads : std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  const bool text = r.arch == "translator";
  const std::string dir = !r.data_dir.empty() ? r.data_dir
                          : text              ? DefaultFreeDictDir()
                                              : DefaultFashionMnistDir();
  ImageSet train, test;
  std::vector<DictPair> train_pairs, test_pairs;
  if (text) {
    LogInfo("loading FreeDict English-German word pairs from " + dir);
    train_pairs = LoadTranslationPairs(dir, "train");
    test_pairs = LoadTranslationPairs(dir, "test");
  } else {
    LogInfo("loading Fashion-MNIST from " + dir);
    train = LoadFashionMnist(dir, "train");
    test = LoadFashionMnist(dir, "test");
  }
  TrainOptions o;
  o.name = r.name.empty() ? DefaultModelName(r.arch, r.cell) : r.name;
  o.epochs = r.epochs;
  o.seed = r.seed;
  o.max_train = r.max_train;
  if (r.arch != "adaptive_vit" && (r.vit_patch > 0 || r.vit_depth > 0 || r.vit_ponder_weight >= 0 ||
                                    r.vit_gate_scale >= 0 || r.vit_gate_center >= 0)) {
    throw ModelError(
        "--patch, --depth, --ponder-weight, --gate-scale and --gate-center apply to --arch "
        "adaptive_vit only, not '" + r.arch + "'");
  }
  if (r.arch != "captioner" && r.arch != "translator" && !r.cell.empty()) {
    throw ModelError("--cell applies to --arch captioner or translator only, not '" + r.arch + "'");
  }
  if (r.arch != "captioner" && r.arch != "detector" && r.scenes > 0) {
    throw ModelError("--scenes applies to --arch captioner or detector only, not '" + r.arch + "'");
  }
  AdversarialOptions at;
  if (!r.adversarial.empty()) {
    at.mode = ParseAdversarialMode(r.adversarial);
    at.epsilon = r.at_epsilon;
    at.step = r.at_step;
    at.steps = r.at_steps;
    at.mix = r.at_mix;
    at.seed = static_cast<uint64_t>(r.seed);
    o.adversarial = MakeAdversarialTrainingHook(r.arch, at);  // checks arch and values
    LogInfo("adversarial training: " + AdversarialLabel(r.arch, at));
  }
  const double t0 = MonotonicSeconds();
  o.progress = [&](int epoch, int64_t batch, int64_t batches, double loss) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "[train] epoch %d/%d batch %lld/%lld loss %.4f (%.0f s)",
                  epoch + 1, r.epochs, static_cast<long long>(batch),
                  static_cast<long long>(batches), loss, MonotonicSeconds() - t0);
    LogInfo(buf);
  };
  LogInfo("training '" + o.name + "' (" + r.arch + ") for " + std::to_string(r.epochs) + " epoch(s) on " +
          std::to_string(threads) + " thread(s)");
  TrainedModel trained;
  if (r.arch == "multi_exit_cnn") {
    TrainResult result = TrainMultiExit(train, test, o);
    trained.module = result.model.ptr();
    trained.meta = result.meta;
    std::string acc;
    for (double a : result.meta.exit_accuracy) acc += " " + FormatNumber(std::round(a * 1e4) / 1e4);
    std::string flops;
    for (double f : result.meta.exit_flops) flops += " " + FormatNumber(std::round(f));
    trained.summary = "per-exit test accuracy" + acc + "; FLOPs" + flops + "; q(rad5)=" +
                      FormatNumber(result.meta.thresholds["rad5"]) +
                      " q(rad15)=" + FormatNumber(result.meta.thresholds["rad15"]);
    const char* sep = "; clean test early exit at ";
    for (const auto& [point, c] :
         MeasureExitCost(result.model, result.meta.thresholds, ImagesTensor(test, 0, test.count),
                         LabelsTensor(test, 0, test.count))) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "%s%s: accuracy %.4f, mean exit %.3f, FLOPs share %.3f", sep,
                    point.c_str(), c.accuracy, c.mean_exit, c.flops_share);
      trained.summary += buf;
      sep = ", ";
    }
  } else if (r.arch == "skip_net") {
    trained = TrainSkipNet(train, test, o);
  } else if (r.arch == "adaptive_vit") {
    AdaptiveVitTrainOptions vit;
    if (r.vit_patch > 0) vit.config.patch = r.vit_patch;
    if (r.vit_depth > 0) vit.config.depth = r.vit_depth;
    if (r.vit_ponder_weight >= 0) vit.ponder_weight = r.vit_ponder_weight;
    if (r.vit_gate_scale >= 0) vit.config.gate_scale = r.vit_gate_scale;
    if (r.vit_gate_center >= 0) vit.config.gate_center = r.vit_gate_center;
    if (train.height % vit.config.patch != 0) {
      throw ModelError("--patch " + std::to_string(vit.config.patch) + " must divide the image side " +
                       std::to_string(train.height));
    }
    trained = TrainAdaptiveVit(train, test, o, vit);
  } else if (r.arch == "captioner") {
    CaptionerTrainOptions cap;
    if (!r.cell.empty()) cap.config.cell = r.cell;
    if (cap.config.cell != "lstm" && cap.config.cell != "gru") {
      throw ModelError("--cell '" + cap.config.cell + "' (allowed: lstm, gru)");
    }
    if (r.scenes > 0) cap.train_scenes = r.scenes;
    o.batch_size = 64;
    LogInfo("captioner: " + std::to_string(cap.train_scenes) + " training scenes from the train "
            "split, " + std::to_string(cap.test_scenes) + " test scenes from the test split");
    trained = TrainCaptioner(train, test, o, cap);
  } else if (r.arch == "translator") {
    TranslatorTrainOptions tr;
    if (!r.cell.empty()) tr.config.cell = r.cell;
    if (tr.config.cell != "lstm" && tr.config.cell != "gru") {
      throw ModelError("--cell '" + tr.config.cell + "' (allowed: lstm, gru)");
    }
    if (r.scenes > 0) throw ModelError("--scenes applies to --arch captioner only");
    o.batch_size = 64;
    LogInfo("translator: " + std::to_string(train_pairs.size()) + " training pairs, " +
            std::to_string(test_pairs.size()) + " test pairs (characters)");
    trained = TrainTranslator(train_pairs, test_pairs, o, tr);
  } else if (r.arch == "detector") {
    DetectorTrainOptions det;
    if (r.scenes > 0) det.train_scenes = r.scenes;
    o.batch_size = 64;
    o.lr = 2e-3;
    LogInfo("detector: " + std::to_string(det.train_scenes) + " training scenes from the train "
            "split, " + std::to_string(det.test_scenes) + " test scenes from the test split");
    trained = TrainDetector(train, test, o, det);
  } else {
    std::string known;
    for (const auto& [a, family] : ArchFamilies()) known += (known.empty() ? "" : ", ") + a;
    throw ModelError("unknown --arch '" + r.arch + "' (allowed: " + known + ")");
  }
  if (o.adversarial) {
    trained.meta.adversarial = AdversarialLabel(r.arch, at);
    trained.summary += "; after adversarial training: " + trained.meta.adversarial;
  }
  std::filesystem::path parent = std::filesystem::path(r.out_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  SaveModel(r.out_path, *trained.module, trained.meta, r.force);
  LogInfo("saved " + r.out_path + " in " + std::to_string(static_cast<int>(MonotonicSeconds() - t0)) +
          " s: " + trained.summary);
}

}  // namespace effrobust
