#include "workers/d2_executor.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <tuple>

#include "attacks/d2_params.h"
#include "attacks/nicg_slowdown.h"
#include "attacks/nmtsloth.h"
#include "common/error.h"
#include "common/log.h"
#include "data/caption_json.h"
#include "data/scenes.h"
#include "data/tensor_view.h"
#include "data/translation_pairs.h"
#include "evaluation/bleu.h"
#include "defenses/input_detector.h"
#include "defenses/torch_transforms.h"
#include "evaluation/d2_summary.h"
#include "evaluation/defense_views.h"
#include "evaluation/latency.h"
#include "models/captioner_trainer.h"
#include "models/captioning_victim.h"
#include "models/checkpoint.h"
#include "models/families.h"
#include "models/torchscript_captioner.h"
#include "models/torchscript_victim.h"
#include "models/translator_trainer.h"
#include "workers/defense_inputs.h"

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
    const bool captioning = family_ == kFamilyCaptioning;
    Output out = captioning ? RunCaptioning(unit, options, shard, context)
                            : RunTranslation(unit, options, shard, context);
    out.device = captioning ? device_.str() : TranslatorDevice().str();
    out.device_name = captioning || device_.is_cpu() ? device_name_ : "cpu";
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
    translator_.reset();
    std::string arch, family;
    if (IsTorchScriptVictimFile(unit.model_path)) {
      // A scripted model (docs/model-contract.md): captioners only here; the
      // loader refuses, naming the file, one that declares another family.
      arch = kArchTorchScript;
      family = kFamilyCaptioning;
      captioner_ = LoadTorchScriptCaptioner(unit.model_path, unit.dataset);
      captioner_->module().to(device_);
    } else {
      const ModelFile file = ReadModelFile(unit.model_path, unit.dataset);
      arch = file.meta.arch;
      family = FamilyOfArchName(arch);
      if (family == kFamilyCaptioning) {
        captioner_ = std::make_unique<CaptionerVictim>(LoadCaptioner(unit.model_path));
        captioner_->module().to(device_);
      } else if (family == kFamilyTranslation) {
        translator_ = LoadTranslator(unit.model_path);
        translator_->model->to(TranslatorDevice());
      } else {
        throw WorkerError("model '" + unit.model + "' (" + unit.model_path + ") has arch '" +
                          arch + "', not a D2 decoder (allowed: captioner, translator)");
      }
    }
    family_ = family;
    held_key_ = key;
    held_model_ = unit.model;
    LogInfo("loaded model '" + unit.model + "' (" + arch + ", " + family + ") from " +
            unit.model_path);
  }

  // The Fashion-MNIST split the scenes of `split` are composed from (cached).
  const ImageSet& Fmnist(const std::string& split) {
    auto it = fmnist_.find(split);
    if (it != fmnist_.end()) return it->second;
    return fmnist_.emplace(split, LoadFashionMnist(DefaultFashionMnistDir(), split)).first->second;
  }

  // NMTSloth builds its source tensors on the CPU, so translators run there
  // (they are small); captioners run on the worker's device.
  static torch::Device TranslatorDevice() { return torch::kCPU; }

  // The translation pairs of a freedict-eng-deu split (cached).
  const std::vector<DictPair>& Pairs(const std::string& split) {
    auto it = pairs_.find(split);
    if (it != pairs_.end()) return it->second;
    return pairs_.emplace(split, LoadTranslationPairs(DefaultFreeDictDir(), split)).first->second;
  }

  // One input decoded by `greedy` (batch 1, under NoGradGuard), its output
  // read with `vocab` and tokenised as the vocabulary splits it (words or
  // bytes); timed when latency is on.
  static Decoded DecodeOne(const std::function<GreedyResult()>& greedy, const Vocabulary& vocab,
                           bool cuda, const RunOptions& options) {
    torch::NoGradGuard no_grad;
    GreedyResult g = greedy();
    Decoded d;
    d.steps = g.steps[0];
    d.length = static_cast<int64_t>(g.tokens[0].size());
    d.ended = g.ended[0];
    std::tie(d.pend_mean, d.pend_max) = EndProbability(g.logits[0], d.steps);
    const std::string raw = vocab.Decode(g.tokens[0]);
    d.text = ToValidUtf8(raw);
    d.tokens = Vocabulary::Split(raw, vocab.characters());
    d.latency_ms = std::nan("");
    if (options.measure.latency_repeats > 0) {
      d.latency_ms = MedianLatencyMs(
          [&] {
            greedy();
            if (cuda) torch::cuda::synchronize();
          },
          options.measure.latency_warmup, options.measure.latency_repeats);
    }
    return d;
  }

  // Greedy captioning of one image [1, C, S, S] on the device, up to
  // max_len tokens, timed.
  Decoded DecodeImage(const torch::Tensor& image, int64_t max_len, const RunOptions& options) {
    CaptioningVictim& model = *captioner_;
    return DecodeOne([&] { return model.Greedy(image, max_len); }, model.vocabulary(),
                     device_.is_cuda(), options);
  }

  // Greedy translation of one source text, up to max_len tokens, timed.
  Decoded DecodeSource(const std::string& source, int64_t max_len, const RunOptions& options) {
    Translator& model = translator_->model;
    const torch::Tensor ids =
        EncodeBatch(translator_->vocab, {source}, false).to(TranslatorDevice());
    return DecodeOne([&] { return model->Greedy(ids, max_len); }, translator_->vocab,
                     TranslatorDevice().is_cuda(), options);
  }

  // A captioning unit's images [n, C, S, S] in [0, 1] and each image's
  // reference captions (tokens) for BLEU.
  struct CaptionInputs {
    torch::Tensor images;
    std::vector<std::vector<Tokens>> references;
  };

  // The unit's fashion-mnist-scenes scenes, exactly as the captioner
  // trainer draws them; references: every phrasing of each scene.
  CaptionInputs SceneInputs(const WorkUnit& unit) {
    const CaptioningVictim& model = *captioner_;
    SceneGenerator generator(Fmnist(unit.split), SceneSplitSeed(unit.split), SceneOptions());
    const int64_t canvas = generator.options().canvas;
    if (canvas != model.image_size() || model.in_channels() != 1) {
      throw WorkerError("model '" + unit.model + "' takes " + std::to_string(model.in_channels()) +
                        " x " + std::to_string(model.image_size()) + " x " +
                        std::to_string(model.image_size()) + " images but " + kScenesDataset +
                        " scenes are 1 x " + std::to_string(canvas) + " x " +
                        std::to_string(canvas));
    }
    const std::vector<Scene> scenes = MakeScenes(generator, unit.begin, unit.end);
    CaptionInputs in;
    in.images = SceneImages(scenes);
    for (const Scene& scene : scenes) {
      std::vector<Tokens> refs;
      for (const auto& c : scene.captions) refs.push_back(Vocabulary::Split(c, false));
      in.references.push_back(refs);
    }
    return in;
  }

  // The entries of `split` in the Karpathy-style JSON `json_path`, in JSON
  // order (parsed once per file and split).
  const CaptionJson& JsonSplit(const std::string& json_path, const std::string& split) {
    const std::string key = json_path + "\n" + split;
    auto it = caption_json_.find(key);
    if (it != caption_json_.end()) return it->second;
    CaptionJson json = ReadCaptionJson(json_path);
    std::vector<CaptionEntry> entries;
    for (CaptionEntry& e : json.entries) {
      if (e.split == split) entries.push_back(std::move(e));
    }
    json.entries = std::move(entries);
    return caption_json_.emplace(key, std::move(json)).first->second;
  }

  // The unit's captions-json images: sample i is the i-th entry of the
  // split in JSON order, decoded and resized to the model's input (colour
  // if it takes 3 channels); references: the entry's sentences' tokens.
  CaptionInputs JsonInputs(const WorkUnit& unit) {
    const CaptioningVictim& model = *captioner_;
    const CaptionJson& split = JsonSplit(unit.data_json, unit.split);
    const int64_t available = static_cast<int64_t>(split.entries.size());
    if (unit.begin < 0 || unit.end > available || unit.end < unit.begin) {
      throw WorkerError("unit " + unit.id + " reads images [" + std::to_string(unit.begin) + ", " +
                        std::to_string(unit.end) + ") of split '" + unit.split + "' but '" +
                        unit.data_json + "' has " + std::to_string(available) +
                        " images in that split (allowed: a range within them)");
    }
    if (model.in_channels() != 1 && model.in_channels() != 3) {
      throw WorkerError("model '" + unit.model + "' takes " + std::to_string(model.in_channels()) +
                        "-channel images, but " + kCaptionJsonDataset +
                        " images are read grey (1) or RGB (3)");
    }
    CaptionJson range;
    range.path = split.path;
    range.dataset = split.dataset;
    range.entries.assign(split.entries.begin() + unit.begin, split.entries.begin() + unit.end);
    CaptionImageOptions o;
    o.size = model.image_size();
    o.colour = model.in_channels() == 3;
    const CaptionSet set = LoadCaptionedImages(range, unit.data_path, {unit.split}, o);
    CaptionInputs in;
    const int64_t n = unit.end - unit.begin;
    in.images = n > 0 ? ImagesTensor(set.images, 0, n)
                      : torch::zeros({0, model.in_channels(), o.size, o.size});
    in.references = set.tokens;
    return in;
  }

  Output RunCaptioning(const WorkUnit& unit, const RunOptions& options, ShardWriter& shard,
                       UnitContext& context) {
    CaptioningVictim& model = *captioner_;
    const CaptionInputs in =
        unit.dataset == kCaptionJsonDataset ? JsonInputs(unit) : SceneInputs(unit);
    const torch::Tensor& x = in.images;
    const std::vector<std::vector<Tokens>>& references = in.references;
    const int64_t n = x.size(0);

    torch::Tensor x_adv;
    if (unit.attack == "clean") {
      x_adv = x.clone();
    } else if (unit.attack == "nicgslowdown") {
      // An adaptive unit attacks the captioner behind its defense (BPDA).
      std::optional<InputStageGuard<CaptioningVictim>> stage;
      if (!unit.adaptive_defense.empty()) {
        std::shared_ptr<const Transform> t = UnitTransform(unit, unit.adaptive_defense);
        stage.emplace(model, [t](const torch::Tensor& im) { return BpdaTransform(*t, im); });
      }
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

    std::vector<int64_t> sample_index(n);
    for (int64_t i = 0; i < n; ++i) sample_index[i] = unit.begin + i;
    RowBatch rows;
    rows.AddInt("sample_index", sample_index);
    Output out;
    View plain = CaptionView(x, x_adv, model.max_len(), references, options, context);
    AppendColumns(plain.rows, "", {}, &rows);
    out.metrics = plain.metrics;
    // Every defense on the same clean and adversarial images (attack once).
    for (const UnitDefense& d : unit.defenses) {
      if (d.name == "input_detector") {
        // Features: the captioner's region features, mean and max over regions.
        auto features = [&](const torch::Tensor& b) {
          const torch::Tensor f = model.RegionFeatures(b.to(device_));
          return ActivationMeanFeatures({f, std::get<0>(f.max(1))});
        };
        AddInputDetectorView(UnitInputDetector(unit, d, x, x_adv, sample_index, features,
                                               std::max<int64_t>(1, options.measure.batch_size)),
                             d.name, &rows, &out.metrics);
        continue;
      }
      std::vector<double> clean_ms, adv_ms;
      View view;
      if (d.name == "decode_cap") {
        view = CaptionView(x, x_adv, CappedLength(d, model.max_len()), references, options,
                           context);
        clean_ms.assign(n, std::nan(""));
        adv_ms = clean_ms;
      } else {
        std::shared_ptr<const Transform> t = UnitTransform(unit, d.name);
        context.Checkpoint();
        const torch::Tensor xd = TransformEach(*t, x, &clean_ms);
        const torch::Tensor xad = TransformEach(*t, x_adv, &adv_ms);
        view = CaptionView(xd, xad, model.max_len(), references, options, context);
      }
      view.metrics["mean_defense_ms"] = AddDefenseTiming(clean_ms, adv_ms, &view.rows);
      AddViewMetrics(view.metrics, d.name, &out.metrics);
      AppendColumns(view.rows, DefenseViewPrefix(d.name), {}, &rows);
    }
    if (options.measure.store_adversarial) StoreAdversarial(x_adv, &rows);
    out.rows = shard.Append(unit.id, rows);
    return out;
  }

  // The rows (without sample_index) and metrics of one view.
  struct View {
    RowBatch rows;
    std::map<std::string, double> metrics;
  };

  // Clean images `x` and adversarial `x_adv` decoded up to max_len tokens.
  View CaptionView(const torch::Tensor& x, const torch::Tensor& x_adv, int64_t max_len,
                   const std::vector<std::vector<Tokens>>& references, const RunOptions& options,
                   UnitContext& context) {
    const int64_t n = x.size(0);
    DecodedColumns clean, adv;
    for (int64_t i = 0; i < n; ++i) {
      if (i % kCheckpointEvery == 0) context.Checkpoint();
      clean.Add(DecodeImage(x.slice(0, i, i + 1).to(device_), max_len, options));
      adv.Add(DecodeImage(x_adv.slice(0, i, i + 1).to(device_), max_len, options));
    }
    View view;
    clean.AddTo(&view.rows, "clean");
    adv.AddTo(&view.rows, "adv");
    torch::Tensor delta = (x_adv - x).flatten(1).to(torch::kFloat64);
    torch::Tensor l2 = delta.pow(2).sum(1).contiguous();  // the attack's l2 budget measure
    torch::Tensor linf = delta.abs().amax(1).contiguous();
    view.rows.AddReal("l2", std::vector<double>(l2.data_ptr<double>(), l2.data_ptr<double>() + n));
    view.rows.AddReal("linf",
                      std::vector<double>(linf.data_ptr<double>(), linf.data_ptr<double>() + n));
    view.metrics = SummarizeD2(view.rows);
    AddBleuMetrics("clean", CorpusBleuStats(clean.tokens, references), &view.metrics);
    AddBleuMetrics("adv", CorpusBleuStats(adv.tokens, references), &view.metrics);
    return view;
  }

  // The decode_cap defense's length limit: its steps, at most the model's.
  static int64_t CappedLength(const UnitDefense& cap, int64_t max_len) {
    return std::min<int64_t>(max_len, static_cast<int64_t>(NumberField(cap.params, "steps")));
  }

  Output RunTranslation(const WorkUnit& unit, const RunOptions& options, ShardWriter& shard,
                        UnitContext& context) {
    const std::vector<DictPair>& pairs = Pairs(unit.split);
    if (unit.end > static_cast<int64_t>(pairs.size())) {
      throw WorkerError("unit " + unit.id + " reads pairs [" + std::to_string(unit.begin) + ", " +
                        std::to_string(unit.end) + ") but " + kTranslationDataset + " split '" +
                        unit.split + "' holds " + std::to_string(pairs.size()) +
                        " pairs with the installed dictionary (allowed: a range within them)");
    }
    const int64_t n = unit.end - unit.begin;
    std::vector<std::string> sources(n);
    std::vector<std::vector<Tokens>> references(n);
    for (int64_t i = 0; i < n; ++i) {
      const DictPair& p = pairs[static_cast<size_t>(unit.begin + i)];
      sources[i] = p.source;
      references[i] = {Vocabulary::Split(p.target, true)};  // bytes, as the vocabulary splits
    }
    std::vector<std::string> adv_sources = sources;
    std::vector<int64_t> edits(n, 0);
    if (unit.attack == "nmtsloth") {
      const NmtSlothOptions o = NmtSlothOptionsFromParams(unit.params);
      const int64_t bs = std::max<int64_t>(1, options.measure.batch_size);
      for (int64_t b = 0; b < n; b += bs) {
        context.Checkpoint();
        const int64_t e = std::min(n, b + bs);
        NmtSlothResult r =
            NmtSloth(translator_->model, translator_->vocab,
                     std::vector<std::string>(sources.begin() + b, sources.begin() + e), o);
        std::copy(r.sources.begin(), r.sources.end(), adv_sources.begin() + b);
        std::copy(r.edits.begin(), r.edits.end(), edits.begin() + b);
      }
    } else if (unit.attack != "clean") {
      throw WorkerError("attack '" + unit.attack + "' does not run on translation model '" +
                        unit.model + "' (allowed: clean, nmtsloth)");
    }

    std::vector<int64_t> sample_index(n);
    std::vector<std::string> shown_sources(n);
    for (int64_t i = 0; i < n; ++i) {
      sample_index[i] = unit.begin + i;
      shown_sources[i] = ToValidUtf8(adv_sources[i]);
    }
    RowBatch rows;
    rows.AddInt("sample_index", sample_index);
    View plain = TranslationView(sources, adv_sources, edits, translator_->max_len, references,
                                 options, context);
    AppendColumns(plain.rows, "", {}, &rows);
    rows.AddText("source_adv", shown_sources);
    Output out;
    out.metrics = plain.metrics;
    for (const UnitDefense& d : unit.defenses) {
      if (d.name != "decode_cap") {
        throw WorkerError("defense '" + d.name + "' does not apply to translation model '" +
                          unit.model + "' (allowed: decode_cap)");
      }
      View view = TranslationView(sources, adv_sources, edits,
                                  CappedLength(d, translator_->max_len), references, options,
                                  context);
      const std::vector<double> none(static_cast<size_t>(n), std::nan(""));
      view.metrics["mean_defense_ms"] = AddDefenseTiming(none, none, &view.rows);
      AddViewMetrics(view.metrics, d.name, &out.metrics);
      AppendColumns(view.rows, DefenseViewPrefix(d.name), {"edits"}, &rows);
    }
    out.rows = shard.Append(unit.id, rows);
    return out;
  }

  // Clean and adversarial sources (`edits` apart) decoded up to max_len
  // tokens.
  View TranslationView(const std::vector<std::string>& sources,
                       const std::vector<std::string>& adv_sources,
                       const std::vector<int64_t>& edits, int64_t max_len,
                       const std::vector<std::vector<Tokens>>& references, const RunOptions& options,
                       UnitContext& context) {
    DecodedColumns clean, adv;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (i % kCheckpointEvery == 0) context.Checkpoint();
      clean.Add(DecodeSource(sources[i], max_len, options));
      adv.Add(DecodeSource(adv_sources[i], max_len, options));
    }
    View view;
    clean.AddTo(&view.rows, "clean");
    adv.AddTo(&view.rows, "adv");
    view.rows.AddInt("edits", edits);
    view.metrics = SummarizeD2(view.rows);
    AddBleuMetrics("clean", CorpusBleuStats(clean.tokens, references), &view.metrics);
    AddBleuMetrics("adv", CorpusBleuStats(adv.tokens, references), &view.metrics);
    return view;
  }

  ExecutorPlacement placement_;
  bool configured_ = false;
  torch::Device device_ = torch::kCPU;
  std::string device_name_;
  std::string family_;
  std::unique_ptr<CaptioningVictim> captioner_;  // built-in or scripted
  std::optional<LoadedTranslator> translator_;
  std::string held_key_;
  std::string held_model_;
  std::map<std::string, ImageSet> fmnist_;
  std::map<std::string, CaptionJson> caption_json_;  // JSON file + split -> that split's entries
  std::map<std::string, std::vector<DictPair>> pairs_;  // freedict-eng-deu split -> pairs
};

}  // namespace

std::unique_ptr<UnitExecutor> MakeD2Executor(const ExecutorPlacement& placement) {
  return std::make_unique<D2Executor>(placement);
}

void CheckDecoderModelLoads(const std::string& path, const std::string& dataset) {
  if (IsTorchScriptVictimFile(path)) {
    LoadTorchScriptCaptioner(path, dataset);  // checks the family is captioning
    return;
  }
  const ModelFile file = ReadModelFile(path, dataset);
  const std::string family = FamilyOfArchName(file.meta.arch);
  if (family == kFamilyCaptioning) {
    LoadCaptioner(path);
    return;
  }
  if (family == kFamilyTranslation) {
    LoadTranslator(path);
    return;
  }
  throw ModelError("model file '" + path + "' has arch '" + file.meta.arch +
                   "', not a D2 decoder (allowed: captioner, translator)");
}

}  // namespace effrobust
